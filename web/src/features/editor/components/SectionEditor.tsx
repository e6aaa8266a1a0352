import { useEffect, useRef, useState } from "react"
import { useTranslation } from "react-i18next"
import { EditorState } from "prosemirror-state"
import { EditorView } from "prosemirror-view"
import { history } from "prosemirror-history"
import type { DocHandle } from "@automerge/automerge-repo/slim"
import type { PageRepo } from "../../../lib/automerge"
import { amToPmIndex, bind, BODY_PATH, cursorIndex, pmToAmIndex, type SectionDoc } from "../binding"
import { editorKeymaps, setLink } from "../commands"
import { linkRange, normaliseHref } from "../link"
import { cursorsPlugin, setCursors, type RemoteCursor } from "../plugins/cursors"
import { commentsPlugin, setCommentRanges, type CommentRange } from "../plugins/comments"
import { useSectionComments, type SectionComment } from "../api/comments"
import { CommentsAside } from "./CommentsAside"
import { healer } from "../plugins/heal"
import { SpansByState } from "../spans"
import { colorFor, SectionPresence, type PresenceSnapshot } from "../presence"
import "prosemirror-view/style/prosemirror.css"
import { LinkDialog } from "./LinkDialog"
import { Toolbar } from "./Toolbar"
import { PresenceList } from "./PresenceList"
import { SyncIndicator } from "./SyncIndicator"

interface Props {
  /** The section (its consultation comments are shown beside the text). */
  sectionId: string
  handle: DocHandle<SectionDoc>
  page: PageRepo
  writable: boolean
  readOnlyReason?: string
  label: string
}

/** The rich-text editor of one section, live with everyone in it. */
export function SectionEditor({ sectionId, handle, page, writable, readOnlyReason, label }: Props) {
  const { t } = useTranslation()
  const mount = useRef<HTMLDivElement>(null)
  const { query: comments, live } = useSectionComments(sectionId)
  const commentsRef = useRef<SectionComment[]>([])
  const activeRef = useRef<string | null>(null)
  const redrawRef = useRef<() => void>(() => {})
  const [active, setActive] = useState<string | null>(null)
  const [ranges, setRanges] = useState<CommentRange[]>([])
  const [view, setView] = useState<EditorView | null>(null)
  const [state, setState] = useState<EditorState | null>(null)
  const [presence, setPresence] = useState<PresenceSnapshot | null>(null)
  const [heals, setHeals] = useState(0)
  // The range the link dialog works on while it is open.
  const [linking, setLinking] = useState<{ from: number; to: number; href?: string } | null>(null)
  // Once the dialog is gone (a modal dialog keeps focus inside while open), back to the text.
  const wasLinking = useRef(false)
  useEffect(() => {
    if (wasLinking.current && !linking) view?.focus()
    wasLinking.current = !!linking
  }, [linking, view])

  // The ProseMirror view lives as long as this handle and access level.
  useEffect(() => {
    if (!mount.current) return
    // The body's spans, once per state of the document (see spans.ts).
    const spans = new SpansByState(BODY_PATH)
    const binding = bind(handle, writable, spans)
    const tracker = new SectionPresence(handle as DocHandle<unknown>, page, BODY_PATH)
    let latest: PresenceSnapshot = tracker.snapshot()
    let dispatching = false
    let destroyed = false

    const remoteCursors = (): RemoteCursor[] => {
      const doc = handle.doc()
      if (!doc) return []
      const names = new Map(latest.roster.map((p) => [p.peerId, p]))
      const cursors: RemoteCursor[] = []
      for (const [peerId, cursor] of latest.cursors) {
        const who = names.get(peerId)
        if (!who) continue // not (or no longer) in the server's roster: no name, no cursor
        const head = cursorIndex(doc, cursor.head)
        const anchor = cursorIndex(doc, cursor.anchor)
        if (head === undefined || anchor === undefined) continue
        const body = spans.of(doc)
        cursors.push({ peerId, name: who.name, color: colorFor(who.userId), head: amToPmIndex(body, head), anchor: amToPmIndex(body, anchor) })
      }
      return cursors
    }

    // Consultation comments' passages, from their automerge cursors in the live document.
    const commentRanges = (): CommentRange[] => {
      const doc = handle.doc()
      if (!doc) return []
      const out: CommentRange[] = []
      for (const c of commentsRef.current) {
        if (!c.anchor || c.hidden || c.parent_id) continue
        const start = cursorIndex(doc, c.anchor.start)
        const end = cursorIndex(doc, c.anchor.end)
        if (start === undefined || end === undefined || start > end) continue
        const body = spans.of(doc)
        out.push({ id: c.id, from: amToPmIndex(body, start), to: amToPmIndex(body, end + 1), active: c.id === activeRef.current })
      }
      return out
    }

    const editorView: EditorView = new EditorView(mount.current, {
      state: EditorState.create({
        schema: binding.schema,
        doc: binding.doc,
        plugins: [
          binding.plugin,
          history(),
          ...editorKeymaps(binding.schema, (state) => {
            const range = writable ? linkRange(state) : undefined
            if (range) setLinking(range)
            return !!range
          }),
          cursorsPlugin(),
          commentsPlugin(),
        ],
      }),
      editable: () => writable,
      attributes: {
        id: "section-body",
        role: "textbox",
        "aria-multiline": "true",
        "aria-label": label,
        "aria-readonly": writable ? "false" : "true",
        class: "section-body",
      },
      dispatchTransaction(tr) {
        if (binding.applyingRemote()) tr.setMeta("addToHistory", false)
        dispatching = true
        let next: EditorState
        try {
          next = editorView.state.apply(tr)
          editorView.updateState(next)
        } finally {
          dispatching = false
        }
        setState(next)
        if (tr.docChanged) heal.changed()
        if (writable && (tr.selectionSet || tr.docChanged)) {
          const doc = handle.doc()
          if (doc) {
            const { anchor, head } = next.selection
            const body = spans.of(doc)
            tracker.setSelection(pmToAmIndex(body, anchor), pmToAmIndex(body, head))
          }
        }
      },
    })
    // The view is checked against the automerge document after changes (see plugins/heal.ts).
    const heal = healer(
      () => (destroyed ? undefined : editorView),
      () => handle.doc(),
      (doc) => spans.of(doc),
      () => {
        setHeals((n) => n + 1)
        setState(editorView.state)
        redraw()
      },
    )
    // Redraw other people's cursors when they move or when the text changes under them (after
    // the transaction in progress, when our own typing is what changed the text).
    const redraw = () => {
      if (dispatching) {
        queueMicrotask(redraw)
        return
      }
      if (destroyed) return
      const passages = commentRanges()
      editorView.dispatch(setCommentRanges(setCursors(editorView.state.tr, remoteCursors()), passages))
      setRanges(passages)
    }
    redrawRef.current = redraw
    const unsubscribe = tracker.subscribe((snapshot) => {
      latest = snapshot
      setPresence(snapshot)
      redraw()
    })
    handle.on("change", redraw)
    setView(editorView)
    setState(editorView.state)
    performance.mark("concerta:editor")
    return () => {
      destroyed = true
      redrawRef.current = () => {}
      heal.stop()
      handle.off("change", redraw)
      unsubscribe()
      tracker.dispose()
      editorView.destroy()
      setView(null)
    }
  }, [handle, page, writable, label])

  // New comments (polled) and the passage asked for are drawn at once.
  useEffect(() => {
    commentsRef.current = comments.data ?? []
    activeRef.current = active
    redrawRef.current()
  }, [comments.data, active])

  return (
    <div className="editor" data-testid="editor" data-heals={heals}>
      <div className="editor-bar">
        <Toolbar
          view={view}
          state={state}
          disabled={!writable}
          onLink={() => {
            const range = view && linkRange(view.state)
            if (range) setLinking(range)
          }}
        />
        <SyncIndicator handle={handle as DocHandle<unknown>} page={page} />
      </div>
      {!writable && readOnlyReason && (
        <p className="read-only-note" id="read-only-reason">
          {readOnlyReason}
        </p>
      )}
      <div ref={mount} className={writable ? "editor-mount" : "editor-mount read-only"} aria-describedby={!writable ? "read-only-reason" : undefined} />
      {linking && view && (
        <LinkDialog
          current={linking.href}
          check={normaliseHref}
          onApply={(href) => {
            setLink(view.state.schema, href, linking)(view.state, view.dispatch)
            setLinking(null)
          }}
          onRemove={() => {
            setLink(view.state.schema, null, linking)(view.state, view.dispatch)
            setLinking(null)
          }}
          onClose={() => setLinking(null)}
        />
      )}
      <PresenceList snapshot={presence} />
      <CommentsAside
        sectionId={sectionId}
        comments={comments.data ?? []}
        live={live}
        ranges={ranges}
        view={view}
        handle={handle}
        writable={writable}
        active={active}
        onShow={setActive}
      />
      <p className="visually-hidden">{t("editor.keysHelp")}</p>
    </div>
  )
}
