import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { describe, expect, it } from "vitest"
import { applyPatches, PATCHES } from "./patches"

describe("dependency patches", () => {
  it("apply to the installed automerge-repo", () => {
    const require = createRequire(import.meta.url)
    const main = require.resolve("@automerge/automerge-repo")
    const file = join(dirname(main), "..", "synchronizer", "DocSynchronizer.js")
    const patched = applyPatches(file, readFileSync(file, "utf8"))
    expect(patched).toContain("syncDebounceRate = 25;")
    expect(patched).not.toContain("syncDebounceRate = 100;")
  })

  it("fail loudly when their target is gone, and leave other modules alone", () => {
    const file = "/x/node_modules/@automerge/automerge-repo/dist/synchronizer/DocSynchronizer.js"
    expect(() => applyPatches(file, "syncDebounceRate = 50;")).toThrow(/not found/)
    expect(applyPatches("/x/src/main.tsx", "syncDebounceRate = 100;")).toBeUndefined()
    expect(PATCHES.length).toBeGreaterThan(0)
  })
})
