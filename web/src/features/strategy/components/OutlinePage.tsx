import { useEffect } from "react"
import { useTranslation } from "react-i18next"
import { Link, useParams } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Loading } from "../../../components/Loading"
import { useAreas } from "../../../lib/areas"
import { useCity } from "../../../lib/cities"
import { applyCityLanguage } from "../../../lib/i18n"
import { useMe } from "../../../lib/me"
import { mayAdminister } from "../../../lib/permissions"
import { SECTION_STATES, type Section, type SectionState } from "../../../lib/strategy"
import { STAGES } from "../../../lib/types"
import { usePresence, type PresentPerson } from "../api/presence"
import { useSetSectionArea } from "../api/sectionArea"
import { useSetSectionState } from "../api/sectionState"
import { useStrategy } from "../api/strategy"

/** The strategy by the seed's three stages: each section's area, state and who is in it. */
export function OutlinePage() {
  const { t } = useTranslation()
  const { strategyId = "" } = useParams()
  const strategy = useStrategy(strategyId)
  const cityId = strategy.data?.city_id ?? ""
  const city = useCity(cityId, { enabled: !!cityId })
  const areas = useAreas(cityId, { enabled: !!cityId })
  const presence = usePresence(strategyId)
  const me = useMe()
  useEffect(() => {
    if (city.data) applyCityLanguage(city.data.locale)
  }, [city.data])
  // From here people open sections: once the outline is up, connect to the server while they
  // read (the layout's warm-up loads the editor's code and automerge's wasm), so that a click
  // waits only for the section's document.
  const user = me.data?.id
  useEffect(() => {
    if (!user) return
    const connect = () => void import("../../../lib/automerge").then((m) => m.pageRepo(user))
    const idle = window.requestIdleCallback?.(connect, { timeout: 3000 })
    if (idle === undefined) {
      const timer = window.setTimeout(connect, 1500)
      return () => window.clearTimeout(timer)
    }
    return () => window.cancelIdleCallback(idle)
  }, [user])

  if (strategy.isPending) return <Loading />
  if (strategy.isError) return <ErrorMessage error={strategy.error} />
  const admin = mayAdminister(me.data, cityId)
  const areaName = (id: string | null) => (id ? (areas.data?.find((a) => a.id === id)?.name ?? "") : "")
  const peopleIn = (section: string): PresentPerson[] => presence.data?.sections.find((s) => s.section_id === section)?.people ?? []
  const approved = strategy.data.approved_version

  return (
    <>
      <nav aria-label={t("outline.breadcrumb")} className="breadcrumb">
        {city.data && <Link to={`/cities/${cityId}`}>{city.data.name}</Link>}
      </nav>
      <h1>{strategy.data.title}</h1>
      <div className="outline-tools">
        {approved ? (
          <p className="approved" data-testid="approved-version">
            {t("outline.approved", { name: approved.name })}
          </p>
        ) : (
          <p className="muted">{t("outline.noApproved")}</p>
        )}
        <Link to={`/strategies/${strategyId}/versions`}>{t("outline.versions")}</Link>
        <Link to={`/strategies/${strategyId}/evaluation`}>{t("outline.evaluation")}</Link>
      </div>
      {STAGES.map((stage, index) => {
        const sections = strategy.data.sections.filter((s) => s.stage === stage).sort((a, b) => a.position - b.position)
        if (sections.length === 0) return null
        return (
          <section key={stage} className="stage" aria-labelledby={`stage-${stage}`}>
            <h2 id={`stage-${stage}`}>
              {t("outline.stageNumber", { number: index + 1 })} {t(`stages.${stage}`)}
            </h2>
            <ol className="sections">
              {sections.map((section) => (
                <SectionRow
                  key={section.id}
                  strategy={strategyId}
                  section={section}
                  area={areaName(section.area_id)}
                  areas={admin ? (areas.data ?? []) : undefined}
                  people={peopleIn(section.id)}
                  admin={admin}
                  approved={!!approved}
                />
              ))}
            </ol>
          </section>
        )
      })}
    </>
  )
}

function SectionRow(props: {
  strategy: string
  section: Section
  area: string
  areas?: { id: string; name: string }[]
  people: PresentPerson[]
  admin: boolean
  approved: boolean
}) {
  const { t } = useTranslation()
  const { strategy, section, area, areas, people, admin, approved } = props
  const setState = useSetSectionState(strategy)
  const setArea = useSetSectionArea(strategy)
  const state: SectionState = section.state ?? "not_started"
  return (
    <li className="section-row">
      <div className="section-main">
        <Link to={`/strategies/${strategy}/sections/${section.id}`} className="section-title">
          {section.title}
        </Link>
        <span className="muted">{area ? t("outline.area", { area }) : t("outline.noArea")}</span>
        {approved && section.changed_since_approved && <span className="badge changed">{t("outline.changedSinceApproved")}</span>}
      </div>
      <div className="section-meta">
        {admin ? (
          <select
            aria-label={t("outline.stateOf", { title: section.title })}
            value={state}
            onChange={(e) => setState.mutate({ section: section.id, state: e.target.value as SectionState })}
          >
            {SECTION_STATES.map((s) => (
              <option key={s} value={s}>
                {t(`sectionStates.${s}`)}
              </option>
            ))}
          </select>
        ) : (
          <span className={`badge state-${state}`}>{t(`sectionStates.${state}`)}</span>
        )}
        {areas && (
          <select
            aria-label={t("outline.areaOf", { title: section.title })}
            value={section.area_id ?? ""}
            onChange={(e) => setArea.mutate({ section: section.id, area: e.target.value || null })}
          >
            <option value="">{t("outline.noArea")}</option>
            {areas.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        )}
        <span className="presence" aria-label={t("outline.presentIn", { title: section.title })}>
          {people.length === 0 ? (
            <span className="muted">{t("outline.nobodyHere")}</span>
          ) : (
            people.map((p) => (
              <span key={p.user_id} className="person-chip">
                {p.name}
                <span className="visually-hidden"> ({t(p.access === "write" ? "presence.editing" : "presence.reading")})</span>
              </span>
            ))
          )}
        </span>
      </div>
      <ErrorMessage error={setState.error ?? setArea.error} />
    </li>
  )
}
