import { useTranslation } from "react-i18next"
import { LANGUAGES } from "../lib/i18n"
import { SelectField } from "./Field"

/** The language someone's email is written in: one of the app's languages, or "" for the
 * default that `fallback` names (the city's language, or the registry's and account's). */
export function EmailLanguageField({
  value,
  onChange,
  fallback,
  label,
}: {
  value: string
  onChange: (value: string) => void
  fallback: string
  label?: string
}) {
  const { t } = useTranslation()
  return (
    <SelectField label={label ?? t("common.emailLanguage")} value={value} onChange={(event) => onChange(event.target.value)}>
      <option value="">{fallback}</option>
      {LANGUAGES.map((language) => (
        <option key={language} value={language} lang={language}>
          {t(`languages.${language}`)}
        </option>
      ))}
    </SelectField>
  )
}
