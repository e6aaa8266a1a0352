import { describe, expect, it } from "vitest"
import type { AuditEntry } from "./api/audit"
import { detailText, valueText } from "./details"

const entry = (details: Record<string, unknown>) => ({ details }) as AuditEntry

describe("audit details", () => {
  it("show changes as from → to, and leave out what did not change", () => {
    expect(valueText({ from: "observer", to: "editor" })).toBe("observer → editor")
    expect(valueText({ from: null, to: "area-1" })).toBe("— → area-1")
    expect(valueText({ from: "a", to: "a" })).toBeUndefined()
    const text = detailText(entry({ email: "eva@example.org", role: { from: "observer", to: "editor" }, area_id: { from: null, to: null } }))
    expect(text).toBe("email: eva@example.org · role: observer → editor")
  })

  it("write other values as they are, and skip empty ones", () => {
    expect(detailText(entry({ format: "md", version: null, note: "", rows: 3, ids: ["a", "b"] }))).toBe('format: md · rows: 3 · ids: ["a","b"]')
    expect(detailText(entry({}))).toBe("")
  })
})

describe("audit action labels", () => {
  it("name every action the server records, in every language", async () => {
    const { readFileSync } = await import("node:fs")
    const enums = readFileSync(`${process.cwd()}/../crates/concerta-core/src/enums.rs`, "utf8")
    const block = enums.slice(enums.indexOf("AuditAction, \"audit action\""))
    const actions = [...block.slice(0, block.indexOf("}\n);")).matchAll(/= "([a-z_]+)",/g)].map((m) => m[1])
    expect(actions.length).toBeGreaterThan(20)
    for (const locale of ["en", "es", "pt"]) {
      const labels = JSON.parse(readFileSync(`${process.cwd()}/src/locales/${locale}/translation.json`, "utf8"))
      const missing = actions.filter((action) => typeof labels.audit.actions[action] !== "string")
      expect(missing, `${locale} lacks labels`).toEqual([])
    }
  })
})
