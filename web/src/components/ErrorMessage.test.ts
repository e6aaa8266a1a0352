// Every error code and field reason the server can send has words in es, en and pt: the
// server's codes are read from its source (crates/concerta-server/src/error.rs).
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import en from "../locales/en/translation.json"
import es from "../locales/es/translation.json"
import pt from "../locales/pt/translation.json"

const serverSrc = join(__dirname, "../../../crates/concerta-server/src")
const source = readFileSync(join(serverSrc, "error.rs"), "utf8")
// Handlers refuse with codes of their own (`Error::Refused { code: "…" }`).
const handlers = readdirSync(serverSrc, { recursive: true, encoding: "utf8" })
  .filter((file) => file.endsWith(".rs"))
  .map((file) => readFileSync(join(serverSrc, file), "utf8"))
  .join("\n")

describe("server errors", () => {
  const codes = [
    ...[...source.matchAll(/StatusCode::[A-Z_]+, "([a-z_]+)"\)/g)].map((m) => m[1]),
    ...[...handlers.matchAll(/Error::Refused\s*\{[^}]*?code:\s*"([a-z_]+)"/g)].map((m) => m[1]),
  ]
  const reasons = [...source.matchAll(/plain\("([a-z_]+)"\)|code: "([a-z_]+)"/g)].map((m) => m[1] ?? m[2])

  it("are found in the server's source", () => {
    expect(codes).toContain("invalid_field")
    expect(codes).toContain("consultation_closed")
    expect(codes.length).toBeGreaterThan(10)
    expect(reasons).toContain("too_long")
    expect(reasons.length).toBeGreaterThan(10)
  })

  for (const [language, catalogue] of Object.entries({ en, es, pt })) {
    it(`have words in ${language} for every code and reason`, () => {
      const errors = catalogue.errors as Record<string, string>
      const fields = catalogue.fieldErrors as Record<string, string>
      expect(codes.filter((code) => !errors[code])).toEqual([])
      expect(reasons.filter((reason) => !fields[reason])).toEqual([])
    })
  }
})
