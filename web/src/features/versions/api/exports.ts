/** `GET /api/strategies/{id}/export?format=md|html[&version=…]`: links the browser opens. */
export function exportUrl(strategy: string, format: "md" | "html", version?: string): string {
  const query = new URLSearchParams({ format })
  if (version) query.set("version", version)
  return `/api/strategies/${strategy}/export?${query}`
}
