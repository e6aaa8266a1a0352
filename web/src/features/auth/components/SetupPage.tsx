import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { Navigate, useNavigate } from "react-router"
import { ErrorMessage, useFieldError } from "../../../components/ErrorMessage"
import { Field } from "../../../components/Field"
import { LanguagePicker } from "../../../components/LanguagePicker"
import { Loading } from "../../../components/Loading"
import { useInstance } from "../api/instance"
import { useSetup } from "../api/setup"

/** The command line that does the same (a command, not text to translate). */
const CLI_COMMAND = "concerta admin create-user --email … --name … --password-stdin --network-admin"

/** First-run setup: the one-time token from the server's log makes the first administrator. */
export function SetupPage() {
  const { t } = useTranslation()
  const fieldText = useFieldError()
  const instance = useInstance()
  const setup = useSetup()
  const navigate = useNavigate()
  const [form, setForm] = useState({ token: "", email: "", name: "", password: "" })

  if (instance.isPending) return <Loading />
  if (instance.data && !instance.data.setup_needed) return <Navigate to="/login" replace />

  const fieldError = (field: string) => fieldText(setup.error, field)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    setup.mutate(form, { onSuccess: () => navigate("/", { replace: true }) })
  }
  const bind = (field: keyof typeof form) => ({
    value: form[field],
    onChange: (e: { target: { value: string } }) => setForm({ ...form, [field]: e.target.value }),
    error: fieldError(field),
  })

  const fields = { token: bind("token"), name: bind("name"), email: bind("email"), password: bind("password") }
  return (
    <div className="auth-page">
      <header className="auth-header">
        <p className="brand">{t("app.name")}</p>
        <LanguagePicker />
      </header>
      <main className="auth-main" id="main">
        <h1>{t("setup.title")}</h1>
        <p>{t("setup.intro")}</p>
        <p>{t("setup.cli")}</p>
        <pre className="code">{CLI_COMMAND}</pre>
        <form onSubmit={submit} className="card form">
          <Field label={t("setup.token")} required autoComplete="off" hint={t("setup.tokenHint")} {...fields.token} />
          <Field label={t("setup.name")} required autoComplete="name" {...fields.name} />
          <Field label={t("setup.email")} type="email" required autoComplete="username" {...fields.email} />
          <Field label={t("setup.password")} type="password" required minLength={8} autoComplete="new-password" hint={t("account.passwordRule")} {...fields.password} />
          <ErrorMessage error={setup.error} fieldsShown={["token", "name", "email", "password"]} />
          <button type="submit" className="primary" disabled={setup.isPending}>
            {t("setup.submit")}
          </button>
        </form>
      </main>
    </div>
  )
}
