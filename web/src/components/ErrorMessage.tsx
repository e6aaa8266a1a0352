import { useTranslation } from "react-i18next"
import type { TFunction } from "i18next"
import { ApiError } from "../lib/api"

/** What is wrong with a field, in the user's language: by the server's `reason` code, else
 * the generic words for an invalid value (never the server's English). */
export function fieldText(t: TFunction, error: ApiError): string {
  if (error.reason) {
    const translated = t(`fieldErrors.${error.reason}`, { defaultValue: "", limit: error.limit })
    if (translated) return translated
  }
  return t("errors.invalid_field")
}

/** The user-facing text of an error: translated by code (and, for a field, by reason). */
export function useErrorText(): (error: unknown) => string {
  const { t } = useTranslation()
  return (error: unknown) => {
    if (error instanceof ApiError) {
      if (error.code === "invalid_field") return fieldText(t, error)
      const translated = t(`errors.${error.code}`, { defaultValue: "" })
      if (translated) return translated
      return error.status >= 500 ? t("errors.internal") : t("errors.unknown")
    }
    if (error instanceof TypeError) return t("errors.network")
    return t("errors.unknown")
  }
}

/** The text for one field's own error message (`<Field error=…>`), or undefined when the
 * error is not about `field`. */
export function useFieldError(): (error: unknown, field: string) => string | undefined {
  const text = useErrorText()
  return (error, field) => (error instanceof ApiError && error.field === field ? text(error) : undefined)
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
