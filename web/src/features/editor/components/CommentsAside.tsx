import { useTranslation } from "react-i18next"
import type { EditorView } from "prosemirror-view"
import type { DocHandle } from "@automerge/automerge-repo/slim"
import * as A from "@automerge/automerge/slim"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { BODY_PATH, cursorIndex, type SectionDoc } from "../binding"
import { useRecordApplied, type SectionComment } from "../api/comments"
import type { CommentRange } from "../plugins/comments"

interface Props {
  sectionId: string
  comments: SectionComment[]
  /** Whether the comments' live stream is up (else they are polled slowly). */
  live: boolean
  ranges: CommentRange[]
  view: EditorView | null
  handle: DocHandle<SectionDoc>
  writable: boolean
  active: string | null
  onShow: (id: string | null) => void
}

/** The shortest change turning `old` into `next`: the common prefix and suffix stay, so the
 * passage's first and last characters (where its cursors sit) survive when they can. */
export function minimalSplice(old: string, next: string): { at: number; remove: number; insert: string } {
  let prefix = 0
  while (prefix < old.length && prefix < next.length && old[prefix] === next[prefix]) prefix++
  let suffix = 0
  while (suffix < old.length - prefix && suffix < next.length - prefix && old[old.length - 1 - suffix] === next[next.length - 1 - suffix]) suffix++
  return { at: prefix, remove: old.length - prefix - suffix, insert: next.slice(prefix, next.length - suffix) }
}

/** Consultation comments beside the section's text, each on its passage (live), with the
 * city's response; an editor who may write applies a suggested rewrite in one action. */
export function CommentsAside({ sectionId, comments, live, ranges, view, handle, writable, active, onShow }: Props) {
  const { t } = useTranslation()
  const record = useRecordApplied(sectionId)
  const threads = comments.filter((c) => c.parent_id === null)
  if (threads.length === 0) return null
  const passageText = (id: string) => {
    const range = ranges.find((r) => r.id === id)
    if (!range || !view) return null
    return view.state.doc.textBetween(range.from, Math.min(range.to, view.state.doc.content.size), "\n")
  }
  const apply = (c: SectionComment) => {
    const doc = handle.doc()
    if (!doc || !c.anchor || c.suggestion === null) return
    const start = cursorIndex(doc, c.anchor.start)
    const end = cursorIndex(doc, c.anchor.end)
    if (start === undefined || end === undefined || start > end) return
    const old = String(doc.body).slice(start, end + 1)
    const { at, remove, insert } = minimalSplice(old, c.suggestion)
    handle.change((d) => {
      A.splice(d, BODY_PATH, start + at, remove, insert)
    })
    const heads = A.getHeads(handle.doc()!)
    record.mutate({ comment: c.id, heads, reason: t("consultations.appliedReason") })
  }
  return (
    <aside className="comments-aside" aria-labelledby="comments-aside-heading">
      <h2 id="comments-aside-heading">{t("consultations.inEditor")}</h2>
      <p role="status" className="muted" data-live={live}>
        {t(live ? "consultations.liveOn" : "consultations.liveOff")}
      </p>
      <ol className="threads">
        {threads.map((c) => {
          const now = passageText(c.id)
          return (
            <li key={c.id} className={c.id === active ? "card thread active" : "card thread"} data-testid="editor-comment" data-comment={c.id}>
              <p className="muted">
                {c.consultation_title} · {c.by_city ? t("consultations.theCity", { name: c.author_name }) : `${c.organization ?? ""}${c.sector ? ` · ${t(`sectors.${c.sector}`)}` : ""}`}
              </p>
              {c.anchor && (
                <figure className="passage">
                  <blockquote>{c.anchor.quote}</blockquote>
                  {now === null ? (
                    <figcaption className="badge passage-removed">{t("consultations.passageRemoved")}</figcaption>
                  ) : (
                    now !== c.anchor.quote && <figcaption className="muted">{t("consultations.passageNow", { text: now })}</figcaption>
                  )}
                </figure>
              )}
              {c.hidden ? <p className="hidden-comment">{t("consultations.hiddenBecause", { reason: c.hidden.reason })}</p> : <p>{c.body}</p>}
              {c.suggestion && (
                <p className="suggestion">
                  <strong>{t("consultations.suggestion")}:</strong> {c.suggestion}
                </p>
              )}
              {c.response ? (
                <p data-testid="editor-response">
                  <span className={`badge decision-${c.response.decision}`}>{t(`consultations.decision.${c.response.decision}`)}</span>{" "}
                  {c.response.applied && <span className="badge">{t("consultations.applied")}</span>} {c.response.reason}
                </p>
              ) : (
                <p className="muted">{t("consultations.awaiting")}</p>
              )}
              <div className="actions">
                {c.anchor && now !== null && (
                  <button type="button" aria-pressed={c.id === active} onClick={() => onShow(c.id === active ? null : c.id)}>
                    {t("consultations.showPassage")}
                  </button>
                )}
                {writable && c.suggestion && now !== null && !c.response?.applied && (
                  <button type="button" className="primary" onClick={() => apply(c)} disabled={record.isPending}>
                    {t("consultations.apply")}
                  </button>
                )}
              </div>
            </li>
          )
        })}
      </ol>
      <ErrorMessage error={record.error} />
    </aside>
  )
}
