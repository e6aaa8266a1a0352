/** `iso` as a date and time in the IANA zone `zone`, in the language `lang`, the zone named
 * (`27 dic 2026, 18:00 (America/Bogota)`): a city's times read the same wherever the reader
 * is. A zone the browser does not know falls back to UTC. */
export function formatInZone(iso: string, zone: string, lang: string, withTime = true): string {
  const options: Intl.DateTimeFormatOptions = withTime ? { dateStyle: "medium", timeStyle: "short" } : { dateStyle: "medium" }
  try {
    return `${new Intl.DateTimeFormat(lang, { ...options, timeZone: zone }).format(new Date(iso))} (${zone})`
  } catch {
    return `${new Intl.DateTimeFormat(lang, { ...options, timeZone: "UTC" }).format(new Date(iso))} (UTC)`
  }
}

/** The IANA zones this browser knows, for a picker (with `current` among them). */
export function timeZones(current: string): string[] {
  const known = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : []
  const all = new Set(["UTC", ...known, current])
  return [...all].sort((a, b) => (a === "UTC" ? -1 : b === "UTC" ? 1 : a.localeCompare(b)))
}
