import { useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { SelectField } from "../../../components/Field"
import { useUpdateCity, type City } from "../../../lib/cities"
import { timeZones } from "../../../lib/time"

/** The city's settings (coordinators): its time zone, in which consultation times are shown
 * and emailed. */
export function SettingsPanel({ city }: { city: City }) {
  const { t } = useTranslation()
  const update = useUpdateCity(city.id)
  const [zone, setZone] = useState(city.timezone)
  const [saved, setSaved] = useState(false)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    setSaved(false)
    update.mutate({ timezone: zone }, { onSuccess: () => setSaved(true) })
  }
  return (
    <section id="settings" aria-labelledby="settings-heading" className="panel">
      <h2 id="settings-heading">{t("city.settings")}</h2>
      <form className="inline-form" onSubmit={submit}>
        <SelectField
          label={t("city.timezone")}
          value={zone}
          onChange={(e) => {
            setZone(e.target.value)
            setSaved(false)
          }}
        >
          {timeZones(city.timezone).map((z) => (
            <option key={z} value={z}>
              {z}
            </option>
          ))}
        </SelectField>
        <button type="submit" disabled={update.isPending || zone === city.timezone}>
          {t("city.saveSettings")}
        </button>
        <p role="status" className="muted">
          {saved ? t("city.settingsSaved") : t("city.timezoneHint")}
        </p>
        <ErrorMessage error={update.error} />
      </form>
    </section>
  )
}
