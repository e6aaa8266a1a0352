// The bridge between a section document and ProseMirror, built on @automerge/prosemirror.
//
// The binding is handed a narrow view of the DocHandle rather than the handle itself:
// - for someone who may not write, `change()` refuses: a refused change would stay in this
//   client's history and every later change would depend on it, so none is ever made;
// - remote changes are marked while the binding applies them, so they stay out of the local
//   undo history (Ctrl-Z undoes only your own typing).
import * as A from "@automerge/automerge/slim"
import type { DocHandle as RepoHandle, DocHandleChangePayload } from "@automerge/automerge-repo/slim"
import { basicSchemaAdapter, pmDocFromSpans, type DocHandle } from "@automerge/prosemirror"
import { amSpliceIdxToPmIdx, pmRangeToAmRange } from "@automerge/prosemirror/dist/traversal.js"
import type { Plugin } from "prosemirror-state"
import type { Node, Schema } from "prosemirror-model"
import { syncPlugin } from "./plugins/sync"
import type { SpansByState } from "./spans"

export const BODY_PATH: A.Prop[] = ["body"]

export interface SectionDoc {
  title: string
  body: string
}

export interface Binding {
  schema: Schema
  doc: Node
  plugin: Plugin
  /** True while the binding applies a change that came from elsewhere. */
  applyingRemote(): boolean
  /** Local changes refused because the section is read-only here (kept at zero). */
  refused(): number
}

/** Binds `handle`'s body to a ProseMirror document, as the binding's `init` does, with the
 * body's spans taken through `spans` (see plugins/sync.ts). */
export function bind(handle: RepoHandle<SectionDoc>, writable: boolean, spans: SpansByState): Binding {
  let remoteDepth = 0
  let refused = 0
  type ChangeListener = (payload: DocHandleChangePayload<SectionDoc>) => void
  const wrapped = new Map<unknown, ChangeListener>()
  const view: DocHandle<SectionDoc> = {
    doc: () => handle.doc(),
    change: (fn) => {
      if (!writable) {
        refused += 1
        return
      }
      handle.change(fn)
    },
    on: (event, callback) => {
      const inner: ChangeListener = (payload) => {
        remoteDepth += 1
        try {
          callback(payload as never)
        } finally {
          remoteDepth -= 1
        }
      }
      wrapped.set(callback, inner)
      handle.on(event, inner)
    },
    off: (event, callback) => {
      const inner = wrapped.get(callback)
      if (inner) handle.off(event, inner)
      wrapped.delete(callback)
    },
  }
  const adapter = basicSchemaAdapter
  const pmDoc = pmDocFromSpans(adapter, spans.of(handle.doc() as A.Doc<unknown>))
  const plugin = syncPlugin({ adapter, handle: view, path: BODY_PATH, spans })
  return { schema: adapter.schema, doc: pmDoc, plugin, applyingRemote: () => remoteDepth > 0, refused: () => refused }
}

/** A ProseMirror position → the automerge text index a cursor is taken at (`spans`: the
 * body's, from `SpansByState`). */
export function pmToAmIndex(spans: A.Span[], pos: number): number {
  return pmRangeToAmRange(basicSchemaAdapter, spans, { from: pos, to: pos })?.start ?? 0
}

/** An automerge text index → the ProseMirror position to draw at. */
export function amToPmIndex(spans: A.Span[], index: number): number {
  return amSpliceIdxToPmIdx(basicSchemaAdapter, spans, index) ?? 0
}

/** An automerge cursor's current index, or undefined when it cannot be resolved. */
export function cursorIndex(doc: A.Doc<SectionDoc>, cursor: A.Cursor): number | undefined {
  try {
    return A.getCursorPosition(doc, BODY_PATH, cursor)
  } catch {
    return undefined
  }
}
