import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { ErrorMessage, useFieldError } from "../../../components/ErrorMessage"
import { Field } from "../../../components/Field"
import type { Roundtable, RoundtableInput } from "../api/roundtables"

/** The zones offered first (the seed's cities); any IANA name may be typed. */
const ZONES = [
  "America/Bogota",
  "America/Mexico_City",
  "America/Lima",
  "America/Guayaquil",
  "America/Asuncion",
  "America/Montevideo",
  "America/Argentina/Buenos_Aires",
  "America/Sao_Paulo",
  "America/Havana",
  "Europe/Madrid",
  "UTC",
]

function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"
  } catch {
    return "UTC"
  }
}

function initial(rt?: Roundtable): Record<keyof RoundtableInput, string> {
  return {
    title: rt?.title ?? "",
    purpose: rt?.purpose ?? "",
    agenda: rt?.agenda ?? "",
    starts_at: rt ? rt.starts_local.slice(0, 16) : "",
    ends_at: rt ? rt.ends_local.slice(0, 16) : "",
    timezone: rt?.timezone ?? browserZone(),
    location: rt?.location ?? "",
    online_url: rt?.online_url ?? "",
    capacity: rt?.capacity ? String(rt.capacity) : "",
    remind_before_minutes: String(rt?.remind_before_minutes ?? 1440),
  }
}

/** Create or edit a roundtable. Times are typed as wall-clock times in the chosen zone. */
export function RoundtableForm({
  roundtable,
  pending,
  error,
  onSubmit,
  onCancel,
}: {
  roundtable?: Roundtable
  pending: boolean
  error: unknown
  onSubmit: (input: RoundtableInput) => void
  onCancel?: () => void
}) {
  const { t } = useTranslation()
  const [form, setForm] = useState(() => initial(roundtable))
  const set = (key: keyof RoundtableInput) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value })
  const fieldErrorText = useFieldError()
  const fieldError = (field: string) => fieldErrorText(error, field)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    onSubmit({
      title: form.title,
      purpose: form.purpose,
      agenda: form.agenda,
      starts_at: form.starts_at,
      ends_at: form.ends_at,
      timezone: form.timezone,
      location: form.location,
      online_url: form.online_url,
      capacity: form.capacity === "" ? null : Number(form.capacity),
      remind_before_minutes: Number(form.remind_before_minutes),
    })
  }
  const heading = roundtable ? "edit-roundtable" : "new-roundtable"
  const fields = ["title", "purpose", "agenda", "starts_at", "ends_at", "timezone", "location", "online_url", "capacity", "remind_before_minutes"]
  return (
    <form className="roundtable-form" onSubmit={submit} aria-labelledby={heading}>
      <h2 id={heading}>{roundtable ? t("roundtables.editTitle") : t("roundtables.new")}</h2>
      <Field label={t("roundtables.title")} required value={form.title} onChange={set("title")} error={fieldError("title")} />
      <div className="field">
        <label htmlFor="rt-purpose">{t("roundtables.purpose")}</label>
        <textarea id="rt-purpose" rows={2} value={form.purpose} onChange={set("purpose")} />
      </div>
      <div className="field">
        <label htmlFor="rt-agenda">{t("roundtables.agenda")}</label>
        <textarea id="rt-agenda" rows={4} value={form.agenda} onChange={set("agenda")} />
      </div>
      <Field label={t("roundtables.startsAt")} type="datetime-local" required value={form.starts_at} onChange={set("starts_at")} error={fieldError("starts_at")} />
      <Field label={t("roundtables.endsAt")} type="datetime-local" required value={form.ends_at} onChange={set("ends_at")} error={fieldError("ends_at")} />
      <Field
        label={t("roundtables.timezone")}
        required
        list="rt-zones"
        value={form.timezone}
        onChange={set("timezone")}
        error={fieldError("timezone")}
        hint={t("roundtables.timezoneHint")}
      />
      <datalist id="rt-zones">
        {ZONES.map((z) => (
          <option key={z} value={z} />
        ))}
      </datalist>
      <Field label={t("roundtables.location")} value={form.location} onChange={set("location")} error={fieldError("location")} />
      <Field label={t("roundtables.onlineUrl")} type="url" value={form.online_url} onChange={set("online_url")} error={fieldError("online_url")} />
      <Field label={t("roundtables.capacity")} type="number" min={1} value={form.capacity} onChange={set("capacity")} error={fieldError("capacity")} />
      <Field
        label={t("roundtables.remindBefore")}
        type="number"
        min={0}
        value={form.remind_before_minutes}
        onChange={set("remind_before_minutes")}
        error={fieldError("remind_before_minutes")}
      />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={pending}>
          {roundtable ? t("common.save") : t("roundtables.create")}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            {t("common.cancel")}
          </button>
        )}
      </div>
      <ErrorMessage error={error} fieldsShown={fields} />
    </form>
  )
}
