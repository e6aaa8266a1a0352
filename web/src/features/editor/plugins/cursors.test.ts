import { describe, expect, it } from "vitest"
import { EditorState } from "prosemirror-state"
import { basicSchemaAdapter } from "@automerge/prosemirror"
import { cursorsKey, cursorsPlugin, setCursors } from "./cursors"

const schema = basicSchemaAdapter.schema

function stateWith(text: string) {
  const doc = schema.node("doc", null, [schema.node("paragraph", null, text ? [schema.text(text)] : [])])
  return EditorState.create({ schema, doc, plugins: [cursorsPlugin()] })
}

describe("cursors plugin", () => {
  it("draws a caret per peer and tints a selection", () => {
    let state = stateWith("hello world")
    state = state.apply(
      setCursors(state.tr, [
        { peerId: "p1", name: "Ana", color: "person-color-1", anchor: 1, head: 6 },
        { peerId: "p2", name: "Luis", color: "person-color-2", anchor: 8, head: 8 },
      ]),
    )
    const found = cursorsKey.getState(state)!.find()
    expect(found.filter((d) => (d.spec as { key?: string }).key?.startsWith("caret-")).length).toBe(2)
    const selection = found.find((d) => (d.spec as { peerId?: string }).peerId === "p1")
    expect(selection && [selection.from, selection.to]).toEqual([1, 6])
  })

  it("maps carets through local typing and clamps stale positions", () => {
    let state = stateWith("abc")
    state = state.apply(setCursors(state.tr, [{ peerId: "p1", name: "Ana", color: "person-color-3", anchor: 3, head: 3 }]))
    state = state.apply(state.tr.insertText("XY", 1))
    const caret = cursorsKey.getState(state)!.find()[0]
    expect(caret.from).toBe(5)
    state = state.apply(setCursors(state.tr, [{ peerId: "p1", name: "Ana", color: "person-color-3", anchor: 999, head: 999 }]))
    expect(cursorsKey.getState(state)!.find()[0].from).toBe(state.doc.content.size)
  })

  it("removes a cursor when its peer is gone", () => {
    let state = stateWith("abc")
    state = state.apply(setCursors(state.tr, [{ peerId: "p1", name: "Ana", color: "person-color-3", anchor: 1, head: 1 }]))
    state = state.apply(setCursors(state.tr, []))
    expect(cursorsKey.getState(state)!.find()).toEqual([])
  })
})
