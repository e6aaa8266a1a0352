import { describe, expect, it } from "vitest"
import { Schema } from "prosemirror-model"
import { EditorState, TextSelection } from "prosemirror-state"
import { linkRange, normaliseHref } from "./link"

describe("normaliseHref", () => {
  it("keeps web and mail addresses, completing the common short forms", () => {
    expect(normaliseHref(" https://example.org/a?b=1 ")).toEqual({ href: "https://example.org/a?b=1" })
    expect(normaliseHref("www.medellin.gov.co")).toEqual({ href: "https://www.medellin.gov.co/" })
    expect(normaliseHref("ana@example.org")).toEqual({ href: "mailto:ana@example.org" })
    expect(normaliseHref("http://localhost:8080/x")).toEqual({ href: "http://localhost:8080/x" })
  })

  it("refuses what is not a web or mail address", () => {
    expect(normaliseHref("   ")).toEqual({ error: "empty" })
    expect(normaliseHref("javascript:alert(1)")).toEqual({ error: "invalid" })
    expect(normaliseHref("data:text/html,<b>x</b>")).toEqual({ error: "invalid" })
    expect(normaliseHref("not a link")).toEqual({ error: "invalid" })
    expect(normaliseHref("https://")).toEqual({ error: "invalid" })
  })
})

const schema = new Schema({
  nodes: { doc: { content: "paragraph+" }, paragraph: { content: "text*", toDOM: () => ["p", 0] }, text: {} },
  marks: { link: { attrs: { href: {} }, inclusive: false, toDOM: (m) => ["a", { href: m.attrs.href }, 0] } },
})

function stateWith(from: number, to = from) {
  const link = schema.marks.link.create({ href: "https://a.org/" })
  const doc = schema.node("doc", null, [schema.node("paragraph", null, [schema.text("see "), schema.text("the site", [link]), schema.text(" now")])])
  const state = EditorState.create({ doc })
  return state.apply(state.tr.setSelection(TextSelection.create(doc, from, to)))
}

describe("linkRange", () => {
  it("is the selection when there is one, with the link it carries", () => {
    expect(linkRange(stateWith(1, 4))).toEqual({ from: 1, to: 4, href: undefined })
    expect(linkRange(stateWith(6, 8))).toEqual({ from: 6, to: 8, href: "https://a.org/" })
  })

  it("is the whole link around the cursor, and nothing outside a link", () => {
    // "see " is 1..5, "the site" 5..13: a cursor at 8 sits inside the link.
    expect(linkRange(stateWith(8))).toEqual({ from: 5, to: 13, href: "https://a.org/" })
    expect(linkRange(stateWith(2))).toBeUndefined()
  })
})
