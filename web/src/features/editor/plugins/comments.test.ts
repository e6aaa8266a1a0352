import { describe, expect, it } from "vitest"
import { EditorState } from "prosemirror-state"
import { EditorView } from "prosemirror-view"
import { basicSchemaAdapter } from "@automerge/prosemirror"
import { commentsKey, commentsPlugin, setCommentRanges } from "./comments"

const schema = basicSchemaAdapter.schema

function stateWith(text: string) {
  const doc = schema.node("doc", null, [schema.node("paragraph", null, text ? [schema.text(text)] : [])])
  return EditorState.create({ schema, doc, plugins: [commentsPlugin()] })
}

describe("comments plugin", () => {
  it("tints each passage and marks the active one", () => {
    let state = stateWith("hello wide world")
    state = state.apply(
      setCommentRanges(state.tr, [
        { id: "c1", from: 1, to: 6, active: false },
        { id: "c2", from: 7, to: 11, active: true },
        { id: "gone", from: 4, to: 4, active: false },
      ]),
    )
    const found = commentsKey.getState(state)!.find()
    expect(found.map((d) => [(d.spec as { commentId: string }).commentId, d.from, d.to])).toEqual([
      ["c1", 1, 6],
      ["c2", 7, 11],
    ])
  })

  it("keeps a passage on its words through typing before and inside it", () => {
    let state = stateWith("hello world")
    state = state.apply(setCommentRanges(state.tr, [{ id: "c1", from: 7, to: 12, active: false }]))
    state = state.apply(state.tr.insertText("-", 9))
    state = state.apply(state.tr.insertText("XY", 1))
    const [passage] = commentsKey.getState(state)!.find()
    expect(state.doc.textBetween(passage.from, passage.to)).toBe("wo-rld")
  })

  it("draws a passage inside another passage as an element of its own", () => {
    let state = stateWith("one two three four")
    state = state.apply(
      setCommentRanges(state.tr, [
        { id: "outer", from: 1, to: 19, active: false },
        { id: "inner", from: 5, to: 14, active: false },
      ]),
    )
    const view = new EditorView(document.createElement("div"), { state })
    const text = (id: string) =>
      Array.from(view.dom.querySelectorAll(`.comment-passage[data-comment="${id}"]`))
        .filter((el) => !el.parentElement?.closest(`.comment-passage[data-comment="${id}"]`))
        .map((el) => el.textContent)
        .join("")
    expect(text("inner")).toBe("two three")
    expect(text("outer")).toBe("one two three four")
    view.destroy()
  })
})
