import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { Link, useParams } from "react-router"
import { EmailLanguageField } from "../../../components/EmailLanguageField"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field, SelectField } from "../../../components/Field"
import { Loading } from "../../../components/Loading"
import { useMe } from "../../../lib/me"
import { roleIn } from "../../../lib/permissions"
import { formatInZone } from "../../../lib/time"
import { SECTORS, type Sector } from "../../../lib/types"
import {
  reportUrl,
  useComments,
  useConsultation,
  useCreateComment,
  useInvitations,
  useInvite,
  useRegistry,
  useResendInvitation,
  useRevokeInvitation,
  useSectionText,
  useUnanswered,
  type Consultation,
} from "../api/consultations"
import { ReadingView, type Selected } from "./ReadingView"
import { Threads } from "./Threads"

/** One consultation: the consulted text with its comment threads; for coordinators also the
 * invitations, what is unanswered and the report. */
export function ConsultationPage() {
  const { t, i18n } = useTranslation()
  const { consultationId = "" } = useParams()
  const me = useMe()
  const consultation = useConsultation(consultationId)
  const [section, setSection] = useState("")
  if (consultation.isPending) return <Loading />
  if (consultation.isError) return <ErrorMessage error={consultation.error} />
  const c = consultation.data
  const role = roleIn(me.data, c.city_id)
  const staff = role === "coordinator" || role === "editor" || role === "observer"
  const current = section || c.sections[0]?.id || ""
  return (
    <>
      <nav aria-label={t("outline.breadcrumb")} className="breadcrumb">
        <Link to={`/cities/${c.city_id}/consultations`}>{t("consultations.title")}</Link>
      </nav>
      <h1>{c.title}</h1>
      <p>
        <span className={`badge consultation-${c.status}`}>{t(`consultations.status.${c.status}`)}</span>{" "}
        {t("consultations.period", { opens: formatInZone(c.opens_at, c.timezone, i18n.language), closes: formatInZone(c.closes_at, c.timezone, i18n.language) })}
      </p>
      {c.explanation && <p className="explanation">{c.explanation}</p>}
      {c.invitation && <p className="muted">{t("consultations.invitedAs", { organization: c.invitation.organization, sector: t(`sectors.${c.invitation.sector}`) })}</p>}
      {(staff || c.status === "closed") && (
        <p className="export-links">
          <span>{t("consultations.report")}:</span>
          <a href={reportUrl(c.id, "html")} target="_blank" rel="noopener">
            HTML
          </a>
          <a href={reportUrl(c.id, "md")} download>
            {t("versions.markdown")}
          </a>
          <a href={reportUrl(c.id, "csv")} download>
            CSV
          </a>
        </p>
      )}
      {c.may_manage && <InvitePanel consultation={c} />}
      {staff && <UnansweredPanel consultation={c} onPick={setSection} />}
      <nav aria-label={t("consultations.sections")} className="tabs">
        {c.sections.map((s) => (
          <button key={s.id} type="button" aria-pressed={s.id === current} onClick={() => setSection(s.id)}>
            {s.title}
          </button>
        ))}
      </nav>
      {current && <SectionPanel key={current} consultation={c} section={current} staff={staff} coordinator={role === "coordinator"} />}
    </>
  )
}

function SectionPanel({ consultation, section, staff, coordinator }: { consultation: Consultation; section: string; staff: boolean; coordinator: boolean }) {
  const { t } = useTranslation()
  const text = useSectionText(consultation.id, section)
  const comments = useComments(consultation.id)
  const create = useCreateComment(consultation.id)
  const [selected, setSelected] = useState<Selected | null>(null)
  const [body, setBody] = useState("")
  const [suggestion, setSuggestion] = useState("")
  const open = consultation.status === "open" && consultation.may_comment
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate(
      {
        section_id: section,
        body,
        anchor: selected ? { quote: selected.quote, occurrence: selected.occurrence } : undefined,
        suggestion: selected && suggestion.trim() ? suggestion : undefined,
      },
      {
        onSuccess: () => {
          setBody("")
          setSuggestion("")
          setSelected(null)
        },
      },
    )
  }
  const title = consultation.sections.find((s) => s.id === section)?.title ?? ""
  return (
    <div className="consultation-section">
      <section className="panel" aria-labelledby="consulted-text">
        <h2 id="consulted-text">{title}</h2>
        {text.isPending ? <Loading /> : text.isError ? <ErrorMessage error={text.error} /> : <ReadingView section={text.data} onSelect={setSelected} />}
        {open && (
          <form className="comment-form" onSubmit={submit} aria-labelledby="new-comment">
            <h3 id="new-comment">{selected ? t("consultations.commentPassage") : t("consultations.commentSection")}</h3>
            {selected ? (
              <>
                <blockquote data-testid="selected-passage">{selected.quote}</blockquote>
                <button type="button" onClick={() => setSelected(null)}>
                  {t("consultations.clearSelection")}
                </button>
              </>
            ) : (
              <p className="hint">{t("consultations.selectHint")}</p>
            )}
            <div className="field">
              <label htmlFor="comment-body">{t("consultations.yourComment")}</label>
              <textarea id="comment-body" required value={body} onChange={(e) => setBody(e.target.value)} rows={3} maxLength={5000} />
            </div>
            {selected && (
              <div className="field">
                <label htmlFor="comment-suggestion">{t("consultations.suggestion")}</label>
                <textarea id="comment-suggestion" value={suggestion} onChange={(e) => setSuggestion(e.target.value)} rows={2} maxLength={5000} />
              </div>
            )}
            <button type="submit" className="primary" disabled={create.isPending}>
              {t("consultations.send")}
            </button>
            <ErrorMessage error={create.error} />
          </form>
        )}
        {consultation.status !== "open" && <p className="muted">{t(`consultations.notOpen.${consultation.status}`)}</p>}
      </section>
      <section className="panel" aria-labelledby="threads-heading">
        <h2 id="threads-heading">{t("consultations.threads")}</h2>
        {comments.isPending ? (
          <Loading />
        ) : comments.isError ? (
          <ErrorMessage error={comments.error} />
        ) : (
          <Threads
            consultation={consultation}
            comments={comments.data.filter((m) => m.section_id === section)}
            staff={staff}
            coordinator={coordinator}
            mayReply={open}
          />
        )}
      </section>
    </div>
  )
}

function InvitePanel({ consultation }: { consultation: Consultation }) {
  const { t, i18n } = useTranslation()
  const invitations = useInvitations(consultation.id, true)
  const invite = useInvite(consultation.id)
  const resend = useResendInvitation(consultation.id)
  const revoke = useRevokeInvitation(consultation.id)
  const registry = useRegistry(consultation.city_id, true)
  const [actor, setActor] = useState("")
  const invitable = (registry.data ?? []).filter((a) => a.email)
  const inviteActor = (event: FormEvent) => {
    event.preventDefault()
    if (actor) invite.mutate([{ actor_id: actor }], { onSuccess: () => setActor("") })
  }
  const [email, setEmail] = useState("")
  const [name, setName] = useState("")
  const [organization, setOrganization] = useState("")
  const [sector, setSector] = useState<Sector>("academia")
  const [locale, setLocale] = useState("")
  const submit = (event: FormEvent) => {
    event.preventDefault()
    invite.mutate([{ email, name, organization, sector, ...(locale ? { locale } : {}) }], {
      onSuccess: () => {
        setEmail("")
        setName("")
        setOrganization("")
        setLocale("")
      },
    })
  }
  return (
    <section className="panel" aria-labelledby="invitations-heading">
      <h2 id="invitations-heading">{t("consultations.invitations")}</h2>
      <form className="inline-form" onSubmit={submit}>
        <Field label={t("consultations.email")} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Field label={t("consultations.name")} required value={name} onChange={(e) => setName(e.target.value)} />
        <Field label={t("consultations.organization")} required value={organization} onChange={(e) => setOrganization(e.target.value)} />
        <SelectField label={t("consultations.sector")} value={sector} onChange={(e) => setSector(e.target.value as Sector)}>
          {SECTORS.map((s) => (
            <option key={s} value={s}>
              {t(`sectors.${s}`)}
            </option>
          ))}
        </SelectField>
        <EmailLanguageField value={locale} onChange={setLocale} fallback={t("common.emailLanguageAccount")} />
        <button type="submit" disabled={invite.isPending}>
          {t("consultations.invite")}
        </button>
        <ErrorMessage error={invite.error} />
      </form>
      {invitable.length > 0 && (
        <form className="inline-form" onSubmit={inviteActor}>
          <SelectField label={t("consultations.fromRegistry")} value={actor} required onChange={(e) => setActor(e.target.value)}>
            <option value="">{t("consultations.pickActor")}</option>
            {invitable.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} · {t(`sectors.${a.sector}`)} · {a.email}
              </option>
            ))}
          </SelectField>
          <button type="submit" disabled={invite.isPending || !actor}>
            {t("consultations.inviteActor")}
          </button>
        </form>
      )}
      {invitations.data && invitations.data.invitations.length > 0 && (
        <ul className="plain-list">
          {invitations.data.invitations.map((i) => (
            <li key={i.id} className={i.state === "withdrawn" ? "invitation-status withdrawn" : "invitation-status"} data-testid={`invitee-${i.email}`}>
              {i.name} · {i.organization} · {t(`sectors.${i.sector}`)} · {i.email}
              {" · "}
              {i.state === "withdrawn" ? (
                <span className="badge invitation-withdrawn">
                  {t("consultations.inviteeWithdrawn", { when: formatInZone(i.withdrawn_at ?? "", consultation.timezone, i18n.language) })}
                </span>
              ) : (
                <span className="muted">{t(i.needs_password ? "consultations.inviteeNoAccount" : "consultations.inviteeHasAccount")}</span>
              )}
              {i.state === "active" && i.delivery && (
                <span className={i.delivery === "failed" ? "error" : "muted"}>
                  {" · "}
                  {t(`invitations.delivery.${i.delivery}`)}
                  {i.delivery_error ? ` (${i.delivery_error})` : ""}
                </span>
              )}{" "}
              {i.state === "withdrawn" ? (
                <button
                  type="button"
                  className="link-button"
                  disabled={invite.isPending}
                  onClick={() => invite.mutate([{ email: i.email, name: i.name, organization: i.organization, sector: i.sector }])}
                >
                  {t("consultations.inviteAgain", { name: i.name })}
                </button>
              ) : (
                <>
                  <button type="button" className="link-button" disabled={resend.isPending || revoke.isPending} onClick={() => resend.mutate(i.id)}>
                    {t("consultations.resendInvitation", { name: i.name })}
                  </button>{" "}
                  <button type="button" className="link-button" disabled={resend.isPending || revoke.isPending} onClick={() => revoke.mutate(i.id)}>
                    {t("consultations.revokeInvitation", { name: i.name })}
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      <ErrorMessage error={resend.error ?? revoke.error} />
    </section>
  )
}

function UnansweredPanel({ consultation, onPick }: { consultation: Consultation; onPick: (section: string) => void }) {
  const { t } = useTranslation()
  const unanswered = useUnanswered(consultation.id, true)
  if (!unanswered.data) return null
  const u = unanswered.data
  return (
    <section className="panel" aria-labelledby="unanswered-heading">
      <h2 id="unanswered-heading">{t("consultations.unanswered", { count: u.unanswered, total: u.comments })}</h2>
      <div className="two-columns">
        <table>
          <caption>{t("consultations.bySection")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("consultations.section")}</th>
              <th scope="col">{t("consultations.waiting")}</th>
            </tr>
          </thead>
          <tbody>
            {u.by_section.map((s) => (
              <tr key={s.section_id}>
                <th scope="row">
                  <button type="button" className="link-button" onClick={() => onPick(s.section_id)}>
                    {s.title}
                  </button>
                </th>
                <td>{s.unanswered}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <table>
          <caption>{t("consultations.byArea")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("consultations.area")}</th>
              <th scope="col">{t("consultations.waiting")}</th>
            </tr>
          </thead>
          <tbody>
            {u.by_area.map((a) => (
              <tr key={a.area_id ?? "none"}>
                <th scope="row">{a.name ?? t("consultations.noArea")}</th>
                <td>{a.unanswered}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}
