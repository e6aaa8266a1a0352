import type { AuditEntry } from "./api/audit"

/** One detail's value as text: a change `{"from","to"}` as "from → to" (only when it changed). */
export function valueText(value: unknown): string | undefined {
  if (value === null || value === undefined || value === "") return undefined
  if (typeof value === "object" && !Array.isArray(value) && "from" in value && "to" in value) {
    const { from, to } = value as { from: unknown; to: unknown }
    if (JSON.stringify(from) === JSON.stringify(to)) return undefined
    return `${from ?? "—"} → ${to ?? "—"}`
  }
  return typeof value === "object" ? JSON.stringify(value) : String(value)
}

/** The details of an entry as a line of text: what changed, in the words of its fields. */
export function detailText(entry: AuditEntry): string {
  return Object.entries(entry.details ?? {})
    .map(([key, value]) => [key, valueText(value)] as const)
    .filter(([, text]) => text !== undefined)
    .map(([key, text]) => `${key}: ${text}`)
    .join(" · ")
}
