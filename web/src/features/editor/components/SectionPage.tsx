import { useEffect } from "react"
import { useTranslation } from "react-i18next"
import { Link, useParams } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Loading } from "../../../components/Loading"
import { useAreas } from "../../../lib/areas"
import { useCity } from "../../../lib/cities"
import { applyCityLanguage } from "../../../lib/i18n"
import { useMe } from "../../../lib/me"
import { sectionAccess } from "../../../lib/permissions"
import { useSection } from "../api/section"
import { useSectionHandle } from "../hooks/useSectionHandle"
import { SectionEditor } from "./SectionEditor"
import { loadAutomerge } from "../../../lib/automerge"

// This chunk loads when a section is about to open: fetch and compile automerge's wasm now,
// alongside the REST calls, rather than after them.
void loadAutomerge()

/** One section: its editor (or read-only view, saying why), live with everyone in it. */
export function SectionPage() {
  const { t } = useTranslation()
  const { strategyId = "", sectionId = "" } = useParams()
  const me = useMe()
  const { strategy, section } = useSection(strategyId, sectionId)
  const cityId = strategy.data?.city_id ?? ""
  const city = useCity(cityId, { enabled: !!cityId })
  const areas = useAreas(cityId, { enabled: !!cityId })
  const handle = useSectionHandle(me.data?.id, section?.doc_url)
  useEffect(() => {
    if (city.data) applyCityLanguage(city.data.locale)
  }, [city.data])

  if (strategy.isPending || me.isPending) return <Loading />
  if (strategy.isError) return <ErrorMessage error={strategy.error} />
  if (!section) return <ErrorMessage error={new Error(t("errors.not_found"))} />
  const access = sectionAccess(me.data, cityId, section.area_id)
  const areaName = areas.data?.find((a) => a.id === section.area_id)?.name
  const reason =
    access.kind !== "read"
      ? undefined
      : access.reason === "observer"
        ? t("editor.readOnly.observer")
        : access.reason === "no_area"
          ? t("editor.readOnly.noArea")
          : t("editor.readOnly.otherArea", { area: areaName ?? "…" })

  return (
    <>
      <nav aria-label={t("outline.breadcrumb")} className="breadcrumb">
        {city.data && <Link to={`/cities/${cityId}`}>{city.data.name}</Link>}
        <span aria-hidden="true"> / </span>
        <Link to={`/strategies/${strategyId}`}>{strategy.data.title}</Link>
      </nav>
      <h1>{section.title}</h1>
      <p className="muted">{areaName ? t("outline.area", { area: areaName }) : t("outline.noArea")}</p>
      {access.kind === "none" ? (
        <p role="alert">{t("editor.noAccess")}</p>
      ) : handle.status === "loading" ? (
        <Loading label={t("editor.opening")} />
      ) : handle.status === "unavailable" ? (
        <div role="alert">
          <p>{t("editor.unavailable")}</p>
          <button type="button" onClick={handle.retry}>
            {t("editor.retry")}
          </button>
        </div>
      ) : handle.status === "deleted" ? (
        <p role="alert">{t("editor.deleted")}</p>
      ) : (
        <SectionEditor
          handle={handle.handle}
          page={handle.page}
          writable={access.kind === "write"}
          readOnlyReason={reason}
          label={t("editor.bodyLabel", { title: section.title })}
        />
      )}
    </>
  )
}
