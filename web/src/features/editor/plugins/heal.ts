// Self-healing of the editor against the binding's known desyncs (@automerge/prosemirror 0.2
// is beta): merging the last two blocks, deleting across blocks, and adjacent lists of one
// type are applied to the automerge document correctly but mirrored wrongly into one peer's
// ProseMirror view (automerge/automerge-prosemirror#42, #43, #44). The automerge document is
// the truth: shortly after any change, the view is compared with the document rebuilt from
// the automerge spans, and replaced by it when they differ. The replacement is a new
// EditorState, not a transaction, so the binding never writes it back as an edit.
import { basicSchemaAdapter, pmDocFromSpans } from "@automerge/prosemirror"
import type * as A from "@automerge/automerge/slim"
import { EditorState, TextSelection } from "prosemirror-state"
import type { Node } from "prosemirror-model"
import type { EditorView } from "prosemirror-view"

/** How long after the last change the view is checked. */
export const HEAL_DELAY_MS = 250

/** Attributes the binding keeps for its own bookkeeping; they do not change what is shown. */
const BOOKKEEPING = new Set(["isAmgBlock", "unknownAttrs"])

type Json = { type: string; attrs?: Record<string, unknown>; content?: Json[]; text?: string; marks?: Json[] }

function canonical(json: Json): Json {
  const out: Json = { type: json.type }
  if (json.text !== undefined) out.text = json.text
  if (json.attrs) {
    const attrs = Object.fromEntries(Object.entries(json.attrs).filter(([k, v]) => !BOOKKEEPING.has(k) && v !== null))
    if (Object.keys(attrs).length > 0) out.attrs = attrs
  }
  if (json.marks?.length) out.marks = json.marks.map(canonical)
  if (json.content?.length) out.content = json.content.map(canonical)
  return out
}

/** Whether two documents show the same thing (ignoring the binding's bookkeeping attrs). */
export function sameContent(a: Node, b: Node): boolean {
  return JSON.stringify(canonical(a.toJSON() as Json)) === JSON.stringify(canonical(b.toJSON() as Json))
}

/** The document the automerge text says, as ProseMirror shows it (`spans`: the text's, from
 * `A.spans` or `SpansByState`). */
export function truthOf(spans: A.Span[]): Node {
  return pmDocFromSpans(basicSchemaAdapter, spans)
}

/** Replaces the view's document with `truth`, keeping the selection where it can. */
export function replaceView(view: EditorView, truth: Node): void {
  const { anchor, head } = view.state.selection
  const size = truth.content.size
  const clamp = (pos: number) => Math.max(0, Math.min(pos, size))
  let selection
  try {
    selection = TextSelection.between(truth.resolve(clamp(anchor)), truth.resolve(clamp(head)))
  } catch {
    selection = undefined
  }
  view.updateState(EditorState.create({ doc: truth, selection, plugins: view.state.plugins }))
}

/** Checks the view against the document `HEAL_DELAY_MS` after the last call; returns a
 * function to call after each change, and one to stop. `onHeal` hears about each repair. */
export function healer(view: () => EditorView | undefined, doc: () => A.Doc<unknown> | undefined, spans: (doc: A.Doc<unknown>) => A.Span[], onHeal?: () => void) {
  let timer: ReturnType<typeof setTimeout> | undefined
  const check = () => {
    timer = undefined
    const v = view()
    const d = doc()
    if (!v || !d) return
    const truth = truthOf(spans(d))
    if (!sameContent(truth, v.state.doc)) {
      replaceView(v, truth)
      onHeal?.()
    }
  }
  return {
    changed() {
      if (timer) clearTimeout(timer)
      timer = setTimeout(check, HEAL_DELAY_MS)
    },
    stop() {
      if (timer) clearTimeout(timer)
    },
  }
}
