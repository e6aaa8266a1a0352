import { describe, expect, it } from "vitest"
import { safeNext } from "./paths"

describe("safeNext", () => {
  it("keeps a path of this site", () => {
    expect(safeNext("/consultations/0192e0c4-0000-7000-8000-000000000001")).toBe("/consultations/0192e0c4-0000-7000-8000-000000000001")
    expect(safeNext("/cities/abc")).toBe("/cities/abc")
  })

  it("refuses anything that could leave the site or is not a plain path", () => {
    for (const bad of [null, undefined, "", "/", "//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "/a/../b", "/a?b=c", "/a//b", "consultations/1"]) {
      expect(safeNext(bad), String(bad)).toBeUndefined()
    }
  })
})
