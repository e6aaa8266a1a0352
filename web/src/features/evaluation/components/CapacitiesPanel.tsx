import { useTranslation } from "react-i18next"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { useAreas } from "../../../lib/areas"
import { useMe } from "../../../lib/me"
import { CAPACITY_STATES, useCapacities, useCreateCapacities, useUpdateCapacity, type Capacity } from "../api/capacities"

/** The capacities checklist: state, evidence and responsible area of each capacity. */
export function CapacitiesPanel({ strategy, cityId, admin }: { strategy: string; cityId: string; admin: boolean }) {
  const { t } = useTranslation()
  const list = useCapacities(strategy)
  const create = useCreateCapacities(strategy)
  const update = useUpdateCapacity(strategy)
  const areas = useAreas(cityId, { enabled: !!cityId })
  const me = useMe()
  const myArea = me.data?.memberships.find((m) => m.city_id === cityId && m.role === "editor")?.area_id ?? null
  const mayUpdate = (c: Capacity) => admin || (myArea !== null && c.area_id === myArea)
  return (
    <section aria-labelledby="capacities-h">
      <h2 id="capacities-h">{t("evaluation.capacities.title")}</h2>
      <p className="muted">{t("evaluation.capacities.intro")}</p>
      {list.data && list.data.capacities.length === 0 && admin && (
        <button type="button" onClick={() => create.mutate()} disabled={create.isPending}>
          {t("evaluation.capacities.create")}
        </button>
      )}
      <ErrorMessage error={list.error ?? create.error ?? update.error} />
      {list.data?.groups.map((g) => (
        <div key={g.group} className="capacity-group">
          <h3>
            {t(`evaluation.capacities.groups.${g.group}`)}{" "}
            <span className="muted">{t("evaluation.capacities.count", { done: g.in_place, total: g.total })}</span>
          </h3>
          <ul className="capacities">
            {list.data.capacities
              .filter((c) => c.group === g.group)
              .map((c) => (
                <li key={c.id}>
                  <span className="capacity-name">{c.name}</span>
                  {mayUpdate(c) ? (
                    <>
                      <select
                        aria-label={t("evaluation.capacities.stateOf", { name: c.name })}
                        value={c.state}
                        onChange={(e) => update.mutate({ id: c.id, state: e.target.value as Capacity["state"] })}
                      >
                        {CAPACITY_STATES.map((s) => (
                          <option key={s} value={s}>
                            {t(`evaluation.capacities.states.${s}`)}
                          </option>
                        ))}
                      </select>
                      <input
                        aria-label={t("evaluation.capacities.evidenceOf", { name: c.name })}
                        defaultValue={c.evidence}
                        placeholder={t("evaluation.capacities.evidence")}
                        onBlur={(e) => e.target.value !== c.evidence && update.mutate({ id: c.id, evidence: e.target.value })}
                      />
                    </>
                  ) : (
                    <span>
                      {t(`evaluation.capacities.states.${c.state}`)}
                      {c.evidence ? ` — ${c.evidence}` : ""}
                    </span>
                  )}
                  {admin ? (
                    <select
                      aria-label={t("evaluation.capacities.areaOf", { name: c.name })}
                      value={c.area_id ?? ""}
                      onChange={(e) => update.mutate({ id: c.id, area_id: e.target.value || null })}
                    >
                      <option value="">{t("evaluation.noArea")}</option>
                      {areas.data?.map((a) => (
                        <option key={a.id} value={a.id}>
                          {a.name}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <span className="muted">{areas.data?.find((a) => a.id === c.area_id)?.name ?? t("evaluation.noArea")}</span>
                  )}
                </li>
              ))}
          </ul>
        </div>
      ))}
    </section>
  )
}
