import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field, SelectField } from "../../../components/Field"
import { Loading } from "../../../components/Loading"
import { ROLES, type Role } from "../../../lib/types"
import { useAreas, type Area } from "../../../lib/areas"
import { useInvitations, useResendInvitation, useRevokeInvitation, type AccountInvitation } from "../api/invitations"
import { useCreateMember, useMembers, useRemoveMember, useUpdateMember, type Member } from "../api/members"

export function MembersPanel({ city, admin }: { city: string; admin: boolean }) {
  const { t } = useTranslation()
  const members = useMembers(city)
  const areas = useAreas(city)
  const update = useUpdateMember(city)
  const remove = useRemoveMember(city)
  const invitations = useInvitations(city, admin)
  const resend = useResendInvitation(city)
  const revoke = useRevokeInvitation(city)
  const invitationOf = (member: Member) => invitations.data?.find((i) => i.member_id === member.id)
  const areaName = (id: string | null) => areas.data?.find((a) => a.id === id)?.name ?? t("city.noArea")
  return (
    <section id="members" aria-labelledby="members-heading" className="panel">
      <h2 id="members-heading">{t("city.members")}</h2>
      {members.isPending ? (
        <Loading />
      ) : members.isError ? (
        <ErrorMessage error={members.error} />
      ) : (
        <table>
          <caption className="visually-hidden">{t("city.members")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("city.memberName")}</th>
              <th scope="col">{t("city.memberEmail")}</th>
              <th scope="col">{t("city.memberRole")}</th>
              <th scope="col">{t("city.memberArea")}</th>
              {admin && <th scope="col">{t("invitations.column")}</th>}
              {admin && <th scope="col">{t("common.actions")}</th>}
            </tr>
          </thead>
          <tbody>
            {members.data.map((member) => (
              <tr key={member.id}>
                <th scope="row">{member.name}</th>
                <td>{member.email}</td>
                <td>
                  {admin ? (
                    <select
                      aria-label={t("city.roleOf", { name: member.name })}
                      value={member.role}
                      onChange={(e) => update.mutate({ id: member.id, role: e.target.value as Role })}
                    >
                      {ROLES.map((role) => (
                        <option key={role} value={role}>
                          {t(`roles.${role}`)}
                        </option>
                      ))}
                    </select>
                  ) : (
                    t(`roles.${member.role}`)
                  )}
                </td>
                <td>
                  {admin ? (
                    <AreaSelect member={member} areas={areas.data ?? []} onChange={(area_id) => update.mutate({ id: member.id, area_id })} />
                  ) : (
                    areaName(member.area_id)
                  )}
                </td>
                {admin && (
                  <td>
                    <InvitationStatus
                      member={member}
                      invitation={invitationOf(member)}
                      onResend={(id) => resend.mutate(id)}
                      onRevoke={(id) => revoke.mutate(id)}
                      busy={resend.isPending || revoke.isPending}
                    />
                  </td>
                )}
                {admin && (
                  <td>
                    <button
                      type="button"
                      className="danger"
                      onClick={() => {
                        if (window.confirm(t("city.confirmRemove", { name: member.name }))) remove.mutate(member.id)
                      }}
                    >
                      {t("city.removeMember", { name: member.name })}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorMessage error={update.error ?? remove.error ?? resend.error ?? revoke.error} />
      {admin && <AddMember city={city} areas={areas.data ?? []} />}
    </section>
  )
}

/** A member's account invitation: its state, its email's delivery (with the server's reason when
 * it failed), and resend / revoke. Members who had an account when added show "has an account". */
function InvitationStatus({
  member,
  invitation,
  onResend,
  onRevoke,
  busy,
}: {
  member: Member
  invitation: AccountInvitation | undefined
  onResend: (id: string) => void
  onRevoke: (id: string) => void
  busy: boolean
}) {
  const { t } = useTranslation()
  if (!invitation) return <span className="muted">{t("invitations.none")}</span>
  return (
    <div className="invitation-status" data-testid={`invitation-${member.email}`}>
      <span>{t(`invitations.state.${invitation.state}`)}</span>
      {invitation.state !== "accepted" && invitation.delivery && (
        <span className={invitation.delivery === "failed" ? "error" : "muted"}>
          {" · "}
          {t(`invitations.delivery.${invitation.delivery}`)}
          {invitation.delivery_error ? ` (${invitation.delivery_error})` : ""}
        </span>
      )}
      {invitation.state !== "accepted" && (
        <span className="invitation-actions">
          {" "}
          <button type="button" className="link-button" disabled={busy} onClick={() => onResend(invitation.id)}>
            {t("invitations.resend", { name: member.name })}
          </button>
          {invitation.state === "pending" && (
            <>
              {" "}
              <button type="button" className="link-button" disabled={busy} onClick={() => onRevoke(invitation.id)}>
                {t("invitations.revoke", { name: member.name })}
              </button>
            </>
          )}
        </span>
      )}
    </div>
  )
}

function AreaSelect({ member, areas, onChange }: { member: Member; areas: Area[]; onChange: (area: string | null) => void }) {
  const { t } = useTranslation()
  return (
    <select aria-label={t("city.areaOf", { name: member.name })} value={member.area_id ?? ""} onChange={(e) => onChange(e.target.value || null)}>
      <option value="">{t("city.noArea")}</option>
      {areas.map((area) => (
        <option key={area.id} value={area.id}>
          {area.name}
        </option>
      ))}
    </select>
  )
}

function AddMember({ city, areas }: { city: string; areas: Area[] }) {
  const { t } = useTranslation()
  const create = useCreateMember(city)
  const [form, setForm] = useState({ name: "", email: "", role: "editor" as Role, area_id: "" })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate(
      { name: form.name, email: form.email, role: form.role, area_id: form.area_id || null },
      { onSuccess: () => setForm({ ...form, name: "", email: "" }) },
    )
  }
  return (
    <form className="inline-form" onSubmit={submit} aria-labelledby="new-member">
      <h3 id="new-member">{t("city.newMember")}</h3>
      <Field label={t("city.memberName")} required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
      <Field label={t("city.memberEmail")} type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
      <SelectField label={t("city.memberRole")} value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
        {ROLES.map((role) => (
          <option key={role} value={role}>
            {t(`roles.${role}`)}
          </option>
        ))}
      </SelectField>
      <SelectField label={t("city.memberArea")} value={form.area_id} onChange={(e) => setForm({ ...form, area_id: e.target.value })}>
        <option value="">{t("city.noArea")}</option>
        {areas.map((area) => (
          <option key={area.id} value={area.id}>
            {area.name}
          </option>
        ))}
      </SelectField>
      <button type="submit" disabled={create.isPending}>
        {t("city.addMember")}
      </button>
      <ErrorMessage error={create.error} />
    </form>
  )
}
