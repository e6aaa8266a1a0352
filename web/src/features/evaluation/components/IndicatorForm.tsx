import { useId, useState } from "react"
import { useTranslation } from "react-i18next"
import { ErrorMessage, useFieldError } from "../../../components/ErrorMessage"
import { Field, SelectField } from "../../../components/Field"
import { ApiError } from "../../../lib/api"
import { useAreas } from "../../../lib/areas"
import { DIRECTIONS, FREQUENCIES, LEVELS, UNITS, type IndicatorBody } from "../api/indicators"

interface Props {
  cityId: string
  initial: IndicatorBody
  submitLabel: string
  pending: boolean
  error: unknown
  onSubmit: (body: IndicatorBody) => void
}

/** The indicator's fields, for editing one or making a new one. The server checks them; its
 * refusal shows at the field it names, in the user's language. */
export function IndicatorForm({ cityId, initial, submitLabel, pending, error, onSubmit }: Props) {
  const { t } = useTranslation()
  const fieldError = useFieldError()
  const areas = useAreas(cityId)
  const id = useId()
  const [body, setBody] = useState<IndicatorBody>(initial)
  const [sdg, setSdg] = useState(initial.sdg.join(", "))
  const set = <K extends keyof IndicatorBody>(key: K, value: IndicatorBody[K]) => setBody((b) => ({ ...b, [key]: value }))
  const num = (text: string) => (text.trim() === "" ? null : Number(text))
  const err = (f: string) => fieldError(error, f)
  return (
    <form
      className="indicator-form"
      onSubmit={(e) => {
        e.preventDefault()
        onSubmit({ ...body, sdg: sdg.split(/[,;\s]+/).filter(Boolean) })
      }}
    >
      <Field label={t("evaluation.code")} value={body.code} onChange={(e) => set("code", e.target.value)} error={err("code")} />
      <Field label={t("evaluation.name")} value={body.name} onChange={(e) => set("name", e.target.value)} error={err("name")} />
      <SelectField label={t("evaluation.level")} value={body.level} onChange={(e) => set("level", e.target.value as IndicatorBody["level"])}>
        {LEVELS.map((l) => (
          <option key={l} value={l}>
            {t(`evaluation.levels.${l}`)}
          </option>
        ))}
      </SelectField>
      <Field label={t("evaluation.definition")} value={body.definition} onChange={(e) => set("definition", e.target.value)} error={err("definition")} />
      <Field label={t("evaluation.method")} value={body.method} onChange={(e) => set("method", e.target.value)} error={err("method")} />
      <SelectField label={t("evaluation.unit")} value={body.unit} onChange={(e) => set("unit", e.target.value as IndicatorBody["unit"])}>
        {UNITS.map((u) => (
          <option key={u} value={u}>
            {t(`evaluation.units.${u}`)}
          </option>
        ))}
      </SelectField>
      <Field label={t("evaluation.unitLabel")} value={body.unit_label} onChange={(e) => set("unit_label", e.target.value)} />
      <SelectField label={t("evaluation.direction")} value={body.direction} onChange={(e) => set("direction", e.target.value as IndicatorBody["direction"])}>
        {DIRECTIONS.map((d) => (
          <option key={d} value={d}>
            {t(`evaluation.directions.${d}`)}
          </option>
        ))}
      </SelectField>
      <Field label={t("evaluation.dataSource")} value={body.data_source} onChange={(e) => set("data_source", e.target.value)} />
      <SelectField label={t("evaluation.frequency")} value={body.frequency} onChange={(e) => set("frequency", e.target.value as IndicatorBody["frequency"])}>
        {FREQUENCIES.map((f) => (
          <option key={f} value={f}>
            {t(`evaluation.frequencies.${f}`)}
          </option>
        ))}
      </SelectField>
      <SelectField label={t("evaluation.area")} value={body.area_id ?? ""} onChange={(e) => set("area_id", e.target.value || null)}>
        <option value="">{t("evaluation.noArea")}</option>
        {areas.data?.map((a) => (
          <option key={a.id} value={a.id}>
            {a.name}
          </option>
        ))}
      </SelectField>
      <Field label={t("evaluation.baselineValue")} inputMode="decimal" value={body.baseline_value ?? ""} onChange={(e) => set("baseline_value", num(e.target.value))} error={err("baseline_value")} />
      <Field label={t("evaluation.baselineDate")} type="date" value={body.baseline_date ?? ""} onChange={(e) => set("baseline_date", e.target.value || null)} error={err("baseline_date")} />
      <Field label={t("evaluation.targetValue")} inputMode="decimal" value={body.target_value ?? ""} onChange={(e) => set("target_value", num(e.target.value))} error={err("target_value")} />
      <Field label={t("evaluation.targetDate")} type="date" value={body.target_date ?? ""} onChange={(e) => set("target_date", e.target.value || null)} error={err("target_date")} />
      <Field label={t("evaluation.sdg")} value={sdg} onChange={(e) => setSdg(e.target.value)} hint={t("evaluation.sdgHint")} error={err("sdg")} />
      <div className="field checkbox">
        <input id={`${id}-public`} type="checkbox" checked={body.public} onChange={(e) => set("public", e.target.checked)} />
        <label htmlFor={`${id}-public`}>{t("evaluation.publicLabel")}</label>
      </div>
      <button type="submit" disabled={pending}>
        {submitLabel}
      </button>
      {!!error && !(error instanceof ApiError && error.field) && <ErrorMessage error={error} />}
    </form>
  )
}
