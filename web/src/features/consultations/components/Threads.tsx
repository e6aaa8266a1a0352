import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { SelectField } from "../../../components/Field"
import { DECISIONS, useCreateComment, useHide, useRespond, type Comment, type Consultation, type Decision } from "../api/consultations"

/** The comment threads of one section: each first comment with its passage, the city's
 * response and the replies; answer and hide forms for the city's staff. */
export function Threads({
  consultation,
  comments,
  staff,
  coordinator,
  mayReply,
}: {
  consultation: Consultation
  comments: Comment[]
  staff: boolean
  coordinator: boolean
  mayReply: boolean
}) {
  const { t } = useTranslation()
  const threads = comments.filter((c) => c.parent_id === null)
  if (threads.length === 0) return <p>{t("consultations.noComments")}</p>
  return (
    <ol className="threads">
      {threads.map((c) => (
        <Thread
          key={c.id}
          consultation={consultation}
          comment={c}
          replies={comments.filter((r) => r.parent_id === c.id)}
          staff={staff}
          coordinator={coordinator}
          mayReply={mayReply}
        />
      ))}
    </ol>
  )
}

function Thread({
  consultation,
  comment,
  replies,
  staff,
  coordinator,
  mayReply,
}: {
  consultation: Consultation
  comment: Comment
  replies: Comment[]
  staff: boolean
  coordinator: boolean
  mayReply: boolean
}) {
  const { t, i18n } = useTranslation()
  const date = (iso: string) => new Intl.DateTimeFormat(i18n.language, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso))
  const who = (c: Comment) =>
    c.by_city ? t("consultations.theCity", { name: c.author_name }) : `${c.organization ?? ""}${c.sector ? ` · ${t(`sectors.${c.sector}`)}` : ""}`
  return (
    <li className="card thread" data-testid="thread">
      {comment.anchor && (
        <figure className="passage">
          <blockquote>{comment.anchor.quote}</blockquote>
          {comment.anchor.removed ? (
            <figcaption className="badge passage-removed">{t("consultations.passageRemoved")}</figcaption>
          ) : (
            comment.anchor.text !== null &&
            comment.anchor.text !== comment.anchor.quote && <figcaption className="muted">{t("consultations.passageNow", { text: comment.anchor.text })}</figcaption>
          )}
        </figure>
      )}
      <p className="muted">
        {who(comment)} · {date(comment.created_at)}
      </p>
      {comment.hidden ? (
        <p className="hidden-comment">{t("consultations.hiddenBecause", { reason: comment.hidden.reason })}</p>
      ) : null}
      {comment.body && <p className="comment-body">{comment.body}</p>}
      {comment.suggestion && (
        <p className="suggestion">
          <strong>{t("consultations.suggestion")}:</strong> {comment.suggestion}
        </p>
      )}
      {comment.response ? (
        <div className="response" data-testid="response">
          <p>
            <span className={`badge decision-${comment.response.decision}`}>{t(`consultations.decision.${comment.response.decision}`)}</span>
            {comment.response.applied && <span className="badge">{t("consultations.applied")}</span>}
          </p>
          <p>{comment.response.reason}</p>
        </div>
      ) : (
        !comment.hidden && <p className="muted">{t("consultations.awaiting")}</p>
      )}
      {replies.length > 0 && (
        <ul className="replies">
          {replies.map((r) => (
            <li key={r.id}>
              <p className="muted">
                {who(r)} · {date(r.created_at)}
              </p>
              <p>{r.body}</p>
            </li>
          ))}
        </ul>
      )}
      {mayReply && <ReplyForm consultation={consultation.id} parent={comment.id} />}
      {staff && !comment.hidden && <AnswerForm consultation={consultation.id} comment={comment} />}
      {coordinator && !comment.hidden && <HideForm consultation={consultation.id} comment={comment.id} />}
    </li>
  )
}

function ReplyForm({ consultation, parent }: { consultation: string; parent: string }) {
  const { t } = useTranslation()
  const create = useCreateComment(consultation)
  const [body, setBody] = useState("")
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate({ parent_id: parent, body }, { onSuccess: () => setBody("") })
  }
  return (
    <form className="inline-form" onSubmit={submit}>
      <div className="field">
        <label htmlFor={`reply-${parent}`}>{t("consultations.reply")}</label>
        <input id={`reply-${parent}`} required value={body} onChange={(e) => setBody(e.target.value)} maxLength={5000} />
      </div>
      <button type="submit" disabled={create.isPending}>
        {t("consultations.sendReply")}
      </button>
      <ErrorMessage error={create.error} />
    </form>
  )
}

function AnswerForm({ consultation, comment }: { consultation: string; comment: Comment }) {
  const { t } = useTranslation()
  const respond = useRespond(consultation)
  const [decision, setDecision] = useState<Decision>(comment.response?.decision ?? "accepted")
  const [reason, setReason] = useState(comment.response?.reason ?? "")
  const submit = (event: FormEvent) => {
    event.preventDefault()
    respond.mutate({ comment: comment.id, decision, reason })
  }
  return (
    <form className="inline-form answer-form" onSubmit={submit} aria-label={t("consultations.answerLabel")}>
      <SelectField label={t("consultations.decisionLabel")} value={decision} onChange={(e) => setDecision(e.target.value as Decision)}>
        {DECISIONS.map((d) => (
          <option key={d} value={d}>
            {t(`consultations.decision.${d}`)}
          </option>
        ))}
      </SelectField>
      <div className="field">
        <label htmlFor={`reason-${comment.id}`}>{t("consultations.reason")}</label>
        <input id={`reason-${comment.id}`} required value={reason} onChange={(e) => setReason(e.target.value)} maxLength={4000} />
      </div>
      <button type="submit" className="primary" disabled={respond.isPending}>
        {comment.response ? t("consultations.changeAnswer") : t("consultations.answer")}
      </button>
      <ErrorMessage error={respond.error} />
    </form>
  )
}

function HideForm({ consultation, comment }: { consultation: string; comment: string }) {
  const { t } = useTranslation()
  const hide = useHide(consultation)
  const [reason, setReason] = useState("")
  const submit = (event: FormEvent) => {
    event.preventDefault()
    hide.mutate({ comment, reason })
  }
  return (
    <form className="inline-form hide-form" onSubmit={submit}>
      <div className="field">
        <label htmlFor={`hide-${comment}`}>{t("consultations.hideReason")}</label>
        <input id={`hide-${comment}`} required value={reason} onChange={(e) => setReason(e.target.value)} maxLength={4000} />
      </div>
      <button type="submit" disabled={hide.isPending}>
        {t("consultations.hide")}
      </button>
      <ErrorMessage error={hide.error} />
    </form>
  )
}
