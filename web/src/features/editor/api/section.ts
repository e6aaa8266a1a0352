import { useQuery } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import type { Strategy } from "../../../lib/strategy"

/** The section `sectionId` of strategy `strategyId` (from `GET /api/strategies/{id}`, shared
 * with the outline's cache). */
export function useSection(strategyId: string, sectionId: string) {
  const strategy = useQuery({
    queryKey: ["strategies", strategyId],
    queryFn: () => api<Strategy>("GET", `/api/strategies/${encodeURIComponent(strategyId)}`),
  })
  return { strategy, section: strategy.data?.sections.find((s) => s.id === sectionId) }
}
