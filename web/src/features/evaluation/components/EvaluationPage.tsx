import { useEffect, useState } from "react"
import type { TFunction } from "i18next"
import { useTranslation } from "react-i18next"
import { Link, useParams } from "react-router"
import { ErrorMessage, fieldText } from "../../../components/ErrorMessage"
import { Loading } from "../../../components/Loading"
import { ApiError } from "../../../lib/api"
import { useAreas } from "../../../lib/areas"
import { useCity } from "../../../lib/cities"
import { applyCityLanguage } from "../../../lib/i18n"
import { useMe } from "../../../lib/me"
import { mayAdminister } from "../../../lib/permissions"
import { useStrategy } from "../api/strategy"
import { LEVELS, STATUSES, useCreateFromTemplate, useFramework, useImportCsv, type StatusCounts } from "../api/indicators"
import { CapacitiesPanel } from "./CapacitiesPanel"
import { StatusBadge } from "./StatusBadge"

/** A strategy's evaluation: the indicator framework with statuses, summaries, CSV, capacities. */
export function EvaluationPage() {
  const { t } = useTranslation()
  const { strategyId = "" } = useParams()
  const strategy = useStrategy(strategyId)
  const cityId = strategy.data?.city_id ?? ""
  const city = useCity(cityId, { enabled: !!cityId })
  const areas = useAreas(cityId, { enabled: !!cityId })
  const framework = useFramework(strategyId)
  const create = useCreateFromTemplate(strategyId)
  const me = useMe()
  useEffect(() => {
    if (city.data) applyCityLanguage(city.data.locale)
  }, [city.data])

  if (strategy.isPending || framework.isPending) return <Loading />
  if (strategy.isError) return <ErrorMessage error={strategy.error} />
  if (framework.isError) return <ErrorMessage error={framework.error} />
  const admin = mayAdminister(me.data, cityId)
  const areaName = (id: string | null) => (id ? (areas.data?.find((a) => a.id === id)?.name ?? "") : "")
  const { indicators, summary } = framework.data

  return (
    <>
      <nav aria-label={t("outline.breadcrumb")} className="breadcrumb">
        {city.data && <Link to={`/cities/${cityId}`}>{city.data.name}</Link>} ›{" "}
        <Link to={`/strategies/${strategyId}`}>{strategy.data.title}</Link>
      </nav>
      <h1>{t("evaluation.title")}</h1>
      {city.data && (
        <p>
          <a href={`/public/${city.data.slug}`}>{t("evaluation.publicPage")}</a>
        </p>
      )}
      {indicators.length === 0 ? (
        <section aria-labelledby="empty-h">
          <h2 id="empty-h">{t("evaluation.emptyTitle")}</h2>
          <p>{t("evaluation.emptyText")}</p>
          {admin && (
            <p className="actions">
              <button type="button" onClick={() => create.mutate()} disabled={create.isPending}>
                {t("evaluation.createFromTemplate")}
              </button>{" "}
              <Link to={`/strategies/${strategyId}/evaluation/new`}>{t("evaluation.new.link")}</Link>
            </p>
          )}
          <ErrorMessage error={create.error} />
        </section>
      ) : (
        <>
          {admin && (
            <p>
              <Link to={`/strategies/${strategyId}/evaluation/new`}>{t("evaluation.new.link")}</Link>
            </p>
          )}
          <section aria-labelledby="summary-h">
            <h2 id="summary-h">{t("evaluation.summary")}</h2>
            <SummaryTable
              caption={t("evaluation.byLevel")}
              head={t("evaluation.level")}
              rows={summary.by_level.map((l) => ({ label: t(`evaluation.levels.${l.level}`), counts: l.counts }))}
              total={summary.overall}
            />
            <SummaryTable
              caption={t("evaluation.byArea")}
              head={t("evaluation.area")}
              rows={summary.by_area.map((a) => ({ label: a.area_name ?? t("evaluation.noArea"), counts: a.counts }))}
            />
          </section>
          {LEVELS.map((level) => {
            const rows = indicators.filter((i) => i.level === level)
            if (rows.length === 0) return null
            return (
              <section key={level} aria-labelledby={`level-${level}`}>
                <h2 id={`level-${level}`}>{t(`evaluation.levels.${level}`)}</h2>
                <table className="indicators">
                  <thead>
                    <tr>
                      <th scope="col">{t("evaluation.code")}</th>
                      <th scope="col">{t("evaluation.name")}</th>
                      <th scope="col">{t("evaluation.area")}</th>
                      <th scope="col">{t("evaluation.latest")}</th>
                      <th scope="col">{t("evaluation.statusLabel")}</th>
                      <th scope="col">{t("evaluation.nextDue")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((i) => (
                      <tr key={i.id}>
                        <td>{i.code}</td>
                        <td>
                          <Link to={`/indicators/${i.id}`}>{i.name}</Link>
                          {i.public && <span className="badge">{t("evaluation.public")}</span>}
                        </td>
                        <td>{areaName(i.area_id) || t("evaluation.noArea")}</td>
                        <td>{i.assessment.latest ? `${i.assessment.latest.value} ${i.unit_label} (${i.assessment.latest.date})` : "—"}</td>
                        <td>
                          <StatusBadge status={i.status} overridden={i.status_overridden} provisional={i.provisional} />
                        </td>
                        <td>
                          {i.schedule?.missing ? (
                            <span className="badge overdue">{t("evaluation.overdue", { date: i.schedule.last_due })}</span>
                          ) : (
                            (i.schedule?.next_due ?? "—")
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            )
          })}
        </>
      )}
      {(admin || indicators.length > 0) && (
        <section aria-labelledby="csv-h">
          <h2 id="csv-h">{t("evaluation.csv")}</h2>
          {indicators.length > 0 && (
            <p>
              <a href={`/api/strategies/${strategyId}/indicators.csv`} download>
                {t("evaluation.exportIndicators")}
              </a>{" "}
              ·{" "}
              <a href={`/api/strategies/${strategyId}/measurements.csv`} download>
                {t("evaluation.exportMeasurements")}
              </a>
            </p>
          )}
          {admin && (
            <>
              {indicators.length === 0 && (
                <p>
                  {t("evaluation.importIntoEmpty")}{" "}
                  <a href={`/api/strategies/${strategyId}/indicators.csv`} download>
                    {t("evaluation.emptyTemplate")}
                  </a>
                </p>
              )}
              <CsvImport strategy={strategyId} kind="indicators" />
              {indicators.length > 0 && <CsvImport strategy={strategyId} kind="measurements" />}
            </>
          )}
        </section>
      )}
      <CapacitiesPanel strategy={strategyId} cityId={cityId} admin={admin} />
    </>
  )
}

function SummaryTable(props: { caption: string; head: string; rows: { label: string; counts: StatusCounts }[]; total?: StatusCounts }) {
  const { t } = useTranslation()
  return (
    <table className="summary">
      <caption>{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{props.head}</th>
          {STATUSES.map((s) => (
            <th scope="col" key={s}>
              {t(`evaluation.status.${s}`)}
            </th>
          ))}
          <th scope="col">{t("evaluation.total")}</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((r) => (
          <tr key={r.label}>
            <th scope="row">{r.label}</th>
            {STATUSES.map((s) => (
              <td key={s}>{r.counts[s]}</td>
            ))}
            <td>{r.counts.total}</td>
          </tr>
        ))}
      </tbody>
      {props.total && (
        <tfoot>
          <tr>
            <th scope="row">{t("evaluation.total")}</th>
            {STATUSES.map((s) => (
              <td key={s}>{props.total?.[s]}</td>
            ))}
            <td>{props.total.total}</td>
          </tr>
        </tfoot>
      )}
    </table>
  )
}

/** What is wrong in an imported file's row, in the user's language (by the server's reason);
 * the allowed values of a column, which are the file's own words, are listed as they are. */
function rowProblem(t: TFunction, error: ApiError): string {
  const text = fieldText(t, error)
  const options = error.reason === "one_of" || error.reason === "unknown_column" ? error.message.split(/: (?:must be one of|is not a known column; expected): /)[1] : undefined
  return options ? `${text} (${options})` : text
}

function CsvImport({ strategy, kind }: { strategy: string; kind: "indicators" | "measurements" }) {
  const { t } = useTranslation()
  const [file, setFile] = useState<File | null>(null)
  const run = useImportCsv(strategy, kind)
  const error = run.error instanceof ApiError && run.error.row !== undefined ? run.error : null
  return (
    <form
      className="csv-import"
      onSubmit={(e) => {
        e.preventDefault()
        if (file) run.mutate(file)
      }}
    >
      <label htmlFor={`csv-${kind}`}>{t(`evaluation.import.${kind}`)}</label>
      <input id={`csv-${kind}`} type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      <button type="submit" disabled={!file || run.isPending}>
        {t("evaluation.import.run")}
      </button>
      {run.isSuccess && (
        <p role="status">{t("evaluation.import.done", { created: run.data.created, updated: run.data.updated })}</p>
      )}
      {error ? (
        <p role="alert" className="error">
          {t("evaluation.import.rowError", { row: error.row, field: error.field, message: rowProblem(t, error) })}
        </p>
      ) : (
        <ErrorMessage error={run.error} />
      )}
    </form>
  )
}
