import { useEffect } from "react"
import { useTranslation } from "react-i18next"
import { Link, useNavigate, useParams } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Loading } from "../../../components/Loading"
import { useCity } from "../../../lib/cities"
import { applyCityLanguage } from "../../../lib/i18n"
import { useMe } from "../../../lib/me"
import { mayAdminister } from "../../../lib/permissions"
import { EMPTY_INDICATOR, useCreateIndicator } from "../api/indicators"
import { useStrategy } from "../api/strategy"
import { IndicatorForm } from "./IndicatorForm"

/** A new indicator from scratch (not from the seed's table): its fields, checked by the
 * server, whose refusal shows at the field it names. */
export function NewIndicatorPage() {
  const { t } = useTranslation()
  const { strategyId = "" } = useParams()
  const navigate = useNavigate()
  const strategy = useStrategy(strategyId)
  const cityId = strategy.data?.city_id ?? ""
  const city = useCity(cityId, { enabled: !!cityId })
  const me = useMe()
  const create = useCreateIndicator(strategyId)
  useEffect(() => {
    if (city.data) applyCityLanguage(city.data.locale)
  }, [city.data])

  if (strategy.isPending || me.isPending) return <Loading />
  if (strategy.isError) return <ErrorMessage error={strategy.error} />
  return (
    <>
      <nav aria-label={t("outline.breadcrumb")} className="breadcrumb">
        {city.data && <Link to={`/cities/${cityId}`}>{city.data.name}</Link>} › <Link to={`/strategies/${strategyId}`}>{strategy.data.title}</Link> ›{" "}
        <Link to={`/strategies/${strategyId}/evaluation`}>{t("evaluation.title")}</Link>
      </nav>
      <h1>{t("evaluation.new.title")}</h1>
      {mayAdminister(me.data, cityId) ? (
        <IndicatorForm
          cityId={cityId}
          initial={EMPTY_INDICATOR}
          submitLabel={t("evaluation.new.create")}
          pending={create.isPending}
          error={create.error}
          onSubmit={(body) => create.mutate(body, { onSuccess: (created) => navigate(`/indicators/${created.id}`) })}
        />
      ) : (
        <p role="alert">{t("errors.forbidden")}</p>
      )}
    </>
  )
}
