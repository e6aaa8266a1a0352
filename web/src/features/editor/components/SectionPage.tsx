import { Suspense, useEffect, type ComponentProps } from "react"
import { useTranslation } from "react-i18next"
import { Link, useParams } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Loading } from "../../../components/Loading"
import { useAreas } from "../../../lib/areas"
import { useCity } from "../../../lib/cities"
import { applyCityLanguage } from "../../../lib/i18n"
import { useMe } from "../../../lib/me"
import { sectionAccess } from "../../../lib/permissions"
import { preloadable, useChosen } from "../../../lib/preloadable"
import { useSection } from "../api/section"
import { useSectionHandle } from "../hooks/useSectionHandle"
import { SectionAgreements } from "./SectionAgreements"

// The editor and automerge start loading with this page, in parallel with its REST calls
// and the document's sync; by the time the document is here the editor usually is too, and
// then it renders at once (see lib/preloadable).
type EditorProps = ComponentProps<typeof import("./SectionEditor").SectionEditor>
const sectionEditor = preloadable<EditorProps>(() => import("./SectionEditor").then((m) => m.SectionEditor))

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
  // Connect to the server (and load automerge's wasm) as soon as we know who is asking,
  // while the strategy is still on its way.
  useEffect(() => {
    void sectionEditor.preload()
    const user = me.data?.id
    if (user) void import("../../../lib/automerge").then((m) => m.pageRepo(user))
  }, [me.data?.id])
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
      <SectionAgreements section={sectionId} enabled={access.kind !== "none"} />
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
        <Suspense fallback={<Loading label={t("editor.opening")} />}>
          <ChosenEditor
            sectionId={section.id}
            handle={handle.handle}
            page={handle.page}
            writable={access.kind === "write"}
            readOnlyReason={reason}
            label={t("editor.bodyLabel", { title: section.title })}
          />
        </Suspense>
      )}
    </>
  )
}

/** The section editor, rendered directly once its chunk is here. */
function ChosenEditor(props: EditorProps) {
  const SectionEditor = useChosen(sectionEditor)
  return <SectionEditor {...props} />
}
