// The editor's formatting commands and keys (headings, lists, bold, italic, links).
import { baseKeymap, setBlockType, toggleMark } from "prosemirror-commands"
import { redo, undo } from "prosemirror-history"
import { keymap } from "prosemirror-keymap"
import { liftListItem, sinkListItem, splitListItem, wrapInList } from "prosemirror-schema-list"
import type { MarkType, NodeType, Schema } from "prosemirror-model"
import type { Command, EditorState, Plugin } from "prosemirror-state"

export function markActive(state: EditorState, type: MarkType): boolean {
  const { from, $from, to, empty } = state.selection
  if (empty) return !!type.isInSet(state.storedMarks || $from.marks())
  return state.doc.rangeHasMark(from, to, type)
}

export function blockActive(state: EditorState, type: NodeType, attrs?: Record<string, unknown>): boolean {
  const { $from } = state.selection
  const parent = $from.parent
  if (parent.type !== type) return false
  return !attrs || Object.entries(attrs).every(([k, v]) => parent.attrs[k] === v)
}

export function inList(state: EditorState, type: NodeType): boolean {
  const { $from } = state.selection
  for (let depth = $from.depth; depth > 0; depth--) if ($from.node(depth).type === type) return true
  return false
}

/** Toggles a list: lifts out of it when inside one of this type, else wraps. */
export function toggleList(schema: Schema, type: NodeType): Command {
  return (state, dispatch) => {
    if (inList(state, type)) return liftListItem(schema.nodes.list_item)(state, dispatch)
    return wrapInList(type)(state, dispatch)
  }
}

/** Sets (or, with `href` null, removes) the link on `from..to`, the selection by default. */
export function setLink(schema: Schema, href: string | null, range?: { from: number; to: number }): Command {
  return (state, dispatch) => {
    const mark = schema.marks.link
    const { from, to } = range ?? state.selection
    if (from === to) return false
    if (dispatch) {
      const tr = state.tr.removeMark(from, to, mark)
      if (href) tr.addMark(from, to, mark.create({ href }))
      dispatch(tr.scrollIntoView())
    }
    return true
  }
}

export function headingCommand(schema: Schema, level: number | null): Command {
  return level === null ? setBlockType(schema.nodes.paragraph) : setBlockType(schema.nodes.heading, { level })
}

/** The editor's keys; `openLink` opens the link dialog (Ctrl+K) and says whether it did. */
export function editorKeymaps(schema: Schema, openLink?: (state: EditorState) => boolean): Plugin[] {
  const item = schema.nodes.list_item
  return [
    keymap({
      "Mod-k": (state) => openLink?.(state) ?? false,
      "Mod-z": undo,
      "Shift-Mod-z": redo,
      "Mod-y": redo,
      "Mod-b": toggleMark(schema.marks.strong),
      "Mod-i": toggleMark(schema.marks.em),
      Enter: splitListItem(item),
      "Mod-[": liftListItem(item),
      "Mod-]": sinkListItem(item),
      "Mod-Alt-0": setBlockType(schema.nodes.paragraph),
      "Mod-Alt-1": setBlockType(schema.nodes.heading, { level: 1 }),
      "Mod-Alt-2": setBlockType(schema.nodes.heading, { level: 2 }),
      "Mod-Alt-3": setBlockType(schema.nodes.heading, { level: 3 }),
      "Shift-Mod-8": wrapInList(schema.nodes.bullet_list),
      "Shift-Mod-9": wrapInList(schema.nodes.ordered_list),
    }),
    keymap(baseKeymap),
  ]
}
