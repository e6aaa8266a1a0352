import { Suspense, useEffect, useState, type ComponentProps, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { Link, useParams } from "react-router"
import { EmailLanguageField } from "../../../components/EmailLanguageField"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field, SelectField } from "../../../components/Field"
import { Loading } from "../../../components/Loading"
import { useMe } from "../../../lib/me"
import { mayAdminister, roleIn } from "../../../lib/permissions"
import { SECTORS, type Sector } from "../../../lib/types"
import { useRegistry } from "../api/actors"
import { useBalance } from "../api/balance"
import { useInvitations, useInvite, useResend, type Invitee } from "../api/invitations"
import { useCancelRoundtable, useCloseRoundtable, useRoundtable, useUpdateRoundtable, type Roundtable } from "../api/roundtables"
import { RoundtableForm } from "./RoundtableForm"
import { useWhen } from "./RoundtablesPage"
import { preloadable, useChosen } from "../../../lib/preloadable"

// The minutes editor brings automerge (and its wasm): loaded only when the page shows it.
// Loaded with the page, rendered at once when here (see lib/preloadable).
type MinutesProps = ComponentProps<typeof import("./MinutesEditor").MinutesEditor>
const minutesEditor = preloadable<MinutesProps>(() => import("./MinutesEditor").then((m) => m.MinutesEditor))

function ChosenMinutes(props: MinutesProps) {
  const MinutesEditor = useChosen(minutesEditor)
  return <MinutesEditor {...props} />
}

/** One roundtable: details, invitations with delivery and answers, the sector balance and
 * the live minutes. */
export function RoundtablePage() {
  const { t } = useTranslation()
  const { roundtableId = "" } = useParams()
  const me = useMe()
  const rt = useRoundtable(roundtableId)
  useEffect(() => void minutesEditor.preload(), [])
  if (rt.isPending || me.isPending) return <Loading />
  if (rt.isError) return <ErrorMessage error={rt.error} />
  const admin = mayAdminister(me.data, rt.data.city_id)
  const role = roleIn(me.data, rt.data.city_id)
  const writesMinutes = rt.data.status === "scheduled" && (role === "coordinator" || role === "editor")
  return (
    <>
      <p>
        <Link to={`/cities/${rt.data.city_id}/roundtables`}>{t("roundtables.heading")}</Link>
      </p>
      <Details rt={rt.data} admin={admin} />
      <StatusTable rt={rt.data} admin={admin} />
      <BalancePanel rt={rt.data} />
      {admin && rt.data.status === "scheduled" && <InvitePanel rt={rt.data} />}
      {rt.data.minutes_url && me.data && (
        <section className="panel" aria-labelledby="minutes-heading">
          <h2 id="minutes-heading">{t("roundtables.minutes")}</h2>
          <Suspense fallback={<Loading />}>
            <ChosenMinutes user={me.data.id} url={rt.data.minutes_url} city={rt.data.city_id} writable={writesMinutes} />
          </Suspense>
        </section>
      )}
    </>
  )
}

function Details({ rt, admin }: { rt: Roundtable; admin: boolean }) {
  const { t } = useTranslation()
  const when = useWhen()
  const update = useUpdateRoundtable(rt)
  const cancel = useCancelRoundtable(rt)
  const close = useCloseRoundtable(rt)
  const [editing, setEditing] = useState(false)
  if (editing) {
    return (
      <section className="panel">
        <RoundtableForm
          roundtable={rt}
          pending={update.isPending}
          error={update.error}
          onSubmit={(input) => update.mutate(input, { onSuccess: () => setEditing(false) })}
          onCancel={() => setEditing(false)}
        />
      </section>
    )
  }
  return (
    <section aria-labelledby="rt-title">
      <h1 id="rt-title">{rt.title}</h1>
      <p>
        <span className={`badge ${rt.status}`}>{t(`roundtables.statuses.${rt.status}`)}</span>
      </p>
      <dl className="details">
        <dt>{t("roundtables.when")}</dt>
        <dd>{when(rt)}</dd>
        {rt.location && (
          <>
            <dt>{t("roundtables.location")}</dt>
            <dd>{rt.location}</dd>
          </>
        )}
        {rt.online_url && (
          <>
            <dt>{t("roundtables.onlineUrl")}</dt>
            <dd>
              <a href={rt.online_url} rel="noopener noreferrer">
                {rt.online_url}
              </a>
            </dd>
          </>
        )}
        {rt.capacity !== null && (
          <>
            <dt>{t("roundtables.capacity")}</dt>
            <dd>{rt.capacity}</dd>
          </>
        )}
        {rt.purpose && (
          <>
            <dt>{t("roundtables.purpose")}</dt>
            <dd className="pre">{rt.purpose}</dd>
          </>
        )}
        {rt.agenda && (
          <>
            <dt>{t("roundtables.agenda")}</dt>
            <dd className="pre">{rt.agenda}</dd>
          </>
        )}
      </dl>
      {admin && rt.status === "scheduled" && (
        <div className="form-actions">
          <button type="button" onClick={() => setEditing(true)}>
            {t("roundtables.edit")}
          </button>
          <button
            type="button"
            onClick={() => {
              if (window.confirm(t("roundtables.confirmClose"))) close.mutate(undefined)
            }}
          >
            {t("roundtables.close")}
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => {
              if (window.confirm(t("roundtables.confirmCancel"))) cancel.mutate(undefined)
            }}
          >
            {t("roundtables.cancel")}
          </button>
        </div>
      )}
      <ErrorMessage error={cancel.error ?? close.error} />
    </section>
  )
}

function StatusTable({ rt, admin }: { rt: Roundtable; admin: boolean }) {
  const { t } = useTranslation()
  const invitations = useInvitations(rt.id)
  const resend = useResend(rt.id)
  return (
    <section className="panel" aria-labelledby="status-heading">
      <h2 id="status-heading">{t("roundtables.invitations")}</h2>
      {invitations.isPending ? (
        <Loading />
      ) : invitations.isError ? (
        <ErrorMessage error={invitations.error} />
      ) : invitations.data.length === 0 ? (
        <p>{t("roundtables.noInvitations")}</p>
      ) : (
        <table className="status-table">
          <caption className="visually-hidden">{t("roundtables.invitations")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("roundtables.invitee")}</th>
              <th scope="col">{t("roundtables.organization")}</th>
              <th scope="col">{t("roundtables.sector")}</th>
              <th scope="col">{t("roundtables.delivery")}</th>
              <th scope="col">{t("roundtables.rsvp")}</th>
              {admin && rt.status === "scheduled" && <th scope="col">{t("common.actions")}</th>}
            </tr>
          </thead>
          <tbody>
            {invitations.data.map((i) => (
              <tr key={i.id}>
                <th scope="row">
                  {i.name} <span className="muted">{i.email}</span>
                </th>
                <td>{i.organization}</td>
                <td>{i.sector ? t(`sectors.${i.sector}`) : ""}</td>
                <td>
                  <span className={`badge delivery-${i.delivery ?? "none"}`}>{t(`roundtables.deliveries.${i.delivery ?? "none"}`)}</span>
                  {i.delivery_error && <span className="muted"> {i.delivery_error}</span>}
                </td>
                <td>
                  <span className={`badge rsvp-${i.rsvp}`}>{t(`roundtables.answers.${i.rsvp}`)}</span>
                </td>
                {admin && rt.status === "scheduled" && (
                  <td className="actions">
                    <button type="button" onClick={() => resend.mutate(i.id)} disabled={resend.isPending}>
                      {t("roundtables.resend", { name: i.name })}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorMessage error={resend.error} />
    </section>
  )
}

function BalancePanel({ rt }: { rt: Roundtable }) {
  const { t } = useTranslation()
  const balance = useBalance(rt.id)
  if (balance.isPending) return <Loading />
  if (balance.isError) return <ErrorMessage error={balance.error} />
  return (
    <section className="panel" aria-labelledby="balance-heading">
      <h2 id="balance-heading">{t("roundtables.balance")}</h2>
      {balance.data.unrepresented.length > 0 && (
        <p className="warning" role="status">
          {t("roundtables.unrepresented", { sectors: balance.data.unrepresented.map((s) => t(`sectors.${s}`)).join(", ") })}
        </p>
      )}
      <table className="balance">
        <caption className="visually-hidden">{t("roundtables.balance")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("roundtables.sector")}</th>
            <th scope="col">{t("roundtables.inRegistry")}</th>
            <th scope="col">{t("roundtables.invitedCount")}</th>
            <th scope="col">{t("roundtables.acceptedCount")}</th>
            <th scope="col">{t("roundtables.tentativeCount")}</th>
            <th scope="col">{t("roundtables.declinedCount")}</th>
          </tr>
        </thead>
        <tbody>
          {balance.data.sectors.map((row) => (
            <tr key={row.sector}>
              <th scope="row">{t(`sectors.${row.sector}`)}</th>
              <td>{row.in_registry}</td>
              <td>{row.invited}</td>
              <td>{row.accepted}</td>
              <td>{row.tentative}</td>
              <td>{row.declined}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

function InvitePanel({ rt }: { rt: Roundtable }) {
  const { t } = useTranslation()
  const registry = useRegistry(rt.city_id)
  const invitations = useInvitations(rt.id)
  const invite = useInvite(rt.id)
  const [chosen, setChosen] = useState<string[]>([])
  const empty = { email: "", name: "", organization: "", sector: "" as Sector | "", locale: "" }
  const [person, setPerson] = useState(empty)
  const invitedActors = new Set((invitations.data ?? []).map((i) => i.actor_id))
  const fromRegistry = (event: FormEvent) => {
    event.preventDefault()
    const invitees: Invitee[] = chosen.map((actor_id) => ({ actor_id }))
    invite.mutate(invitees, { onSuccess: () => setChosen([]) })
  }
  const byAddress = (event: FormEvent) => {
    event.preventDefault()
    const { locale, ...rest } = person
    invite.mutate([locale ? { ...rest, locale } : rest], { onSuccess: () => setPerson(empty) })
  }
  return (
    <section className="panel" aria-labelledby="invite-heading">
      <h2 id="invite-heading">{t("roundtables.invite")}</h2>
      <form onSubmit={fromRegistry} aria-labelledby="invite-registry">
        <fieldset>
          <legend id="invite-registry">{t("roundtables.fromRegistry")}</legend>
          {registry.isPending ? (
            <Loading />
          ) : registry.isError ? (
            <ErrorMessage error={registry.error} />
          ) : registry.data.length === 0 ? (
            <p>{t("roundtables.registryEmpty")}</p>
          ) : (
            <ul className="checklist">
              {registry.data.map((a) => (
                <li key={a.id}>
                  <label>
                    <input
                      type="checkbox"
                      checked={chosen.includes(a.id) || invitedActors.has(a.id)}
                      disabled={invitedActors.has(a.id) || !a.email}
                      onChange={(e) => setChosen(e.target.checked ? [...chosen, a.id] : chosen.filter((c) => c !== a.id))}
                    />{" "}
                    {a.name} <span className="muted">({t(`sectors.${a.sector}`)}{a.email ? `, ${a.email}` : `, ${t("roundtables.noAddress")}`})</span>
                  </label>
                </li>
              ))}
            </ul>
          )}
          <button type="submit" className="primary" disabled={chosen.length === 0 || invite.isPending}>
            {t("roundtables.inviteChosen", { count: chosen.length })}
          </button>
        </fieldset>
      </form>
      <form className="inline-form" onSubmit={byAddress} aria-labelledby="invite-address">
        <h3 id="invite-address">{t("roundtables.byAddress")}</h3>
        <Field label={t("roundtables.email")} type="email" required value={person.email} onChange={(e) => setPerson({ ...person, email: e.target.value })} />
        <Field label={t("roundtables.name")} required value={person.name} onChange={(e) => setPerson({ ...person, name: e.target.value })} />
        <Field label={t("roundtables.organization")} value={person.organization} onChange={(e) => setPerson({ ...person, organization: e.target.value })} />
        <SelectField label={t("roundtables.sector")} value={person.sector} onChange={(e) => setPerson({ ...person, sector: e.target.value as Sector | "" })}>
          <option value="">{t("roundtables.noSector")}</option>
          {SECTORS.map((s) => (
            <option key={s} value={s}>
              {t(`sectors.${s}`)}
            </option>
          ))}
        </SelectField>
        <EmailLanguageField value={person.locale} onChange={(locale) => setPerson({ ...person, locale })} fallback={t("common.emailLanguageAccount")} />
        <button type="submit" disabled={invite.isPending}>
          {t("roundtables.invitePerson")}
        </button>
      </form>
      <ErrorMessage error={invite.error} />
    </section>
  )
}
