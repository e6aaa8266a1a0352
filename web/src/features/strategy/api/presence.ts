import { useQuery } from "@tanstack/react-query"
import { api } from "../../../lib/api"

export interface PresentPerson {
  user_id: string
  name: string
  access: "read" | "write"
}

export interface StrategyPresence {
  sections: { section_id: string; people: PresentPerson[] }[]
}

/** How often the outline asks who is where. */
export const PRESENCE_POLL_MS = 5_000

/** `GET /api/strategies/{id}/presence`: who is in each section now (polled). */
export function usePresence(strategy: string) {
  return useQuery({
    queryKey: ["strategies", strategy, "presence"],
    queryFn: () => api<StrategyPresence>("GET", `/api/strategies/${encodeURIComponent(strategy)}/presence`),
    refetchInterval: PRESENCE_POLL_MS,
    refetchIntervalInBackground: false,
  })
}
