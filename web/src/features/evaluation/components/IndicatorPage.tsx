import { useEffect, useState } from "react"
import { useTranslation } from "react-i18next"
import { Link, useParams } from "react-router"
import { ErrorMessage, useFieldError } from "../../../components/ErrorMessage"
import { Field, SelectField } from "../../../components/Field"
import { Loading } from "../../../components/Loading"
import { ApiError } from "../../../lib/api"
import { useCity } from "../../../lib/cities"
import { applyCityLanguage } from "../../../lib/i18n"
import { useMe } from "../../../lib/me"
import { mayAdminister } from "../../../lib/permissions"
import {
  STATUSES,
  bodyOf,
  useIndicator,
  useOverride,
  useReportMeasurement,
  useReview,
  useUpdateIndicator,
  type IndicatorDetail,
  type Measurement,
  type Status,
} from "../api/indicators"
import { IndicatorChart } from "./IndicatorChart"
import { IndicatorForm } from "./IndicatorForm"
import { StatusBadge } from "./StatusBadge"

const percent = (v: number | null | undefined) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(2)}%`)

/** One indicator: status, chart, measurements with their review, the report form, editing. */
export function IndicatorPage() {
  const { t } = useTranslation()
  const { indicatorId = "" } = useParams()
  const indicator = useIndicator(indicatorId)
  const cityId = indicator.data?.city_id ?? ""
  const city = useCity(cityId, { enabled: !!cityId })
  const me = useMe()
  useEffect(() => {
    if (city.data) applyCityLanguage(city.data.locale)
  }, [city.data])

  if (indicator.isPending) return <Loading />
  if (indicator.isError) return <ErrorMessage error={indicator.error} />
  const i = indicator.data
  const admin = mayAdminister(me.data, cityId)
  const membership = me.data?.memberships.find((m) => m.city_id === cityId)
  const mayReport = admin || (membership?.role === "editor" && i.area_id !== null && membership.area_id === i.area_id)
  const a = i.assessment

  return (
    <>
      <nav aria-label={t("outline.breadcrumb")} className="breadcrumb">
        {city.data && <Link to={`/cities/${cityId}`}>{city.data.name}</Link>} ›{" "}
        <Link to={`/strategies/${i.strategy_id}/evaluation`}>{t("evaluation.title")}</Link>
      </nav>
      <h1>
        <span className="code">{i.code}</span> {i.name}
      </h1>
      <p role="status" data-testid="indicator-status">
        {t("evaluation.statusLabel")}: <StatusBadge status={i.status} overridden={i.status_overridden} provisional={i.provisional} />
        {i.status_override && <span className="muted"> — {i.status_override.reason}</span>}
      </p>
      <dl className="figures">
        <dt>{t("evaluation.baseline")}</dt>
        <dd>{i.baseline ? `${i.baseline.value} ${i.unit_label} (${i.baseline.date})` : t("evaluation.notSet")}</dd>
        <dt>{t("evaluation.target")}</dt>
        <dd>{i.target ? `${i.target.value} ${i.unit_label} (${i.target.date})` : t("evaluation.notSet")}</dd>
        <dt>{t("evaluation.observedGrowth")}</dt>
        <dd>{percent(a.observed_growth)}</dd>
        <dt>{t("evaluation.requiredGrowth")}</dt>
        <dd>{percent(a.required_growth)}</dd>
        {i.schedule && (
          <>
            <dt>{t("evaluation.nextDue")}</dt>
            <dd>{i.schedule.missing ? t("evaluation.overdue", { date: i.schedule.last_due }) : (i.schedule.next_due ?? "—")}</dd>
          </>
        )}
      </dl>
      <p className="muted">{t("evaluation.rule")}</p>
      <IndicatorChart indicator={i} />
      {mayReport && <ReportForm indicator={i} />}
      <Measurements indicator={i} admin={admin} />
      {admin && <OverrideForm indicator={i} />}
      {admin && <EditForm indicator={i} />}
    </>
  )
}

function ReportForm({ indicator }: { indicator: IndicatorDetail }) {
  const { t } = useTranslation()
  const fieldError = useFieldError()
  const report = useReportMeasurement(indicator)
  const [key, setKey] = useState(0)
  return (
    <section aria-labelledby="report-h">
      <h2 id="report-h">{t("evaluation.report.title")}</h2>
      <form
        key={key}
        onSubmit={(e) => {
          e.preventDefault()
          const form = new FormData(e.currentTarget)
          const file = form.get("evidence")
          if (file instanceof File && file.size === 0) form.delete("evidence")
          report.mutate(form, { onSuccess: () => setKey((k) => k + 1) })
        }}
      >
        <Field label={t("evaluation.report.date")} name="measured_on" type="date" required error={fieldError(report.error, "measured_on")} />
        <Field
          label={t("evaluation.report.value", { unit: indicator.unit_label })}
          name="value"
          inputMode="decimal"
          required
          error={fieldError(report.error, "value")}
        />
        <Field label={t("evaluation.report.note")} name="note" error={fieldError(report.error, "note")} />
        <Field label={t("evaluation.report.link")} name="link" type="url" error={fieldError(report.error, "link")} />
        <Field
          label={t("evaluation.report.evidence")}
          name="evidence"
          type="file"
          accept=".pdf,.png,.jpg,.jpeg,.webp,.docx,.xlsx,.pptx,.odt,.ods,.csv,.txt"
          hint={t("evaluation.report.evidenceHint")}
          error={fieldError(report.error, "evidence")}
        />
        <button type="submit" disabled={report.isPending}>
          {t("evaluation.report.submit")}
        </button>
        {report.isSuccess && <p role="status">{t("evaluation.report.done")}</p>}
        {report.error && !(report.error instanceof ApiError && report.error.field) && <ErrorMessage error={report.error} />}
      </form>
    </section>
  )
}

function Measurements({ indicator, admin }: { indicator: IndicatorDetail; admin: boolean }) {
  const { t } = useTranslation()
  const review = useReview(indicator)
  const [returning, setReturning] = useState<string | null>(null)
  const [reason, setReason] = useState("")
  const sorted = [...indicator.measurements].sort((a, b) => b.measured_on.localeCompare(a.measured_on))
  return (
    <section aria-labelledby="measurements-h">
      <h2 id="measurements-h">{t("evaluation.measurements")}</h2>
      {sorted.length === 0 ? (
        <p>{t("evaluation.noMeasurements")}</p>
      ) : (
        <table className="measurements">
          <caption className="visually-hidden">{t("evaluation.measurementsOf", { name: indicator.name })}</caption>
          <thead>
            <tr>
              <th scope="col">{t("evaluation.report.date")}</th>
              <th scope="col">{t("evaluation.value")}</th>
              <th scope="col">{t("evaluation.evidence")}</th>
              <th scope="col">{t("evaluation.reportedBy")}</th>
              <th scope="col">{t("evaluation.review.title")}</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((m: Measurement) => (
              <tr key={m.id}>
                <td>{m.measured_on}</td>
                <td>
                  {m.value} {indicator.unit_label}
                </td>
                <td>
                  {m.note}
                  {m.link && (
                    <>
                      {" "}
                      <a href={m.link} rel="noopener noreferrer" target="_blank">
                        {t("evaluation.link")}
                      </a>
                    </>
                  )}
                  {m.evidence && (
                    <>
                      {" "}
                      <a href={`/api/evidence/${m.evidence.id}`} download>
                        {m.evidence.filename}
                      </a>
                    </>
                  )}
                </td>
                <td>{m.reporter_name ?? "—"}</td>
                <td>
                  <span className={`badge review-${m.review}`}>{t(`evaluation.review.${m.review}`)}</span>
                  {m.review_reason && <span className="muted"> — {m.review_reason}</span>}
                  {admin && m.review !== "accepted" && (
                    <button type="button" onClick={() => review.mutate({ id: m.id, review: "accepted" })}>
                      {t("evaluation.review.accept", { date: m.measured_on })}
                    </button>
                  )}
                  {admin && m.review !== "returned" && returning !== m.id && (
                    <button type="button" onClick={() => setReturning(m.id)}>
                      {t("evaluation.review.return", { date: m.measured_on })}
                    </button>
                  )}
                  {returning === m.id && (
                    <form
                      onSubmit={(e) => {
                        e.preventDefault()
                        review.mutate({ id: m.id, review: "returned", reason }, { onSuccess: () => setReturning(null) })
                      }}
                    >
                      <Field label={t("evaluation.review.reason")} value={reason} onChange={(e) => setReason(e.target.value)} required />
                      <button type="submit">{t("evaluation.review.sendBack")}</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorMessage error={review.error} />
    </section>
  )
}

function OverrideForm({ indicator }: { indicator: IndicatorDetail }) {
  const { t } = useTranslation()
  const fieldError = useFieldError()
  const override = useOverride(indicator)
  const [status, setStatus] = useState<Status>(indicator.status_override?.status ?? indicator.assessment.status)
  const [reason, setReason] = useState(indicator.status_override?.reason ?? "")
  return (
    <section aria-labelledby="override-h">
      <h2 id="override-h">{t("evaluation.override.title")}</h2>
      <p className="muted">{t("evaluation.override.intro", { status: t(`evaluation.status.${indicator.assessment.status}`) })}</p>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          override.mutate({ status, reason })
        }}
      >
        <SelectField label={t("evaluation.statusLabel")} value={status} onChange={(e) => setStatus(e.target.value as Status)}>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(`evaluation.status.${s}`)}
            </option>
          ))}
        </SelectField>
        <Field label={t("evaluation.override.reason")} value={reason} onChange={(e) => setReason(e.target.value)} error={fieldError(override.error, "reason")} />
        <button type="submit">{t("evaluation.override.set")}</button>
        {indicator.status_override && (
          <button type="button" onClick={() => override.mutate(null)}>
            {t("evaluation.override.clear")}
          </button>
        )}
      </form>
    </section>
  )
}

function EditForm({ indicator }: { indicator: IndicatorDetail }) {
  const { t } = useTranslation()
  const update = useUpdateIndicator(indicator)
  return (
    <section aria-labelledby="edit-h">
      <h2 id="edit-h">{t("evaluation.edit.title")}</h2>
      <IndicatorForm
        cityId={indicator.city_id}
        initial={bodyOf(indicator)}
        submitLabel={t("evaluation.edit.save")}
        pending={update.isPending}
        error={update.error}
        onSubmit={(body) => update.mutate(body)}
      />
      {update.isSuccess && <p role="status">{t("evaluation.edit.saved")}</p>}
    </section>
  )
}
