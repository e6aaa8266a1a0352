// Other people's cursors and selections in the editor: a caret with their name and colour
// at the head of their selection, and their selected range tinted. The positions come from
// `presence.ts` (automerge cursors turned into ProseMirror positions); between updates the
// decorations are mapped through local edits.
import { Plugin, PluginKey, type EditorState, type Transaction } from "prosemirror-state"
import { Decoration, DecorationSet } from "prosemirror-view"

export interface RemoteCursor {
  /** The peer (one browser tab) this cursor belongs to. */
  peerId: string
  /** The person's name, from the server's roster. */
  name: string
  /** The class that colours this person (`person-color-N`). */
  color: string
  /** ProseMirror positions of the selection's anchor and head. */
  anchor: number
  head: number
}

export const cursorsKey = new PluginKey<DecorationSet>("concerta-cursors")

/** A transaction that replaces the remote cursors shown. */
export function setCursors(tr: Transaction, cursors: RemoteCursor[]): Transaction {
  return tr.setMeta(cursorsKey, cursors).setMeta("addToHistory", false)
}

function caret(cursor: RemoteCursor): HTMLElement {
  const caret = document.createElement("span")
  caret.className = `remote-caret ${cursor.color}`
  caret.setAttribute("data-peer", cursor.peerId)
  caret.setAttribute("aria-hidden", "true")
  const label = document.createElement("span")
  label.className = "remote-caret-label"
  label.textContent = cursor.name
  caret.appendChild(label)
  return caret
}

function clamp(pos: number, state: EditorState): number {
  return Math.max(0, Math.min(pos, state.doc.content.size))
}

function build(state: EditorState, cursors: RemoteCursor[]): DecorationSet {
  const decorations: Decoration[] = []
  for (const cursor of cursors) {
    const head = clamp(cursor.head, state)
    const anchor = clamp(cursor.anchor, state)
    const from = Math.min(head, anchor)
    const to = Math.max(head, anchor)
    if (from !== to) {
      decorations.push(
        Decoration.inline(from, to, { class: `remote-selection ${cursor.color}` }, { peerId: cursor.peerId }),
      )
    }
    decorations.push(Decoration.widget(head, () => caret(cursor), { key: `caret-${cursor.peerId}-${cursor.name}-${cursor.color}`, side: -1 }))
  }
  return DecorationSet.create(state.doc, decorations)
}

/** The plugin; its state is the decoration set. */
export function cursorsPlugin(): Plugin<DecorationSet> {
  return new Plugin<DecorationSet>({
    key: cursorsKey,
    state: {
      init: () => DecorationSet.empty,
      apply(tr, set, _old, state) {
        const cursors = tr.getMeta(cursorsKey) as RemoteCursor[] | undefined
        if (cursors) return build(state, cursors)
        return set.map(tr.mapping, tr.doc)
      },
    },
    props: {
      decorations: (state) => cursorsKey.getState(state),
    },
  })
}
