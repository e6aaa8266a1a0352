import { useTranslation } from "react-i18next"
import { Link } from "react-router"
import { useSectionAgreements } from "../api/agreements"

/** The roundtable agreements linked to this section, beside the editor. */
export function SectionAgreements({ section, enabled }: { section: string; enabled: boolean }) {
  const { t, i18n } = useTranslation()
  const agreements = useSectionAgreements(section, enabled)
  if (!agreements.data || agreements.data.length === 0) return null
  const date = (at: string) => new Intl.DateTimeFormat(i18n.language, { dateStyle: "medium" }).format(new Date(at))
  return (
    <aside className="panel agreements-aside" aria-labelledby="section-agreements">
      <h2 id="section-agreements">{t("editor.agreements")}</h2>
      <ul>
        {agreements.data.map((a, i) => (
          <li key={`${a.roundtable_id}-${i}`}>
            {a.text}{" "}
            <span className="muted">
              (<Link to={`/roundtables/${a.roundtable_id}`}>{a.roundtable_title}</Link>, {date(a.held_at)})
            </span>
          </li>
        ))}
      </ul>
    </aside>
  )
}
