import { useEffect, useRef, useState } from "react"
import { useTranslation } from "react-i18next"
import * as A from "@automerge/automerge/slim"
import { basicSchemaAdapter, pmDocFromSpans } from "@automerge/prosemirror"
import { EditorState } from "prosemirror-state"
import { EditorView } from "prosemirror-view"
import { Loading } from "../../../components/Loading"
import { pageRepo } from "../../../lib/automerge"

/** A section's text as it was at `heads` (automerge `view`), shown read-only. */
export function SectionAtHeads({ user, url, heads, label }: { user?: string; url: string; heads: string[]; label: string }) {
  const { t } = useTranslation()
  const mount = useRef<HTMLDivElement>(null)
  const [status, setStatus] = useState<"loading" | "ready" | "missing">("loading")
  useEffect(() => {
    if (!user || !mount.current) return
    let view: EditorView | undefined
    let cancelled = false
    let stop = () => {}
    ;(async () => {
      try {
        const page = await pageRepo(user)
        const handle = await page.repo.find<{ body: string }>(url as never)
        const render = () => {
          const doc = handle.doc()
          if (!doc || cancelled || view) return
          if (!A.hasHeads(doc, heads as A.Heads)) return // not synced that far yet
          const then = A.view(doc, heads as A.Heads)
          const pmDoc = pmDocFromSpans(basicSchemaAdapter, A.spans(then, ["body"]))
          view = new EditorView(mount.current!, {
            state: EditorState.create({ schema: basicSchemaAdapter.schema, doc: pmDoc }),
            editable: () => false,
            attributes: { role: "document", "aria-label": label, class: "section-body version-body" },
          })
          setStatus("ready")
        }
        render()
        handle.on("change", render)
        stop = () => handle.off("change", render)
      } catch {
        if (!cancelled) setStatus("missing")
      }
    })()
    return () => {
      cancelled = true
      stop()
      view?.destroy()
    }
  }, [user, url, heads, label])
  return (
    <>
      {status === "loading" && <Loading />}
      {status === "missing" && <p role="alert">{t("editor.unavailable")}</p>}
      <div ref={mount} />
    </>
  )
}
