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
