import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field } from "../../../components/Field"
import { Loading } from "../../../components/Loading"
import { useAreas, useCreateArea } from "../../../lib/areas"

export function AreasPanel({ city, admin }: { city: string; admin: boolean }) {
  const { t } = useTranslation()
  const areas = useAreas(city)
  const create = useCreateArea(city)
  const [name, setName] = useState("")
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate(name, { onSuccess: () => setName("") })
  }
  return (
    <section id="areas" aria-labelledby="areas-heading" className="panel">
      <h2 id="areas-heading">{t("city.areas")}</h2>
      {areas.isPending ? (
        <Loading />
      ) : areas.isError ? (
        <ErrorMessage error={areas.error} />
      ) : areas.data.length === 0 ? (
        <p>{t("city.noAreas")}</p>
      ) : (
        <ul className="tags">
          {areas.data.map((area) => (
            <li key={area.id}>{area.name}</li>
          ))}
        </ul>
      )}
      {admin && (
        <form className="inline-form" onSubmit={submit} aria-labelledby="new-area">
          <h3 id="new-area">{t("city.newArea")}</h3>
          <Field label={t("city.areaName")} required value={name} onChange={(e) => setName(e.target.value)} />
          <button type="submit" disabled={create.isPending}>
            {t("city.addArea")}
          </button>
          <ErrorMessage error={create.error} />
        </form>
      )}
    </section>
  )
}
