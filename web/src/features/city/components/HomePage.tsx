import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { Link, Navigate } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field, SelectField } from "../../../components/Field"
import { Loading } from "../../../components/Loading"
import { LANGUAGES } from "../../../lib/i18n"
import { useMe } from "../../../lib/me"
import { useCities, useCreateCity } from "../../../lib/cities"

/** After login: straight into the user's only city, else the list (and, for network admins,
 * a form to add a city). */
export function HomePage() {
  const { t } = useTranslation()
  const me = useMe()
  const cities = useCities()
  if (cities.isPending) return <Loading />
  if (cities.isError) return <ErrorMessage error={cities.error} />
  if (cities.data.length === 1 && !me.data?.network_admin) return <Navigate to={`/cities/${cities.data[0].id}`} replace />
  return (
    <>
      <h1>{t("home.title")}</h1>
      {cities.data.length === 0 ? (
        <p>{me.data?.network_admin ? t("home.noCitiesAdmin") : t("home.noCities")}</p>
      ) : (
        <ul className="card-list">
          {cities.data.map((city) => (
            <li key={city.id} className="card">
              <Link to={`/cities/${city.id}`}>{city.name}</Link>
            </li>
          ))}
        </ul>
      )}
      {me.data?.network_admin && <CreateCity />}
    </>
  )
}

function CreateCity() {
  const { t } = useTranslation()
  const create = useCreateCity()
  const [name, setName] = useState("")
  const [slug, setSlug] = useState("")
  const [locale, setLocale] = useState<string>("es")
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate({ name, slug, locale }, { onSuccess: () => (setName(""), setSlug("")) })
  }
  return (
    <form className="card form" onSubmit={submit} aria-labelledby="create-city">
      <h2 id="create-city">{t("home.createCity")}</h2>
      <Field label={t("home.cityName")} required value={name} onChange={(e) => setName(e.target.value)} />
      <Field label={t("home.citySlug")} required pattern="[a-z0-9-]+" hint={t("home.citySlugHint")} value={slug} onChange={(e) => setSlug(e.target.value)} />
      <SelectField label={t("home.cityLocale")} value={locale} onChange={(e) => setLocale(e.target.value)}>
        {LANGUAGES.map((l) => (
          <option key={l} value={l}>
            {t(`languages.${l}`)}
          </option>
        ))}
      </SelectField>
      <ErrorMessage error={create.error} />
      <button type="submit" className="primary" disabled={create.isPending}>
        {t("home.createCitySubmit")}
      </button>
    </form>
  )
}
