import { useState } from "react"
import { useTranslation } from "react-i18next"
import { Link, useNavigate, useParams } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Loading } from "../../../components/Loading"
import { useCity } from "../../../lib/cities"
import { useMe } from "../../../lib/me"
import { mayAdminister } from "../../../lib/permissions"
import { useCreateRoundtable, useRoundtables, type Roundtable } from "../api/roundtables"
import { RoundtableForm } from "./RoundtableForm"

/** A roundtable's local date and time, as the browser's language writes it. */
export function useWhen(): (rt: Roundtable) => string {
  const { i18n } = useTranslation()
  return (rt) => {
    const [date, time] = rt.starts_local.split("T")
    const [y, m, d] = date.split("-").map(Number)
    const day = new Intl.DateTimeFormat(i18n.language, { dateStyle: "long", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, d)))
    return `${day} ${time.slice(0, 5)}–${rt.ends_local.slice(11, 16)} (${rt.timezone})`
  }
}

/** The city's roundtables: a month calendar, the list, and (coordinators) a new one. */
export function RoundtablesPage() {
  const { t } = useTranslation()
  const { cityId = "" } = useParams()
  const me = useMe()
  const city = useCity(cityId)
  const list = useRoundtables(cityId)
  const create = useCreateRoundtable(cityId)
  const navigate = useNavigate()
  const when = useWhen()
  const admin = mayAdminister(me.data, cityId)
  if (list.isPending || city.isPending) return <Loading />
  if (list.isError) return <ErrorMessage error={list.error} />
  return (
    <>
      <p>
        <Link to={`/cities/${cityId}`}>{city.data?.name}</Link>
      </p>
      <h1>{t("roundtables.heading")}</h1>
      <p className="muted">{t("roundtables.intro")}</p>
      <Calendar roundtables={list.data} />
      <section className="panel" aria-labelledby="rt-list">
        <h2 id="rt-list">{t("roundtables.list")}</h2>
        {list.data.length === 0 ? (
          <p>{t("roundtables.none")}</p>
        ) : (
          <table>
            <caption className="visually-hidden">{t("roundtables.list")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("roundtables.title")}</th>
                <th scope="col">{t("roundtables.when")}</th>
                <th scope="col">{t("roundtables.status")}</th>
                <th scope="col">{t("roundtables.invitedAccepted")}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((rt) => (
                <tr key={rt.id}>
                  <th scope="row">
                    <Link to={`/roundtables/${rt.id}`}>{rt.title}</Link>
                  </th>
                  <td>{when(rt)}</td>
                  <td>{t(`roundtables.statuses.${rt.status}`)}</td>
                  <td>{t("roundtables.counts", { invited: rt.invited, accepted: rt.accepted })}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {admin && (
        <section className="panel">
          <RoundtableForm
            pending={create.isPending}
            error={create.error}
            onSubmit={(input) => create.mutate(input, { onSuccess: (rt) => navigate(`/roundtables/${rt.id}`) })}
          />
        </section>
      )}
    </>
  )
}

/** A month grid with each roundtable on its (local) day; previous and next month buttons. */
function Calendar({ roundtables }: { roundtables: Roundtable[] }) {
  const { t, i18n } = useTranslation()
  const first = roundtables.find((r) => r.status === "scheduled" && r.ends_at > new Date().toISOString()) ?? roundtables[0]
  const start = first ? first.starts_local.slice(0, 7) : new Date().toISOString().slice(0, 7)
  const [month, setMonth] = useState(start)
  const [y, m] = month.split("-").map(Number)
  const shift = (by: number) => {
    const d = new Date(Date.UTC(y, m - 1 + by, 1))
    setMonth(d.toISOString().slice(0, 7))
  }
  const title = new Intl.DateTimeFormat(i18n.language, { month: "long", year: "numeric", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, 1)))
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate()
  const offset = (new Date(Date.UTC(y, m - 1, 1)).getUTCDay() + 6) % 7
  const weekday = (i: number) => new Intl.DateTimeFormat(i18n.language, { weekday: "short", timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 1 + i)))
  const cells: (number | null)[] = [...Array(offset).fill(null), ...Array.from({ length: days }, (_, i) => i + 1)]
  while (cells.length % 7) cells.push(null)
  const weeks = Array.from({ length: cells.length / 7 }, (_, i) => cells.slice(i * 7, i * 7 + 7))
  const on = (day: number) => roundtables.filter((r) => r.starts_local.slice(0, 10) === `${month}-${String(day).padStart(2, "0")}`)
  return (
    <section className="panel calendar" aria-labelledby="rt-calendar">
      <h2 id="rt-calendar">{t("roundtables.calendar")}</h2>
      <div className="calendar-nav">
        <button type="button" onClick={() => shift(-1)}>
          {t("roundtables.previousMonth")}
        </button>
        <p aria-live="polite">
          <strong>{title}</strong>
        </p>
        <button type="button" onClick={() => shift(1)}>
          {t("roundtables.nextMonth")}
        </button>
      </div>
      <table className="month">
        <caption className="visually-hidden">{title}</caption>
        <thead>
          <tr>
            {Array.from({ length: 7 }, (_, i) => (
              <th scope="col" key={i}>
                {weekday(i)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {weeks.map((week, w) => (
            <tr key={w}>
              {week.map((day, d) => (
                <td key={d}>
                  {day && (
                    <>
                      <span className="day">{day}</span>
                      {on(day).map((rt) => (
                        <Link key={rt.id} to={`/roundtables/${rt.id}`} className={`chip ${rt.status}`}>
                          {rt.starts_local.slice(11, 16)} {rt.title}
                        </Link>
                      ))}
                    </>
                  )}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
