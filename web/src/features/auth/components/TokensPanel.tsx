import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field } from "../../../components/Field"
import { Loading } from "../../../components/Loading"
import { ApiError } from "../../../lib/api"
import { useCreateToken, useRevokeToken, useTokens, type NewApiToken } from "../api/tokens"

/** The user's API tokens for scripts: named, optionally expiring, revocable; the secret is
 * shown once, right after it is made. */
export function TokensPanel() {
  const { t, i18n } = useTranslation()
  const tokens = useTokens()
  const create = useCreateToken()
  const revoke = useRevokeToken()
  const [name, setName] = useState("")
  const [expires, setExpires] = useState("")
  const [made, setMade] = useState<NewApiToken | undefined>()
  const date = (iso: string) => new Intl.DateTimeFormat(i18n.language, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso))

  const submit = (event: FormEvent) => {
    event.preventDefault()
    // A date picked in the form ends at the end of that day, in the user's time zone.
    const expires_at = expires ? new Date(`${expires}T23:59:59`).toISOString() : undefined
    create.mutate(
      { name, expires_at },
      {
        onSuccess: (token) => {
          setMade(token)
          setName("")
          setExpires("")
        },
      },
    )
  }
  const fieldError = (field: string) => (create.error instanceof ApiError && create.error.field === field ? create.error.message : undefined)

  return (
    <section aria-labelledby="tokens-heading" className="panel">
      <h2 id="tokens-heading">{t("account.tokens.title")}</h2>
      <p className="muted">{t("account.tokens.intro")}</p>
      {tokens.isPending ? (
        <Loading />
      ) : tokens.isError ? (
        <ErrorMessage error={tokens.error} />
      ) : tokens.data.length === 0 ? (
        <p>{t("account.tokens.none")}</p>
      ) : (
        <table>
          <caption className="visually-hidden">{t("account.tokens.title")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("account.tokens.name")}</th>
              <th scope="col">{t("account.tokens.created")}</th>
              <th scope="col">{t("account.tokens.lastUsed")}</th>
              <th scope="col">{t("account.tokens.expires")}</th>
              <th scope="col">{t("common.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((token) => (
              <tr key={token.id}>
                <th scope="row">{token.name || t("account.tokens.unnamed")}</th>
                <td>{date(token.created_at)}</td>
                <td>{token.last_used_at ? date(token.last_used_at) : t("account.tokens.never")}</td>
                <td>
                  {token.expires_at ? date(token.expires_at) : t("account.tokens.noExpiry")}
                  {token.expired && <span className="badge"> {t("account.tokens.expired")}</span>}
                </td>
                <td>
                  <button
                    type="button"
                    className="danger"
                    disabled={revoke.isPending}
                    onClick={() => {
                      if (window.confirm(t("account.tokens.confirmRevoke", { name: token.name || t("account.tokens.unnamed") }))) revoke.mutate(token.id)
                    }}
                  >
                    {t("account.tokens.revoke", { name: token.name || t("account.tokens.unnamed") })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorMessage error={revoke.error} />
      <form onSubmit={submit} className="inline-form" aria-labelledby="new-token-heading">
        <h3 id="new-token-heading">{t("account.tokens.new")}</h3>
        <Field label={t("account.tokens.name")} required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} error={fieldError("name")} />
        <Field
          label={t("account.tokens.expiresOn")}
          type="date"
          hint={t("account.tokens.expiresHint")}
          value={expires}
          onChange={(e) => setExpires(e.target.value)}
          error={fieldError("expires_at")}
        />
        <button type="submit" className="primary" disabled={create.isPending}>
          {t("account.tokens.create")}
        </button>
        <ErrorMessage error={create.error} fieldsShown={["name", "expires_at"]} />
      </form>
      {made && (
        <div role="status" className="card new-secret">
          <p className="success">{t("account.tokens.madeOnce", { name: made.name })}</p>
          <label htmlFor="new-token-secret">{t("account.tokens.secret")}</label>
          <input id="new-token-secret" readOnly value={made.token} className="code" onFocus={(e) => e.target.select()} />
        </div>
      )}
    </section>
  )
}
