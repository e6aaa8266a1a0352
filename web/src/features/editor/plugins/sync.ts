// The binding's sync plugin: @automerge/prosemirror 0.2's `syncPlugin`, as it is upstream but
// for where the body's spans come from (`SpansByState`, once per document state). Upstream
// takes them afresh each time: for a received change it builds a view of the document at the
// heads before it (`A.view`, a whole JS copy of the document) and walks that past state's
// spans, about 40 ms together at 20,000 changes; for a keystroke it walks the spans before,
// at the start of the change and after (three walks, 30 ms). Here a received change starts
// from the spans of the state before it, usually already taken (the previous change's redraw
// of the remote cursors, or our previous keystroke), and a keystroke walks only the state
// after it, which the cursors and our own selection then reuse.
import * as A from "@automerge/automerge/slim"
import type { DocHandle, SchemaAdapter } from "@automerge/prosemirror"
import type { DocHandleChangePayload } from "@automerge/prosemirror/dist/DocHandle.js"
import amToPm from "@automerge/prosemirror/dist/amToPm.js"
import pmToAm from "@automerge/prosemirror/dist/pmToAm.js"
import { pmDocFromSpans } from "@automerge/prosemirror"
import { ChangeSet } from "prosemirror-changeset"
import { Plugin, PluginKey, Selection } from "prosemirror-state"
import { copySpans, type SpansByState } from "../spans"

export const syncKey = new PluginKey("concerta-automerge-sync")

function sameHeads(a: A.Heads, b: A.Heads): boolean {
  return a.length === b.length && a.every((head, i) => head === b[i])
}

export function syncPlugin<T>({ adapter, handle, path, spans }: { adapter: SchemaAdapter; handle: DocHandle<T>; path: A.Prop[]; spans: SpansByState }): Plugin {
  let ignoreTr = false
  return new Plugin({
    key: syncKey,
    view: (view) => {
      const onPatch = ({ patches, patchInfo }: DocHandleChangePayload<T>) => {
        if (ignoreTr) return
        // Upstream: `A.spans(A.view(after, A.getHeads(before)), path)`; `before` itself is
        // the document at those heads, and its spans are usually known already.
        const tr = amToPm(adapter, spans.copyOf(patchInfo.before), patches, path, view.state.tr)
        tr.setMeta("addToHistory", false) // remote changes should not be added to local stack
        ignoreTr = true
        view.dispatch(tr)
        ignoreTr = false
      }
      handle.on("change", onPatch)
      return {
        destroy() {
          handle.off("change", onPatch)
        },
      }
    },
    appendTransaction(transactions, oldState, state) {
      if (ignoreTr) return
      transactions = transactions.filter((tr) => tr.docChanged)
      if (transactions.length === 0) return undefined
      const docBefore = handle.doc() as A.Doc<T>
      const headsBefore = A.getHeads(docBefore)
      const spansBefore = spans.of(docBefore)
      // Apply transactions to the automerge doc
      ignoreTr = true
      handle.change((doc) => {
        transactions.forEach((tx, i) => {
          // The first transaction starts from `docBefore`; later ones from what the earlier
          // ones wrote (upstream walks the spans for every one).
          const current = i === 0 ? spansBefore : A.spans(doc as A.Doc<T>, path)
          pmToAm(adapter, current, tx.steps, doc, tx.docs[0], path)
        })
      })
      ignoreTr = false
      const docAfter = handle.doc() as A.Doc<T>
      const headsAfter = A.getHeads(docAfter)
      // Ignore if nothing changed.
      if (sameHeads(headsBefore, headsAfter)) return undefined
      const spansAfter = spans.of(docAfter)
      // Check if ProseMirror doc matches the AutoMerge doc
      // by comparing changesets between the two transactions.
      const patches = A.diff(docAfter, headsBefore, headsAfter)
      const tx = amToPm(adapter, copySpans(spansBefore), patches, path, oldState.tr)
      let amChangeSet = ChangeSet.create(oldState.doc)
      amChangeSet = amChangeSet.addSteps(oldState.doc, tx.mapping.maps, undefined)
      let pmChangeSet = ChangeSet.create(oldState.doc)
      for (const tr of transactions) {
        pmChangeSet = pmChangeSet.addSteps(tr.docs[0], tr.mapping.maps, undefined)
      }
      const diff = pmChangeSet.changedRange(amChangeSet)
      if (!diff || diff.from === diff.to) return undefined
      // The ProseMirror transaction and the automerge change differ: usually ProseMirror
      // inserted nodes with `isAmgBlock: false` that the automerge change made real blocks
      // (upstream's comment explains it at length). Replace the range from the automerge doc.
      const doc = pmDocFromSpans(adapter, spansAfter)
      const slice = doc.slice(diff.from, diff.to)
      const tr = state.tr
      tr.replace(diff.from, diff.to, slice)
      try {
        tr.setSelection(Selection.fromJSON(tr.doc, state.selection.toJSON()))
      } catch (e) {
        // Sometimes the selection can't be mapped for some reason so we just give up and hope for the best
        if (!(e instanceof RangeError)) throw e
      }
      tr.setStoredMarks(state.storedMarks)
      return tr
    },
  })
}
