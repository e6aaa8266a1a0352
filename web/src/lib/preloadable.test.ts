import { describe, expect, it } from "vitest"
import { preloadable } from "./preloadable"

function Loaded() {
  return null
}

describe("preloadable", () => {
  it("gives a lazy component until the module is here, then the loaded one, loading once", async () => {
    let loads = 0
    const editor = preloadable(async () => {
      loads += 1
      return Loaded
    })
    const before = editor.current()
    expect(before).not.toBe(Loaded)
    await Promise.all([editor.preload(), editor.preload()])
    expect(editor.current()).toBe(Loaded)
    expect(loads).toBe(1)
  })
})
