import { useQuery } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import type { Strategy } from "../../../lib/strategy"

/** `GET /api/strategies/{id}` (the same cache key as the outline's). */
export function useStrategy(id: string) {
  return useQuery({ queryKey: ["strategies", id], queryFn: () => api<Strategy>("GET", `/api/strategies/${encodeURIComponent(id)}`) })
}
