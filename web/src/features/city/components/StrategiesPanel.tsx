import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { Link } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field, SelectField } from "../../../components/Field"
import { Loading } from "../../../components/Loading"
import { useCreateStrategy, useStrategies } from "../api/strategies"

export function StrategiesPanel({ city, admin }: { city: string; admin: boolean }) {
  const { t } = useTranslation()
  const strategies = useStrategies(city)
  const create = useCreateStrategy(city)
  const [title, setTitle] = useState("")
  const [template, setTemplate] = useState<"seed" | "blank">("seed")
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate({ title, template }, { onSuccess: () => setTitle("") })
  }
  return (
    <section id="strategies" aria-labelledby="strategies-heading" className="panel">
      <h2 id="strategies-heading">{t("city.strategies")}</h2>
      {strategies.isPending ? (
        <Loading />
      ) : strategies.isError ? (
        <ErrorMessage error={strategies.error} />
      ) : strategies.data.length === 0 ? (
        <p>{t("city.noStrategies")}</p>
      ) : (
        <ul className="card-list">
          {strategies.data.map((strategy) => (
            <li key={strategy.id} className="card">
              <Link to={`/strategies/${strategy.id}`}>{strategy.title}</Link>
              <span className="muted"> · {t("city.sectionCount", { count: strategy.sections.length })}</span>
            </li>
          ))}
        </ul>
      )}
      {admin && (
        <form className="inline-form" onSubmit={submit} aria-labelledby="new-strategy">
          <h3 id="new-strategy">{t("city.newStrategy")}</h3>
          <Field label={t("city.strategyTitle")} required value={title} onChange={(e) => setTitle(e.target.value)} />
          <SelectField label={t("city.template")} value={template} onChange={(e) => setTemplate(e.target.value as "seed" | "blank")}>
            <option value="seed">{t("city.templateSeed")}</option>
            <option value="blank">{t("city.templateBlank")}</option>
          </SelectField>
          <button type="submit" disabled={create.isPending}>
            {t("city.createStrategy")}
          </button>
          <ErrorMessage error={create.error} />
        </form>
      )}
    </section>
  )
}
