import { useTranslation } from "react-i18next"
import { Link, useParams } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Loading } from "../../../components/Loading"
import { useCity } from "../../../lib/cities"
import { useCityAudit } from "../api/audit"
import { detailText } from "../details"

/** A city's audit log for its coordinators: who did what, when, newest first; each entry
 * with its place in the hash chain (`concerta audit verify` checks the chain). */
export function AuditPage() {
  const { t, i18n } = useTranslation()
  const { cityId = "" } = useParams()
  const city = useCity(cityId)
  const audit = useCityAudit(cityId)
  const date = (iso: string) => new Intl.DateTimeFormat(i18n.language, { dateStyle: "medium", timeStyle: "medium" }).format(new Date(iso))
  const who = (actor: string) => (actor === "system" ? t("audit.system") : actor === "anonymous" ? t("audit.anonymous") : actor)
  const entries = audit.data?.pages.flat() ?? []
  return (
    <>
      <p className="breadcrumb">
        <Link to={`/cities/${cityId}`}>{city.data?.name ?? t("audit.city")}</Link>
      </p>
      <h1>{t("audit.title")}</h1>
      <p className="lead">{t("audit.intro")}</p>
      {audit.isPending ? (
        <Loading />
      ) : audit.isError ? (
        <ErrorMessage error={audit.error} />
      ) : entries.length === 0 ? (
        <p>{t("audit.empty")}</p>
      ) : (
        <table className="audit-log">
          <caption className="visually-hidden">{t("audit.title")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("audit.seq")}</th>
              <th scope="col">{t("audit.when")}</th>
              <th scope="col">{t("audit.who")}</th>
              <th scope="col">{t("audit.what")}</th>
              <th scope="col">{t("audit.details")}</th>
              <th scope="col">{t("audit.hash")}</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id}>
                <td>{entry.seq}</td>
                <td>
                  <time dateTime={entry.at}>{date(entry.at)}</time>
                </td>
                <td>{who(entry.actor)}</td>
                <th scope="row">{t(`audit.actions.${entry.action}`, { defaultValue: entry.action })}</th>
                <td className="audit-details">{detailText(entry)}</td>
                <td>
                  <code title={entry.hash}>{entry.hash.slice(0, 12)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {audit.hasNextPage && (
        <p>
          <button type="button" onClick={() => audit.fetchNextPage()} disabled={audit.isFetchingNextPage}>
            {t("audit.older")}
          </button>
        </p>
      )}
    </>
  )
}
