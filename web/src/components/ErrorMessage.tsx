import { useTranslation } from "react-i18next"
import { ApiError } from "../lib/api"

/** The user-facing text of an error: translated by code, else the server's message. */
export function useErrorText(): (error: unknown) => string {
  const { t } = useTranslation()
  return (error: unknown) => {
    if (error instanceof ApiError) {
      const key = `errors.${error.code}`
      const translated = t(key, { defaultValue: "" })
      if (translated) return translated
      return error.message
    }
    if (error instanceof TypeError) return t("errors.network")
    return t("errors.unknown")
  }
}

/** An error shown in an alert region (announced when it appears). With `fieldsShown`, an
 * error about one field is left to that field's own message. */
export function ErrorMessage({ error, fieldsShown }: { error: unknown; fieldsShown?: string[] }) {
  const text = useErrorText()
  if (!error) return null
  if (fieldsShown && error instanceof ApiError && error.field && fieldsShown.includes(error.field)) return null
  return (
    <p role="alert" className="error">
      {text(error)}
    </p>
  )
}
