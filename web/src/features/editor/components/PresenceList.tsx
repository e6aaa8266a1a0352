import { useTranslation } from "react-i18next"
import { colorFor, type PresenceSnapshot, type RosterEntry } from "../presence"

/** Everyone in the section now, readers too, named by the server. */
export function PresenceList({ snapshot }: { snapshot: PresenceSnapshot | null }) {
  const { t } = useTranslation()
  if (!snapshot) return null
  // One entry per person (several tabs of one person count once; writing wins).
  const people = new Map<string, RosterEntry & { self: boolean }>()
  for (const entry of snapshot.roster) {
    const self = entry.peerId === snapshot.self
    const known = people.get(entry.userId)
    if (!known || (entry.access === "write" && known.access === "read") || self) {
      people.set(entry.userId, { ...entry, self: self || (known?.self ?? false) })
    }
  }
  return (
    <section className="presence-list" aria-labelledby="presence-heading">
      <h2 id="presence-heading">{t("presence.title")}</h2>
      {people.size === 0 ? (
        <p className="muted">{t("presence.unknown")}</p>
      ) : (
        <ul>
          {[...people.values()].map((person) => (
            <li key={person.userId} data-testid="present-person">
              <span className={`swatch ${colorFor(person.userId)}`} aria-hidden="true" />
              {person.self ? t("presence.you", { name: person.name }) : person.name}{" "}
              <span className="muted">({person.access === "write" ? t("presence.editing") : t("presence.reading")})</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
