import { describe, expect, it } from "vitest"
import en from "../locales/en/translation.json"
import es from "../locales/es/translation.json"
import pt from "../locales/pt/translation.json"
import { pseudo } from "./i18n"

function keys(value: unknown, prefix = ""): string[] {
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k))
  return [prefix]
}

describe("catalogues", () => {
  it("have the same keys in es, en and pt", () => {
    const english = keys(en).sort()
    expect(keys(es).sort()).toEqual(english)
    expect(keys(pt).sort()).toEqual(english)
  })

  it("pseudo-localise text but keep placeholders", () => {
    // 14 characters: 6 padding dots (40 %, rounded up).
    expect(pseudo("Hello {{name}}")).toBe("⟦Héllö {{name}}······⟧")
    expect(pseudo({ a: "on" })).toEqual({ a: "⟦öñ·⟧" })
  })
})
