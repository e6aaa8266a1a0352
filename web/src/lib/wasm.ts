// Automerge's wasm (3.6 MB, 1.1 MB gzipped) is the longest wait before a section's editor:
// this small module, in the entry chunk, starts fetching and compiling it (streaming, on the
// browser's compile threads) as soon as the page's script runs on a page that needs it, in
// parallel with React's first render, the login check and automerge's own JavaScript chunk.
// `lib/automerge` then instantiates the compiled module instead of fetching it again.
import wasmUrl from "@automerge/automerge/automerge.wasm?url"

let compiled: Promise<WebAssembly.Module | string> | undefined

/** Automerge's wasm, compiled once (or, where streaming compilation is not possible, its
 * URL, for automerge to fetch itself). */
export function automergeWasm(): Promise<WebAssembly.Module | string> {
  compiled ??=
    typeof WebAssembly.compileStreaming === "function"
      ? WebAssembly.compileStreaming(fetch(wasmUrl)).catch(() => wasmUrl)
      : Promise.resolve(wasmUrl)
  return compiled
}

/** Whether the page at `path` opens automerge documents at once (a section, a roundtable's
 * minutes): those start the wasm with the page; others warm it once idle (see `Layout`). */
export function needsAutomerge(path: string): boolean {
  return /^\/strategies\/[^/]+\/sections\/[^/]+\/?$/.test(path) || /^\/roundtables\/[^/]+\/?$/.test(path)
}
