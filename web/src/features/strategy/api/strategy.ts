import { useQuery } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import type { Strategy } from "../../../lib/strategy"

export const strategyKey = (id: string) => ["strategies", id] as const

/** `GET /api/strategies/{id}`: the strategy with its sections. */
export function useStrategy(id: string) {
  return useQuery({ queryKey: strategyKey(id), queryFn: () => api<Strategy>("GET", `/api/strategies/${encodeURIComponent(id)}`) })
}
