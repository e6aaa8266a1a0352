// i18next set up for es, en and pt. The user's choice is kept in localStorage; until they
// choose, the city's locale decides (see `useCityLanguage`), then the browser's language.
// `<html lang>` follows the active language.
import i18n from "i18next"
import { initReactI18next } from "react-i18next"
import es from "../locales/es/translation.json"
import en from "../locales/en/translation.json"
import pt from "../locales/pt/translation.json"

export const LANGUAGES = ["es", "en", "pt"] as const
export type Language = (typeof LANGUAGES)[number]

const STORAGE_KEY = "concerta.language"

export function isLanguage(value: unknown): value is Language {
  return typeof value === "string" && (LANGUAGES as readonly string[]).includes(value)
}

/** The language the user picked themselves, if any. */
export function chosenLanguage(): Language | undefined {
  try {
    const stored = localStorage.getItem(STORAGE_KEY)
    return isLanguage(stored) ? stored : undefined
  } catch {
    return undefined
  }
}

function browserLanguage(): Language | undefined {
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split("-")[0]
    if (isLanguage(base)) return base
  }
  return undefined
}

/** Switches language because the user chose it (remembered). */
export function chooseLanguage(language: Language): void {
  try {
    localStorage.setItem(STORAGE_KEY, language)
  } catch {
    // Private mode: the choice lasts for this page only.
  }
  void i18n.changeLanguage(language)
}

/** Switches to a city's locale unless the user chose a language themselves. */
export function applyCityLanguage(locale: string): void {
  if (chosenLanguage() === undefined && isLanguage(locale) && i18n.language !== locale) {
    void i18n.changeLanguage(locale)
  }
}

i18n.on("languageChanged", (language) => {
  document.documentElement.lang = language
})

void i18n.use(initReactI18next).init({
  resources: { es: { translation: es }, en: { translation: en }, pt: { translation: pt } },
  lng: chosenLanguage() ?? browserLanguage() ?? "es",
  fallbackLng: "es",
  supportedLngs: [...LANGUAGES],
  interpolation: { escapeValue: false },
  returnNull: false,
})
document.documentElement.lang = i18n.language

export default i18n
