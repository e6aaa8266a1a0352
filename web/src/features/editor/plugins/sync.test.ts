import { beforeAll, describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as A from "@automerge/automerge/slim"
import { basicSchemaAdapter, pmDocFromSpans, syncPlugin as upstreamSyncPlugin, type DocHandle } from "@automerge/prosemirror"
import type { DocHandleChangePayload } from "@automerge/prosemirror/dist/DocHandle.js"
import { EditorState, TextSelection, type Plugin } from "prosemirror-state"
import { EditorView } from "prosemirror-view"
import { splitBlock, toggleMark } from "prosemirror-commands"
import { SpansByState } from "../spans"
import { syncPlugin } from "./sync"

const path = ["body"]
const adapter = basicSchemaAdapter
const schema = adapter.schema

beforeAll(async () => {
  const wasm = createRequire(import.meta.url).resolve("@automerge/automerge/automerge.wasm")
  await A.initializeWasm(readFileSync(wasm))
})

type Body = {
  body: string
}

/** A document handle as automerge-repo's DocHandle behaves for the binding: `change` and
 * received changes emit `change` with the patches between the states and the state before. */
class Handle implements DocHandle<Body> {
  current: A.Doc<Body>
  private listeners = new Set<(p: DocHandleChangePayload<Body>) => void>()
  constructor(doc: A.Doc<Body>) {
    this.current = doc
  }
  doc() {
    return this.current
  }
  change(fn: (doc: Body) => void) {
    this.update(A.change(this.current, fn))
  }
  receive(changes: Uint8Array[]) {
    this.update(A.applyChanges(this.current, changes)[0])
  }
  private update(next: A.Doc<Body>) {
    const before = this.current
    this.current = next
    const patches = A.diff(next, A.getHeads(before), A.getHeads(next))
    if (patches.length === 0) return
    for (const listener of this.listeners) listener({ handle: this, doc: next, patches, patchInfo: { before, after: next, source: "change" } })
  }
  on(_event: "change", listener: (p: DocHandleChangePayload<Body>) => void) {
    this.listeners.add(listener)
  }
  off(_event: "change", listener: (p: DocHandleChangePayload<Body>) => void) {
    this.listeners.delete(listener)
  }
}

/** An editor on its own copy of `doc`, with our plugin or upstream's. */
function editor(doc: A.Doc<Body>, which: "ours" | "upstream") {
  const handle = new Handle(A.clone(doc))
  const spans = new SpansByState(path)
  const plugin: Plugin =
    which === "ours" ? syncPlugin({ adapter, handle, path, spans }) : upstreamSyncPlugin({ adapter, handle, path })
  const state = EditorState.create({ schema, doc: pmDocFromSpans(adapter, A.spans(handle.doc(), path)), plugins: [plugin] })
  const view = new EditorView(document.createElement("div"), { state })
  return { handle, spans, view }
}

function initial(): A.Doc<Body> {
  let doc = A.from<Body>({ body: "" })
  doc = A.change(doc, (d) => {
    A.splitBlock(d, path, 0, { type: new A.ImmutableString("paragraph"), parents: [], attrs: {} })
    A.splice(d, path, 1, 0, "hello world")
    A.splitBlock(d, path, 12, { type: new A.ImmutableString("paragraph"), parents: [], attrs: {} })
    A.splice(d, path, 13, 0, "second line")
  })
  return doc
}

const truth = (handle: Handle) => pmDocFromSpans(adapter, A.spans(handle.doc(), path)).toJSON()

describe("sync plugin (the binding's, with the spans once per state)", () => {
  it("writes and receives the same documents and transactions as upstream's", () => {
    const start = initial()
    const writers = { ours: editor(start, "ours"), upstream: editor(start, "upstream") }
    const readers = { ours: editor(start, "ours"), upstream: editor(start, "upstream") }
    // The same edits typed into both writers: text, a new block, a mark, a delete across
    // blocks. Each writer's change goes to the reader of its kind.
    const edits: ((view: EditorView) => void)[] = [
      (view) => view.dispatch(view.state.tr.insertText("X", 1)),
      (view) => view.dispatch(view.state.tr.insertText("yz", 4)),
      (view) => {
        view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, 7)))
        splitBlock(view.state, view.dispatch)
      },
      (view) => {
        view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, 2, 5)))
        toggleMark(schema.marks.strong)(view.state, view.dispatch)
      },
      (view) => view.dispatch(view.state.tr.delete(5, 12)),
      (view) => view.dispatch(view.state.tr.insertText("end", view.state.doc.content.size - 1)),
    ]
    for (const edit of edits) {
      for (const kind of ["ours", "upstream"] as const) {
        const writer = writers[kind]
        const before = writer.handle.doc()
        edit(writer.view)
        readers[kind].handle.receive(A.getChanges(before, writer.handle.doc()))
      }
      expect(writers.ours.view.state.doc.toJSON()).toEqual(writers.upstream.view.state.doc.toJSON())
      expect(readers.ours.view.state.doc.toJSON()).toEqual(readers.upstream.view.state.doc.toJSON())
      expect(A.spans(writers.ours.handle.doc(), path)).toEqual(A.spans(writers.upstream.handle.doc(), path))
      // (Not always the automerge text itself: deleting across blocks is one of upstream's
      // known desyncs, which plugins/heal.ts repairs; the same, not better, is what is asked.)
    }
  })

  it("walks the body's spans once per state", () => {
    const start = initial()
    const writer = editor(start, "ours")
    const reader = editor(start, "ours")
    writer.spans.of(writer.handle.doc())
    reader.spans.of(reader.handle.doc())
    for (let i = 0; i < 5; i++) {
      const walks = { writer: writer.spans.walks, reader: reader.spans.walks }
      const before = writer.handle.doc()
      writer.view.dispatch(writer.view.state.tr.insertText("k", 2 + i))
      // A keystroke walks the state after it, once, and our selection's conversion reuses it.
      writer.spans.of(writer.handle.doc())
      expect(writer.spans.walks - walks.writer).toBe(1)
      reader.handle.receive(A.getChanges(before, writer.handle.doc()))
      // A received change starts from the spans already taken; the redraw of the remote
      // cursors takes the new state's, once.
      reader.spans.of(reader.handle.doc())
      reader.spans.of(reader.handle.doc())
      expect(reader.spans.walks - walks.reader).toBe(1)
      expect(reader.view.state.doc.toJSON()).toEqual(truth(reader.handle))
    }
    // What was shared was never modified by its readers.
    for (const { spans, handle } of [writer, reader]) expect(spans.of(handle.doc())).toEqual(A.spans(handle.doc(), path))
  })

  it("gives each caller that modifies spans its own copy", () => {
    const spans = new SpansByState(path)
    const doc = initial()
    const copy = spans.copyOf(doc)
    const text = copy.find((s) => s.type === "text")!
    text.value = "changed"
    const block = copy.find((s) => s.type === "block")!
    ;(block.value as { attrs: Record<string, unknown> }).attrs.level = 3
    expect(spans.of(doc)).toEqual(A.spans(doc, path))
    expect((copy.find((s) => s.type === "block")!.value as { type: unknown }).type).toBeInstanceOf(A.ImmutableString)
  })

  it("reads a past state at its own heads", () => {
    const spans = new SpansByState(path)
    const before = initial()
    const after = A.change(before, (d) => A.splice(d, path, 1, 0, "new "))
    expect(spans.of(before)).toEqual(A.spans(A.view(after, A.getHeads(before)), path))
    expect(spans.of(after)).toEqual(A.spans(after, path))
  })
})
