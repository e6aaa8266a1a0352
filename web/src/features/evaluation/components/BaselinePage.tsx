import { useEffect, useState } from "react"
import { useTranslation } from "react-i18next"
import { Link, useParams } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Field } from "../../../components/Field"
import { Loading } from "../../../components/Loading"
import { useCities, useCity } from "../../../lib/cities"
import { applyCityLanguage } from "../../../lib/i18n"
import { useMe } from "../../../lib/me"
import {
  useAddNetworkCity,
  useComparison,
  useCreateNetwork,
  useCreateQuestionnaire,
  useNetworks,
  useOpenPeriod,
  useQuestionnaires,
  useRespond,
  type Comparison,
  type Network,
  type Questionnaire,
  type Text3,
} from "../api/baseline"

type Lang = keyof Text3

/** A city's baseline questionnaires: answer once a period, compare with the network. */
export function BaselinePage() {
  const { t, i18n } = useTranslation()
  const { cityId = "" } = useParams()
  const city = useCity(cityId)
  const networks = useNetworks()
  useEffect(() => {
    if (city.data) applyCityLanguage(city.data.locale)
  }, [city.data])
  if (networks.isPending || city.isPending) return <Loading />
  if (networks.isError) return <ErrorMessage error={networks.error} />
  const mine = networks.data.filter((n) => n.city_ids.includes(cityId))
  const lang = (["es", "en", "pt"].includes(i18n.language) ? i18n.language : "en") as Lang
  return (
    <>
      <nav aria-label={t("outline.breadcrumb")} className="breadcrumb">
        {city.data && <Link to={`/cities/${cityId}`}>{city.data.name}</Link>}
      </nav>
      <h1>{t("baseline.title")}</h1>
      <p className="muted">{t("baseline.intro")}</p>
      {mine.length === 0 && <p>{t("baseline.noNetwork")}</p>}
      {mine.map((n) => (
        <section key={n.id} aria-labelledby={`network-${n.id}`}>
          <h2 id={`network-${n.id}`}>{n.name}</h2>
          <NetworkQuestionnaires network={n.id} cityId={cityId} lang={lang} />
        </section>
      ))}
    </>
  )
}

function NetworkQuestionnaires({ network, cityId, lang }: { network: string; cityId: string; lang: Lang }) {
  const { t } = useTranslation()
  const list = useQuestionnaires(network)
  if (list.isPending) return <Loading />
  if (list.isError) return <ErrorMessage error={list.error} />
  if (list.data.length === 0) return <p>{t("baseline.noQuestionnaire")}</p>
  return (
    <>
      {list.data.map((q) => (
        <QuestionnaireView key={q.id} questionnaire={q} cityId={cityId} lang={lang} />
      ))}
    </>
  )
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "—" : String(Math.round(v * 100) / 100))

function QuestionnaireView({ questionnaire, cityId, lang }: { questionnaire: Questionnaire; cityId: string; lang: Lang }) {
  const { t } = useTranslation()
  const me = useMe()
  const comparison = useComparison(questionnaire.id, cityId)
  const respond = useRespond(questionnaire.id, cityId)
  // The city's coordinator answers (network admins administer every city, but answer for none).
  const may = !!me.data?.memberships.some((m) => m.city_id === cityId && m.role === "coordinator")
  const [answers, setAnswers] = useState<Record<string, string>>({})
  const [shared, setShared] = useState<boolean | null>(null)
  const data: Comparison | undefined = comparison.data
  const own = (key: string) => data?.questions.find((q) => q.question.key === key)?.own
  const sharedNow = shared ?? data?.own_shared ?? false
  return (
    <article className="questionnaire">
      <h3>
        {questionnaire.title} · {t("baseline.period", { period: questionnaire.period })}
      </h3>
      {data && <p>{t("baseline.respondents", { count: data.respondents })}</p>}
      <ErrorMessage error={comparison.error} />
      <form
        onSubmit={(e) => {
          e.preventDefault()
          const body: Record<string, number> = {}
          for (const q of questionnaire.questions) body[q.key] = Number(answers[q.key] ?? own(q.key) ?? "")
          respond.mutate({ answers: body, shared: sharedNow })
        }}
      >
        <table className="baseline">
          <caption>{t("baseline.comparison")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("baseline.question")}</th>
              <th scope="col">{t("baseline.yours")}</th>
              <th scope="col">{t("baseline.median")}</th>
              <th scope="col">{t("baseline.quartiles")}</th>
              <th scope="col">{t("baseline.shared")}</th>
            </tr>
          </thead>
          <tbody>
            {questionnaire.questions.map((q) => {
              const row = data?.questions.find((x) => x.question.id === q.id)
              return (
                <tr key={q.id}>
                  <th scope="row">{q.text[lang] || q.text.en}</th>
                  <td>
                    {may ? (
                      <input
                        aria-label={t("baseline.answerTo", { question: q.text[lang] || q.text.en })}
                        inputMode="decimal"
                        size={5}
                        value={answers[q.key] ?? (row?.own ?? "").toString()}
                        onChange={(e) => setAnswers((a) => ({ ...a, [q.key]: e.target.value }))}
                        required
                      />
                    ) : (
                      fmt(row?.own)
                    )}
                    <span className="muted"> {t(`baseline.kinds.${q.kind}`)}</span>
                  </td>
                  <td>{row?.spread ? fmt(row.spread.median) : t("baseline.tooFew")}</td>
                  <td>{row?.spread ? `${fmt(row.spread.q1)} – ${fmt(row.spread.q3)}` : "—"}</td>
                  <td>{row && row.others.length > 0 ? row.others.map((o) => `${o.city_name}: ${fmt(o.value)}`).join("; ") : "—"}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
        {may && (
          <>
            <div className="field checkbox">
              <input id={`share-${questionnaire.id}`} type="checkbox" checked={sharedNow} onChange={(e) => setShared(e.target.checked)} />
              <label htmlFor={`share-${questionnaire.id}`}>{t("baseline.share")}</label>
            </div>
            <button type="submit" disabled={respond.isPending}>
              {t("baseline.submit")}
            </button>
            {respond.isSuccess && <p role="status">{t("baseline.saved")}</p>}
            <ErrorMessage error={respond.error} />
          </>
        )}
      </form>
    </article>
  )
}

/** Network administrators: networks, their member cities and questionnaires. */
export function NetworksPage() {
  const { t } = useTranslation()
  const networks = useNetworks()
  const [name, setName] = useState("")
  const [slug, setSlug] = useState("")
  const me = useMe()
  const create = useCreateNetwork()
  if (networks.isPending) return <Loading />
  if (networks.isError) return <ErrorMessage error={networks.error} />
  return (
    <>
      <h1>{t("baseline.networks")}</h1>
      {me.data?.network_admin && (
        <form
          onSubmit={(e) => {
            e.preventDefault()
            create.mutate({ name, slug })
          }}
        >
          <Field label={t("baseline.networkName")} value={name} onChange={(e) => setName(e.target.value)} required />
          <Field label={t("baseline.networkSlug")} value={slug} onChange={(e) => setSlug(e.target.value)} required />
          <button type="submit">{t("baseline.createNetwork")}</button>
          <ErrorMessage error={create.error} />
        </form>
      )}
      {networks.data.map((n) => (
        <NetworkAdmin key={n.id} network={n} />
      ))}
    </>
  )
}

function NetworkAdmin({ network }: { network: Network }) {
  const { t } = useTranslation()
  const cities = useCities()
  const add = useAddNetworkCity(network.id)
  const list = useQuestionnaires(network.id)
  const createQ = useCreateQuestionnaire(network.id)
  const [city, setCity] = useState("")
  const [title, setTitle] = useState("")
  const [period, setPeriod] = useState(String(new Date().getFullYear()))
  const name = (id: string) => cities.data?.find((c) => c.id === id)?.name ?? id
  return (
    <section aria-labelledby={`admin-${network.id}`}>
      <h2 id={`admin-${network.id}`}>{network.name}</h2>
      <p>
        {t("baseline.members")}: {network.city_ids.map(name).join(", ") || "—"}
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (city) add.mutate(city)
        }}
      >
        <label htmlFor={`add-${network.id}`}>{t("baseline.addCity")}</label>
        <select id={`add-${network.id}`} value={city} onChange={(e) => setCity(e.target.value)}>
          <option value="">—</option>
          {cities.data
            ?.filter((c) => !network.city_ids.includes(c.id))
            .map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
        </select>
        <button type="submit">{t("baseline.add")}</button>
        <ErrorMessage error={add.error} />
      </form>
      <h3>{t("baseline.questionnaires")}</h3>
      <ul>
        {list.data?.map((q) => (
          <QuestionnaireAdmin key={q.id} network={network.id} questionnaire={q} />
        ))}
      </ul>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          createQ.mutate({ title, period })
        }}
      >
        <Field label={t("baseline.questionnaireTitle")} value={title} onChange={(e) => setTitle(e.target.value)} required />
        <Field label={t("baseline.periodLabel")} value={period} onChange={(e) => setPeriod(e.target.value)} required />
        <button type="submit">{t("baseline.createQuestionnaire")}</button>
        <ErrorMessage error={createQ.error} />
      </form>
    </section>
  )
}

function QuestionnaireAdmin({ network, questionnaire }: { network: string; questionnaire: Questionnaire }) {
  const { t } = useTranslation()
  const open = useOpenPeriod(network, questionnaire.id)
  const [period, setPeriod] = useState("")
  return (
    <li>
      {questionnaire.title} · {t("baseline.period", { period: questionnaire.period })} · {t("baseline.questionCount", { count: questionnaire.questions.length })}
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault()
          open.mutate(period)
        }}
      >
        <Field label={t("baseline.openPeriod")} value={period} onChange={(e) => setPeriod(e.target.value)} required />
        <button type="submit">{t("baseline.open")}</button>
        <ErrorMessage error={open.error} />
      </form>
    </li>
  )
}
