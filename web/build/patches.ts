// Patches of dependencies, applied while bundling (the upstream-style fix lives here, in our
// code, until the dependency offers it). Each patch fails the build when its target text is
// gone, so an upgrade that changes the code cannot silently drop it.
import type { Plugin } from "vite"

export interface Patch {
  /** Which module (its resolved path ends with this). */
  file: RegExp
  find: string
  replace: string
  why: string
}

export const PATCHES: Patch[] = [
  {
    // automerge-repo 2.5 sends a document's sync messages at most every 100 ms (a throttle
    // that starts counting when the previous message went out), with no option to change
    // it: a keystroke typed 30 ms after the previous one waits 70 ms before it leaves. 25 ms
    // still coalesces a burst of fast typing into one message, and our server coalesces what
    // goes to a busy peer.
    file: /@automerge[\\/]automerge-repo[\\/]dist[\\/]synchronizer[\\/]DocSynchronizer\.js$/,
    find: "syncDebounceRate = 100;",
    replace: "syncDebounceRate = 25;",
    why: "send a document's changes 25 ms (not 100 ms) after the previous message",
  },
]

/** Applies `patches` to `code` of module `id`; throws when a patch's target text is missing. */
export function applyPatches(id: string, code: string, patches: Patch[] = PATCHES): string | undefined {
  let out: string | undefined
  for (const patch of patches) {
    if (!patch.file.test(id)) continue
    const source = out ?? code
    if (!source.includes(patch.find)) throw new Error(`patch "${patch.why}": "${patch.find}" not found in ${id}; update build/patches.ts`)
    out = source.replace(patch.find, patch.replace)
  }
  return out
}

/** The Vite plugin that applies [`PATCHES`]. */
export function patchDependencies(): Plugin {
  return {
    name: "concerta-patch-dependencies",
    enforce: "pre",
    transform(code, id) {
      const patched = applyPatches(id.split("?")[0], code)
      return patched === undefined ? null : { code: patched, map: null }
    },
  }
}
