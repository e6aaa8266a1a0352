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

/** In development, `?lng=pseudo` shows every string long and accented (from English), so
 * text left out of the catalogues and layouts that break on long words stand out. */
const ACCENTS: Record<string, string> = { a: "á", e: "é", i: "í", o: "ö", u: "ü", A: "Å", E: "É", I: "Î", O: "Ö", U: "Û", n: "ñ", c: "ç" }
export function pseudo(value: unknown): unknown {
  if (typeof value === "string") {
    // Keep {{placeholders}} as they are.
    const parts = value.split(/({{[^}]+}})/)
    const text = parts.map((p) => (p.startsWith("{{") ? p : p.replace(/[a-zA-Z]/g, (ch) => ACCENTS[ch] ?? ch))).join("")
    return `⟦${text}${"·".repeat(Math.ceil(value.length * 0.4))}⟧`
  }
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, pseudo(v)]))
  return value
}

const devPseudo = import.meta.env.DEV && new URLSearchParams(location.search).get("lng") === "pseudo"

void i18n.use(initReactI18next).init({
  resources: {
    es: { translation: es },
    en: { translation: en },
    pt: { translation: pt },
    ...(devPseudo ? { pseudo: { translation: pseudo(en) as typeof en } } : {}),
  },
  lng: devPseudo ? "pseudo" : (chosenLanguage() ?? browserLanguage() ?? "es"),
  fallbackLng: "es",
  supportedLngs: devPseudo ? [...LANGUAGES, "pseudo"] : [...LANGUAGES],
  interpolation: { escapeValue: false },
  returnNull: false,
})
document.documentElement.lang = i18n.language

export default i18n
