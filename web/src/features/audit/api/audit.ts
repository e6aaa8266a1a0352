import { useInfiniteQuery } from "@tanstack/react-query"
import { api } from "../../../lib/api"

/** One entry of a city's audit log. */
export interface AuditEntry {
  id: string
  chain: string
  seq: number
  at: string
  city_id: string | null
  actor_id: string | null
  /** The user's email when recorded, `system` or `anonymous`. */
  actor: string
  action: string
  target_kind: string | null
  target_id: string | null
  details: Record<string, unknown>
  prev_hash: string
  hash: string
}

export const PAGE_SIZE = 50

/** `GET /api/cities/{city}/audit?before=&limit=`: newest first, a page at a time. */
export function useCityAudit(city: string) {
  return useInfiniteQuery({
    queryKey: ["cities", city, "audit"],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) => {
      const before = pageParam === undefined ? "" : `&before=${pageParam}`
      return api<AuditEntry[]>("GET", `/api/cities/${city}/audit?limit=${PAGE_SIZE}${before}`)
    },
    getNextPageParam: (last) => (last.length === PAGE_SIZE ? last[last.length - 1].seq : undefined),
  })
}
