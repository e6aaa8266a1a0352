import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { Link, useParams } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field } from "../../../components/Field"
import { Loading } from "../../../components/Loading"
import { api } from "../../../lib/api"
import { useMe } from "../../../lib/me"
import { mayAdminister } from "../../../lib/permissions"
import type { Strategy } from "../../../lib/strategy"
import { useQuery } from "@tanstack/react-query"
import { exportUrl } from "../api/exports"
import { useApproveVersion, useCreateVersion, useVersions } from "../api/versions"

/** Named versions of a strategy: name one, approve one, open one, export any. */
export function VersionsPage() {
  const { t, i18n } = useTranslation()
  const { strategyId = "" } = useParams()
  const me = useMe()
  const strategy = useQuery({ queryKey: ["strategies", strategyId], queryFn: () => api<Strategy>("GET", `/api/strategies/${strategyId}`) })
  const versions = useVersions(strategyId)
  const create = useCreateVersion(strategyId)
  const approve = useApproveVersion(strategyId)
  const [name, setName] = useState("")
  if (strategy.isPending) return <Loading />
  if (strategy.isError) return <ErrorMessage error={strategy.error} />
  const admin = mayAdminister(me.data, strategy.data.city_id)
  const date = (iso: string) => new Intl.DateTimeFormat(i18n.language, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso))
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate(name, { onSuccess: () => setName("") })
  }
  return (
    <>
      <nav aria-label={t("outline.breadcrumb")} className="breadcrumb">
        <Link to={`/strategies/${strategyId}`}>{strategy.data.title}</Link>
      </nav>
      <h1>{t("versions.title")}</h1>
      <section className="panel" aria-labelledby="exports-heading">
        <h2 id="exports-heading">{t("versions.exportCurrent")}</h2>
        <p className="export-links">
          <a href={exportUrl(strategyId, "md")} download>
            {t("versions.markdown")}
          </a>
          <a href={exportUrl(strategyId, "html")} target="_blank" rel="noopener">
            {t("versions.html")}
          </a>
        </p>
      </section>
      {admin && (
        <form className="panel inline-form" onSubmit={submit} aria-labelledby="name-version">
          <h2 id="name-version">{t("versions.nameOne")}</h2>
          <Field label={t("versions.name")} required value={name} placeholder={t("versions.namePlaceholder")} onChange={(e) => setName(e.target.value)} />
          <button type="submit" className="primary" disabled={create.isPending}>
            {t("versions.create")}
          </button>
          <ErrorMessage error={create.error} />
        </form>
      )}
      <section className="panel" aria-labelledby="versions-heading">
        <h2 id="versions-heading">{t("versions.list")}</h2>
        {versions.isPending ? (
          <Loading />
        ) : versions.isError ? (
          <ErrorMessage error={versions.error} />
        ) : versions.data.length === 0 ? (
          <p>{t("versions.none")}</p>
        ) : (
          <ul className="card-list">
            {versions.data.map((version) => (
              <li key={version.id} className="card version">
                <div>
                  <Link to={`/strategies/${strategyId}/versions/${version.id}`} className="section-title">
                    {version.name}
                  </Link>{" "}
                  {version.approved_at && <span className="badge state-ready">{t("versions.approvedBadge")}</span>}
                  <p className="muted">
                    {t("versions.namedBy", { name: version.created_by?.name ?? "—", date: date(version.created_at) })}
                    {version.approved_at && ` · ${t("versions.approvedBy", { name: version.approved_by?.name ?? "—", date: date(version.approved_at) })}`}
                  </p>
                </div>
                <div className="actions">
                  <a href={exportUrl(strategyId, "md", version.id)} download>
                    {t("versions.markdownOf", { name: version.name })}
                  </a>
                  <a href={exportUrl(strategyId, "html", version.id)} target="_blank" rel="noopener">
                    {t("versions.htmlOf", { name: version.name })}
                  </a>
                  {admin && !version.approved_at && (
                    <button type="button" onClick={() => approve.mutate(version.id)} disabled={approve.isPending}>
                      {t("versions.approve", { name: version.name })}
                    </button>
                  )}
                </div>
              </li>
            ))}
          </ul>
        )}
        <ErrorMessage error={approve.error} />
      </section>
    </>
  )
}
