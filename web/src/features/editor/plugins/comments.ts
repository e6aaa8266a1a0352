// Consultation comments anchored to passages of the section: each passage is tinted (and the
// one the editor asked to see is marked "active"). Positions come from the comments' automerge
// cursors resolved against the live document (SectionEditor); between updates the
// decorations are mapped through local edits, so a passage stays on its words while typing.
import { Plugin, PluginKey, type EditorState, type Transaction } from "prosemirror-state"
import { Decoration, DecorationSet } from "prosemirror-view"

export interface CommentRange {
  /** The comment's id. */
  id: string
  /** ProseMirror positions of the passage. */
  from: number
  to: number
  /** The passage the editor is looking at. */
  active: boolean
}

export const commentsKey = new PluginKey<DecorationSet>("concerta-comments")

/** A transaction that replaces the passages shown. */
export function setCommentRanges(tr: Transaction, ranges: CommentRange[]): Transaction {
  return tr.setMeta(commentsKey, ranges).setMeta("addToHistory", false)
}

function build(state: EditorState, ranges: CommentRange[]): DecorationSet {
  const size = state.doc.content.size
  const decorations = ranges
    .map((r) => ({ ...r, from: Math.max(0, Math.min(r.from, size)), to: Math.max(0, Math.min(r.to, size)) }))
    .filter((r) => r.from < r.to)
    .map((r) =>
      // `nodeName`: a span of its own for each passage. Without it ProseMirror merges
      // overlapping inline decorations into one element whose `data-comment` is the last
      // one's, so a passage inside another's lost its element (and its id).
      Decoration.inline(
        r.from,
        r.to,
        { nodeName: "span", class: r.active ? "comment-passage active" : "comment-passage", "data-comment": r.id },
        { commentId: r.id },
      ),
    )
  return DecorationSet.create(state.doc, decorations)
}

/** The plugin; its state is the decoration set. */
export function commentsPlugin(): Plugin<DecorationSet> {
  return new Plugin<DecorationSet>({
    key: commentsKey,
    state: {
      init: () => DecorationSet.empty,
      apply(tr, set, _old, state) {
        const ranges = tr.getMeta(commentsKey) as CommentRange[] | undefined
        if (ranges) return build(state, ranges)
        return set.map(tr.mapping, tr.doc)
      },
    },
    props: {
      decorations: (state) => commentsKey.getState(state),
    },
  })
}
