import { describe, expect, it } from "vitest"
import { isSaved } from "./useSyncStatus"

describe("saved", () => {
  it("is true only when the server's heads include all of ours", () => {
    expect(isSaved(["a"], ["a"])).toBe(true)
    expect(isSaved(["a", "b"], ["b", "a", "c"])).toBe(true)
    expect(isSaved(["a", "b"], ["a"])).toBe(false)
    expect(isSaved(["a"], undefined)).toBe(false)
    expect(isSaved([], [])).toBe(true)
  })
})
