import { useTranslation } from "react-i18next"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Loading } from "../../../components/Loading"
import { useEndOtherSessions, useEndSession, useSessions } from "../api/sessions"

/** The user's browser sessions: where they are logged in, and a way to end them. */
export function SessionsPanel() {
  const { t, i18n } = useTranslation()
  const sessions = useSessions()
  const end = useEndSession()
  const endOthers = useEndOtherSessions()
  const date = (iso: string) => new Intl.DateTimeFormat(i18n.language, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso))
  const others = sessions.data?.filter((s) => !s.current).length ?? 0
  return (
    <section aria-labelledby="sessions-heading" className="panel">
      <h2 id="sessions-heading">{t("account.sessions.title")}</h2>
      <p className="muted">{t("account.sessions.intro")}</p>
      {sessions.isPending ? (
        <Loading />
      ) : sessions.isError ? (
        <ErrorMessage error={sessions.error} />
      ) : (
        <table>
          <caption className="visually-hidden">{t("account.sessions.title")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("account.sessions.browser")}</th>
              <th scope="col">{t("account.sessions.address")}</th>
              <th scope="col">{t("account.sessions.started")}</th>
              <th scope="col">{t("account.sessions.lastSeen")}</th>
              <th scope="col">{t("common.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {sessions.data.map((session) => (
              <tr key={session.id}>
                <th scope="row" className="user-agent">
                  {session.user_agent || t("account.sessions.unknownBrowser")}
                  {session.current && <span className="badge"> {t("account.sessions.thisOne")}</span>}
                </th>
                <td>{session.client_address ?? "—"}</td>
                <td>{date(session.created_at)}</td>
                <td>{date(session.last_seen_at)}</td>
                <td>
                  {!session.current && (
                    <button type="button" className="danger" onClick={() => end.mutate(session.id)} disabled={end.isPending}>
                      {t("account.sessions.end", { started: date(session.created_at) })}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorMessage error={end.error ?? endOthers.error} />
      <p>
        <button type="button" onClick={() => endOthers.mutate()} disabled={others === 0 || endOthers.isPending}>
          {t("account.sessions.endOthers")}
        </button>
      </p>
      {endOthers.isSuccess && (
        <p role="status" className="success">
          {t("account.sessions.ended", { count: endOthers.data.ended })}
        </p>
      )}
    </section>
  )
}
