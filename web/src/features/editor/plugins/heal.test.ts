import { describe, expect, it } from "vitest"
import { basicSchemaAdapter } from "@automerge/prosemirror"
import { EditorState, TextSelection } from "prosemirror-state"
import { EditorView } from "prosemirror-view"
import { replaceView, sameContent } from "./heal"

const schema = basicSchemaAdapter.schema
const p = (text: string, attrs?: Record<string, unknown>) => schema.node("paragraph", attrs ?? null, text ? [schema.text(text)] : [])
const ol = (...items: string[]) => schema.node("ordered_list", null, items.map((t) => schema.node("list_item", null, [p(t)])))

describe("heal", () => {
  it("sees two adjacent lists and one merged list as different, bookkeeping attrs as the same", () => {
    const two = schema.node("doc", null, [ol("a"), ol("b")])
    const one = schema.node("doc", null, [ol("a", "b")])
    expect(sameContent(two, one)).toBe(false)
    const marked = schema.node("doc", null, [p("x", { isAmgBlock: true })])
    const plain = schema.node("doc", null, [p("x", { isAmgBlock: false })])
    expect(sameContent(marked, plain)).toBe(true)
    expect(sameContent(schema.node("doc", null, [p("hello")]), schema.node("doc", null, [p("hellod")]))).toBe(false)
  })

  it("replaces a diverged view's document and keeps the selection inside it", () => {
    const place = document.createElement("div")
    const view = new EditorView(place, { state: EditorState.create({ schema, doc: schema.node("doc", null, [p("hello"), p("world!")]) }) })
    view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, 14)))
    const truth = schema.node("doc", null, [p("helloworld")])
    replaceView(view, truth)
    expect(view.state.doc.textContent).toBe("helloworld")
    expect(view.state.selection.from).toBe(11)
    view.destroy()
  })
})
