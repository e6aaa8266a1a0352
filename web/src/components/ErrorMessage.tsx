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

/** An error shown in an alert region (announced when it appears). */
export function ErrorMessage({ error }: { error: unknown }) {
  const text = useErrorText()
  if (!error) return null
  return (
    <p role="alert" className="error">
      {text(error)}
    </p>
  )
}
