import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { EmailLanguageField } from "../../../components/EmailLanguageField"
import { ErrorMessage, useFieldError } from "../../../components/ErrorMessage"
import { Field } from "../../../components/Field"
import { chooseLanguage, isLanguage } from "../../../lib/i18n"
import { useMe, useSaveMyLanguage } from "../../../lib/me"
import { useChangePassword } from "../api/password"
import { SessionsPanel } from "./SessionsPanel"
import { TokensPanel } from "./TokensPanel"

/** The user's account: who they are, and the password change. */
export function AccountPage() {
  const { t } = useTranslation()
  const fieldText = useFieldError()
  const me = useMe()
  const saveLanguage = useSaveMyLanguage()
  const change = useChangePassword()
  const [current, setCurrent] = useState("")
  const [next, setNext] = useState("")
  const [repeat, setRepeat] = useState("")
  const [mismatch, setMismatch] = useState(false)

  const submit = (event: FormEvent) => {
    event.preventDefault()
    if (next !== repeat) {
      setMismatch(true)
      return
    }
    setMismatch(false)
    change.mutate(
      { current_password: current, new_password: next },
      {
        onSuccess: () => {
          setCurrent("")
          setNext("")
          setRepeat("")
        },
      },
    )
  }
  const fieldError = (field: string) => fieldText(change.error, field)

  return (
    <>
      <h1>{t("account.title")}</h1>
      {me.data && (
        <dl className="facts">
          <dt>{t("account.name")}</dt>
          <dd>{me.data.name}</dd>
          <dt>{t("account.email")}</dt>
          <dd>{me.data.email}</dd>
        </dl>
      )}
      {me.data && (
        <div className="card form">
          <EmailLanguageField
            label={t("account.language")}
            value={me.data.locale ?? ""}
            fallback={t("common.emailLanguageCity")}
            onChange={(value) => {
              const locale = isLanguage(value) ? value : null
              if (locale) chooseLanguage(locale)
              saveLanguage.mutate(locale)
            }}
          />
          <p className="muted">{t("account.languageHint")}</p>
          <ErrorMessage error={saveLanguage.error} />
        </div>
      )}
      <form onSubmit={submit} className="card form" aria-labelledby="password-heading">
        <h2 id="password-heading">{t("account.changePassword")}</h2>
        <Field label={t("account.currentPassword")} type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} error={fieldError("current_password")} />
        <Field
          label={t("account.newPassword")}
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          hint={t("account.passwordRule")}
          value={next}
          onChange={(e) => setNext(e.target.value)}
          error={fieldError("new_password")}
        />
        <Field
          label={t("account.repeatPassword")}
          type="password"
          autoComplete="new-password"
          required
          value={repeat}
          onChange={(e) => setRepeat(e.target.value)}
          error={mismatch ? t("account.mismatch") : undefined}
        />
        <ErrorMessage error={change.error} fieldsShown={["current_password", "new_password"]} />
        {change.isSuccess && (
          <p role="status" className="success">
            {t("account.changed")}
          </p>
        )}
        <button type="submit" className="primary" disabled={change.isPending}>
          {t("account.submit")}
        </button>
      </form>
      <SessionsPanel />
      <TokensPanel />
    </>
  )
}
