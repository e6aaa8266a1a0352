import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { EmailLanguageField } from "../../../components/EmailLanguageField"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field, SelectField } from "../../../components/Field"
import { Loading } from "../../../components/Loading"
import { SECTORS, type Sector } from "../../../lib/types"
import { useActors, useCreateActor, useDeleteActor, useUpdateActor, type Actor, type ActorInput } from "../api/actors"

export function ActorsPanel({ city, admin }: { city: string; admin: boolean }) {
  const { t } = useTranslation()
  const actors = useActors(city)
  const remove = useDeleteActor(city)
  const [editing, setEditing] = useState<string | null>(null)
  return (
    <section id="actors" aria-labelledby="actors-heading" className="panel">
      <h2 id="actors-heading">{t("city.actors")}</h2>
      <p className="muted">{t("city.actorsIntro")}</p>
      {actors.isPending ? (
        <Loading />
      ) : actors.isError ? (
        <ErrorMessage error={actors.error} />
      ) : actors.data.length === 0 ? (
        <p>{t("city.noActors")}</p>
      ) : (
        <table>
          <caption className="visually-hidden">{t("city.actors")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("city.actorName")}</th>
              <th scope="col">{t("city.actorSector")}</th>
              <th scope="col">{t("city.actorCountry")}</th>
              <th scope="col">{t("city.actorContact")}</th>
              {admin && <th scope="col">{t("common.actions")}</th>}
            </tr>
          </thead>
          <tbody>
            {actors.data.map((actor) =>
              editing === actor.id ? (
                <tr key={actor.id}>
                  <td colSpan={admin ? 5 : 4}>
                    <ActorForm city={city} actor={actor} onDone={() => setEditing(null)} />
                  </td>
                </tr>
              ) : (
                <tr key={actor.id}>
                  <th scope="row">{actor.name}</th>
                  <td>{t(`sectors.${actor.sector}`)}</td>
                  <td>{actor.country}</td>
                  <td>
                    {actor.email && <a href={`mailto:${actor.email}`}>{actor.email}</a>} {actor.website && <a href={actor.website}>{actor.website}</a>}
                  </td>
                  {admin && (
                    <td className="actions">
                      <button type="button" onClick={() => setEditing(actor.id)}>
                        {t("city.editActor", { name: actor.name })}
                      </button>
                      <button
                        type="button"
                        className="danger"
                        onClick={() => {
                          if (window.confirm(t("city.confirmDeleteActor", { name: actor.name }))) remove.mutate(actor.id)
                        }}
                      >
                        {t("city.deleteActor", { name: actor.name })}
                      </button>
                    </td>
                  )}
                </tr>
              ),
            )}
          </tbody>
        </table>
      )}
      <ErrorMessage error={remove.error} />
      {admin && editing === null && <ActorForm city={city} onDone={() => undefined} />}
    </section>
  )
}

function ActorForm({ city, actor, onDone }: { city: string; actor?: Actor; onDone: () => void }) {
  const { t } = useTranslation()
  const create = useCreateActor(city)
  const update = useUpdateActor(city)
  const empty = { name: "", sector: "academia" as Sector, country: "", email: "", website: "", locale: "" }
  const [form, setForm] = useState(
    actor
      ? { name: actor.name, sector: actor.sector, country: actor.country ?? "", email: actor.email ?? "", website: actor.website ?? "", locale: actor.locale ?? "" }
      : empty,
  )
  const mutation = actor ? update : create
  const submit = (event: FormEvent) => {
    event.preventDefault()
    const input: ActorInput = {
      name: form.name,
      sector: form.sector,
      country: form.country || null,
      email: form.email || null,
      website: form.website || null,
      locale: form.locale || null,
    }
    const done = () => {
      if (!actor) setForm(empty)
      onDone()
    }
    if (actor) update.mutate({ id: actor.id, ...input }, { onSuccess: done })
    else create.mutate(input, { onSuccess: done })
  }
  const heading = actor ? "edit-actor-" + actor.id : "new-actor"
  return (
    <form className="inline-form" onSubmit={submit} aria-labelledby={heading}>
      <h3 id={heading}>{actor ? t("city.editActorTitle", { name: actor.name }) : t("city.newActor")}</h3>
      <Field label={t("city.actorName")} required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
      <SelectField label={t("city.actorSector")} value={form.sector} onChange={(e) => setForm({ ...form, sector: e.target.value as Sector })}>
        {SECTORS.map((sector) => (
          <option key={sector} value={sector}>
            {t(`sectors.${sector}`)}
          </option>
        ))}
      </SelectField>
      <Field label={t("city.actorCountry")} value={form.country} onChange={(e) => setForm({ ...form, country: e.target.value })} />
      <Field label={t("city.actorEmail")} type="email" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
      <Field label={t("city.actorWebsite")} type="url" value={form.website} onChange={(e) => setForm({ ...form, website: e.target.value })} />
      <EmailLanguageField value={form.locale} onChange={(locale) => setForm({ ...form, locale })} fallback={t("common.emailLanguageCity")} />
      <button type="submit" disabled={mutation.isPending}>
        {actor ? t("common.save") : t("city.addActor")}
      </button>
      {actor && (
        <button type="button" onClick={onDone}>
          {t("common.cancel")}
        </button>
      )}
      <ErrorMessage error={mutation.error} />
    </form>
  )
}
