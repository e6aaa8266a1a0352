// Links: which addresses a link may point to, and the range a link command works on.
import type { EditorState } from "prosemirror-state"

/** A typed address made into a link target, or why it cannot be one. Only web and mail
 * addresses: never `javascript:` or `data:` (a link is clicked by someone else). */
export function normaliseHref(input: string): { href: string } | { error: "empty" | "invalid" } {
  const text = input.trim()
  if (!text) return { error: "empty" }
  const candidate = /^[a-z][a-z0-9+.-]*:/i.test(text) ? text : /^[^\s@/]+@[^\s@/]+\.[^\s@/]+$/.test(text) ? `mailto:${text}` : `https://${text}`
  let url: URL
  try {
    url = new URL(candidate)
  } catch {
    return { error: "invalid" }
  }
  if (url.protocol === "mailto:") return /^[^\s@]+@[^\s@]+$/.test(url.pathname) ? { href: url.href } : { error: "invalid" }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { error: "invalid" }
  if (!url.hostname.includes(".") && url.hostname !== "localhost") return { error: "invalid" }
  return { href: url.href }
}

/** The range a link command applies to: the selection, or, with the cursor inside a link,
 * that whole link. `href` is the link there now, if any. Undefined when there is nothing to
 * link (an empty selection outside any link). */
export function linkRange(state: EditorState): { from: number; to: number; href?: string } | undefined {
  const type = state.schema.marks.link
  const { from, to, empty, $from } = state.selection
  if (!empty) {
    let href: string | undefined
    state.doc.nodesBetween(from, to, (node) => {
      const mark = type.isInSet(node.marks)
      if (mark && href === undefined) href = String(mark.attrs.href)
    })
    return { from, to, href }
  }
  const mark = type.isInSet($from.marks())
  if (!mark) return undefined
  // Grow from the cursor over the neighbouring text that carries the same link.
  const parent = $from.parent
  const offset = $from.parentOffset
  let start = offset
  let end = offset
  parent.forEach((child, childOffset) => {
    const childEnd = childOffset + child.nodeSize
    if (mark.isInSet(child.marks) && childEnd >= start && childOffset <= end) {
      start = Math.min(start, childOffset)
      end = Math.max(end, childEnd)
    }
  })
  const base = $from.start()
  return { from: base + start, to: base + end, href: String(mark.attrs.href) }
}
