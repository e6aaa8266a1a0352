import { useQuery } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import type { Sector } from "../../../lib/types"

export interface SectorRow {
  sector: Sector
  in_registry: number
  invited: number
  accepted: number
  tentative: number
  declined: number
}

export interface Balance {
  sectors: SectorRow[]
  unrepresented: Sector[]
}

/** `GET /api/roundtables/{id}/balance`: invitees and answers per sector (polled with the
 * status table). */
export function useBalance(roundtable: string) {
  return useQuery({
    queryKey: ["roundtables", roundtable, "balance"] as const,
    queryFn: () => api<Balance>("GET", `/api/roundtables/${roundtable}/balance`),
    refetchInterval: 3000,
  })
}
