import { useTranslation } from "react-i18next"
import { chooseLanguage, isLanguage, LANGUAGES, type Language } from "../lib/i18n"

/** The language switch; the choice is remembered on this device, and given to `onChoose`
 * (logged in: kept on the account, for the email too). */
export function LanguagePicker({ onChoose }: { onChoose?: (language: Language) => void }) {
  const { t, i18n } = useTranslation()
  return (
    <div className="language-picker">
      <label htmlFor="language-picker">{t("common.language")}</label>
      <select
        id="language-picker"
        value={i18n.resolvedLanguage ?? i18n.language}
        onChange={(event) => {
          if (isLanguage(event.target.value)) {
            chooseLanguage(event.target.value)
            onChoose?.(event.target.value)
          }
        }}
      >
        {LANGUAGES.map((language) => (
          <option key={language} value={language} lang={language}>
            {t(`languages.${language}`)}
          </option>
        ))}
      </select>
    </div>
  )
}
