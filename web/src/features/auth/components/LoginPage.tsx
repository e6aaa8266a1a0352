import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { Navigate, useLocation, useNavigate } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field } from "../../../components/Field"
import { LanguagePicker } from "../../../components/LanguagePicker"
import { Loading } from "../../../components/Loading"
import { useInstance, type DemoAccount } from "../api/instance"
import { useLogin } from "../api/login"
import { useMe } from "../../../lib/me"

/** The login page; under `serve --demo` it lists the demo accounts, one click to fill in. */
export function LoginPage() {
  const { t } = useTranslation()
  const instance = useInstance()
  const me = useMe()
  const login = useLogin()
  const navigate = useNavigate()
  const location = useLocation()
  const [email, setEmail] = useState("")
  const [password, setPassword] = useState("")
  const from = (location.state as { from?: string } | null)?.from ?? "/"

  if (instance.isPending || me.isPending) return <Loading />
  if (instance.data?.setup_needed) return <Navigate to="/setup" replace />
  if (me.data) return <Navigate to={from} replace />

  const submit = (event: FormEvent) => {
    event.preventDefault()
    login.mutate({ email, password }, { onSuccess: () => navigate(from, { replace: true }) })
  }
  const use = (account: DemoAccount) => {
    setEmail(account.email)
    setPassword(account.password)
  }

  return (
    <div className="auth-page">
      <header className="auth-header">
        <p className="brand">{t("app.name")}</p>
        <LanguagePicker />
      </header>
      <main className="auth-main" id="main">
        <h1>{t("login.title")}</h1>
        <p className="lead">{t("app.tagline")}</p>
        <form onSubmit={submit} className="card form" aria-labelledby="login-heading">
          <h2 id="login-heading" className="visually-hidden">
            {t("login.title")}
          </h2>
          <Field label={t("login.email")} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <Field
            label={t("login.password")}
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <ErrorMessage error={login.error} />
          <button type="submit" className="primary" disabled={login.isPending}>
            {login.isPending ? t("login.submitting") : t("login.submit")}
          </button>
        </form>
        {instance.data?.demo_accounts && instance.data.demo_accounts.length > 0 && (
          <section className="card demo-accounts" aria-labelledby="demo-heading">
            <h2 id="demo-heading">{t("login.demo.title")}</h2>
            <p>{t("login.demo.intro", { password: instance.data.demo_accounts[0].password })}</p>
            <ul>
              {instance.data.demo_accounts.map((account) => (
                <li key={account.email}>
                  <button type="button" className="link-button" onClick={() => use(account)}>
                    {t("login.demo.use", { email: account.email })}
                  </button>{" "}
                  <span className="muted">
                    {account.area
                      ? t("login.demo.roleInArea", { role: t(`roles.${account.role}`), area: account.area })
                      : t(`roles.${account.role}`)}
                  </span>
                </li>
              ))}
            </ul>
          </section>
        )}
      </main>
    </div>
  )
}
