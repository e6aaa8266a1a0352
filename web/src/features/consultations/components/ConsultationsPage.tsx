import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { Link, useNavigate, useParams } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field, SelectField } from "../../../components/Field"
import { Loading } from "../../../components/Loading"
import { ApiError } from "../../../lib/api"
import { useMe } from "../../../lib/me"
import { useCity } from "../../../lib/cities"
import { roleIn } from "../../../lib/permissions"
import { formatInZone } from "../../../lib/time"
import { useCityStrategies, useConsultations, useCreateConsultation } from "../api/consultations"

/** A city's consultations: those the user may see, and (coordinators) opening one. */
export function ConsultationsPage() {
  const { t, i18n } = useTranslation()
  const { cityId = "" } = useParams()
  const me = useMe()
  const coordinator = roleIn(me.data, cityId) === "coordinator"
  const consultations = useConsultations(cityId)
  return (
    <>
      <nav aria-label={t("outline.breadcrumb")} className="breadcrumb">
        <Link to={`/cities/${cityId}`}>{t("consultations.city")}</Link>
      </nav>
      <h1>{t("consultations.title")}</h1>
      {coordinator && <CreateConsultation city={cityId} />}
      <section className="panel" aria-labelledby="consultations-list">
        <h2 id="consultations-list">{t("consultations.list")}</h2>
        {consultations.isPending ? (
          <Loading />
        ) : consultations.isError ? (
          <ErrorMessage error={consultations.error} />
        ) : consultations.data.length === 0 ? (
          <p>{t("consultations.none")}</p>
        ) : (
          <ul className="card-list">
            {consultations.data.map((c) => (
              <li key={c.id} className="card">
                <div>
                  <Link to={`/consultations/${c.id}`} className="section-title">
                    {c.title}
                  </Link>{" "}
                  <span className={`badge consultation-${c.status}`}>{t(`consultations.status.${c.status}`)}</span>
                  <p className="muted">
                    {t("consultations.period", { opens: formatInZone(c.opens_at, c.timezone, i18n.language), closes: formatInZone(c.closes_at, c.timezone, i18n.language) })}
                  </p>
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  )
}

function CreateConsultation({ city }: { city: string }) {
  const { t } = useTranslation()
  const navigate = useNavigate()
  const strategies = useCityStrategies(city, true)
  const zone = useCity(city).data?.timezone ?? "UTC"
  const create = useCreateConsultation(city)
  const [strategy, setStrategy] = useState("")
  const [title, setTitle] = useState("")
  const [explanation, setExplanation] = useState("")
  const [closes, setCloses] = useState("")
  const [chosen, setChosen] = useState<string[]>([])
  const picked = strategy || strategies.data?.[0]?.id || ""
  const sections = strategies.data?.find((s) => s.id === picked)?.sections ?? []
  const fieldError = (field: string) => (create.error instanceof ApiError && create.error.field === field ? create.error.message : undefined)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate(
      {
        strategy_id: picked,
        title,
        explanation,
        // The end of that day in the city's time zone (the server reads a time without an
        // offset in it).
        closes_at: closes ? `${closes}T23:59:59` : "",
        section_ids: chosen.length > 0 ? chosen : undefined,
      },
      { onSuccess: (made) => navigate(`/consultations/${made.id}`) },
    )
  }
  const toggle = (id: string) => setChosen((list) => (list.includes(id) ? list.filter((x) => x !== id) : [...list, id]))
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="open-consultation">
      <h2 id="open-consultation">{t("consultations.open")}</h2>
      <SelectField label={t("consultations.strategy")} value={picked} onChange={(e) => setStrategy(e.target.value)}>
        {(strategies.data ?? []).map((s) => (
          <option key={s.id} value={s.id}>
            {s.title}
          </option>
        ))}
      </SelectField>
      <Field label={t("consultations.titleField")} required value={title} onChange={(e) => setTitle(e.target.value)} error={fieldError("title")} />
      <div className="field">
        <label htmlFor="consultation-explanation">{t("consultations.explanation")}</label>
        <textarea id="consultation-explanation" value={explanation} onChange={(e) => setExplanation(e.target.value)} rows={3} />
      </div>
      <Field
        label={t("consultations.closesAt")}
        type="date"
        required
        value={closes}
        onChange={(e) => setCloses(e.target.value)}
        error={fieldError("closes_at")}
        hint={t("consultations.closesAtHint", { zone })}
      />
      <fieldset>
        <legend>{t("consultations.sections")}</legend>
        <p className="hint">{t("consultations.sectionsHint")}</p>
        {sections.map((s) => (
          <label key={s.id} className="checkbox">
            <input type="checkbox" checked={chosen.includes(s.id)} onChange={() => toggle(s.id)} /> {s.title}
          </label>
        ))}
      </fieldset>
      <button type="submit" className="primary" disabled={create.isPending || !picked}>
        {t("consultations.create")}
      </button>
      <ErrorMessage error={create.error} fieldsShown={["title", "closes_at"]} />
    </form>
  )
}
