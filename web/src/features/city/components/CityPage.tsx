import { useEffect } from "react"
import { useTranslation } from "react-i18next"
import { Link, useParams } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Loading } from "../../../components/Loading"
import { applyCityLanguage } from "../../../lib/i18n"
import { mayAdminister, roleIn } from "../../../lib/permissions"
import { useMe } from "../../../lib/me"
import { useCity } from "../../../lib/cities"
import { ActorsPanel } from "./ActorsPanel"
import { AreasPanel } from "./AreasPanel"
import { MembersPanel } from "./MembersPanel"
import { SettingsPanel } from "./SettingsPanel"
import { StrategiesPanel } from "./StrategiesPanel"

/** The city's home: its strategies, government areas, members and external actors. */
export function CityPage() {
  const { t } = useTranslation()
  const { cityId = "" } = useParams()
  const me = useMe()
  const city = useCity(cityId)
  useEffect(() => {
    if (city.data) applyCityLanguage(city.data.locale)
  }, [city.data])
  if (city.isPending) return <Loading />
  if (city.isError) return <ErrorMessage error={city.error} />
  const admin = mayAdminister(me.data, cityId)
  const role = roleIn(me.data, cityId)
  const seesPeople = admin || role === "editor" || role === "observer"
  return (
    <>
      <h1>{city.data.name}</h1>
      <nav aria-label={t("city.sectionsNav")} className="in-page">
        <a href="#strategies">{t("city.strategies")}</a>
        {seesPeople && <a href="#areas">{t("city.areas")}</a>}
        {seesPeople && <a href="#members">{t("city.members")}</a>}
        {seesPeople && <a href="#actors">{t("city.actors")}</a>}
        <Link to={`/cities/${cityId}/consultations`}>{t("city.consultations")}</Link>
        {seesPeople && <Link to={`/cities/${cityId}/baseline`}>{t("city.baseline")}</Link>}
        {seesPeople && <Link to={`/cities/${cityId}/roundtables`}>{t("city.roundtables")}</Link>}
        {admin && <a href="#settings">{t("city.settings")}</a>}
        {admin && <Link to={`/cities/${cityId}/audit`}>{t("city.audit")}</Link>}
        <a href={`/public/${city.data.slug}`}>{t("city.publicPage")}</a>
      </nav>
      <StrategiesPanel city={cityId} admin={admin} />
      {seesPeople && <AreasPanel city={cityId} admin={admin} />}
      {seesPeople && <MembersPanel city={cityId} admin={admin} />}
      {seesPeople && <ActorsPanel city={cityId} admin={admin} />}
      {admin && <SettingsPanel city={city.data} />}
    </>
  )
}
