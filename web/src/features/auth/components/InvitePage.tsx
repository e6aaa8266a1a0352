import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { Link, useNavigate, useParams, useSearchParams } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field } from "../../../components/Field"
import { LanguagePicker } from "../../../components/LanguagePicker"
import { Loading } from "../../../components/Loading"
import { safeNext } from "../../../lib/paths"
import { useAcceptInvitation, useInvitationPreview } from "../api/invitation"

/** `/invite/{token}[?next=/consultations/{id}]`: the link of an account invitation. Set a
 * password, then land on `next` (a path of this site) or the city's home. */
export function InvitePage() {
  const { t, i18n } = useTranslation()
  const { token = "" } = useParams()
  const [search] = useSearchParams()
  const next = safeNext(search.get("next"))
  const preview = useInvitationPreview(token)
  const accept = useAcceptInvitation(token)
  const navigate = useNavigate()
  const [password, setPassword] = useState("")
  const [repeat, setRepeat] = useState("")
  const [mismatch, setMismatch] = useState(false)

  const submit = (event: FormEvent) => {
    event.preventDefault()
    if (password !== repeat) {
      setMismatch(true)
      return
    }
    setMismatch(false)
    // The language this page is read in becomes the account's, for the app and its email.
    const locale = i18n.resolvedLanguage ?? i18n.language
    accept.mutate({ password, locale }, { onSuccess: (answer) => navigate(next ?? `/cities/${answer.city_id}`, { replace: true }) })
  }

  return (
    <div className="auth-page">
      <header className="auth-header">
        <p className="brand">{t("app.name")}</p>
        <LanguagePicker />
      </header>
      <main className="auth-main" id="main">
        <h1>{t("invite.title")}</h1>
        {preview.isPending ? (
          <Loading />
        ) : preview.isError ? (
          <div className="card">
            <ErrorMessage error={preview.error} />
            <p>
              <Link to="/login">{t("invite.toLogin")}</Link>
            </p>
          </div>
        ) : (
          <form onSubmit={submit} className="card form" aria-labelledby="invite-heading">
            <h2 id="invite-heading">{t("invite.heading", { city: preview.data.city_name })}</h2>
            <p>{t("invite.intro", { name: preview.data.name, email: preview.data.email })}</p>
            <Field
              label={t("invite.password")}
              type="password"
              autoComplete="new-password"
              required
              minLength={8}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            <Field
              label={t("invite.repeat")}
              type="password"
              autoComplete="new-password"
              required
              minLength={8}
              value={repeat}
              onChange={(e) => setRepeat(e.target.value)}
            />
            {mismatch && (
              <p role="alert" className="error">
                {t("invite.mismatch")}
              </p>
            )}
            <ErrorMessage error={accept.error} />
            <button type="submit" className="primary" disabled={accept.isPending}>
              {accept.isPending ? t("invite.submitting") : t("invite.submit")}
            </button>
          </form>
        )}
      </main>
    </div>
  )
}
