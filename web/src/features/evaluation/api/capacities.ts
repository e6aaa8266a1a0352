import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"

export type CapacityState = "not_started" | "in_progress" | "in_place"
export const CAPACITY_STATES: readonly CapacityState[] = ["not_started", "in_progress", "in_place"]
export type CapacityGroup = "institutional" | "operational" | "human"

export interface Capacity {
  id: string
  key: string
  group: CapacityGroup
  name: string
  state: CapacityState
  evidence: string
  area_id: string | null
  position: number
  updated_at: string
}

export interface Checklist {
  capacities: Capacity[]
  groups: { group: CapacityGroup; section_key: string; total: number; not_started: number; in_progress: number; in_place: number }[]
}

export const capacitiesKey = (strategy: string) => ["strategies", strategy, "capacities"] as const

/** `GET /api/strategies/{id}/capacities`. */
export function useCapacities(strategy: string) {
  return useQuery({ queryKey: capacitiesKey(strategy), queryFn: () => api<Checklist>("GET", `/api/strategies/${strategy}/capacities`) })
}

/** `POST /api/strategies/{id}/capacities/template`. */
export function useCreateCapacities(strategy: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: () => api<Checklist>("POST", `/api/strategies/${strategy}/capacities/template`),
    onSuccess: () => client.invalidateQueries({ queryKey: capacitiesKey(strategy) }),
  })
}

/** `PATCH /api/capacities/{id}`. */
export function useUpdateCapacity(strategy: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (input: { id: string; state?: CapacityState; evidence?: string; area_id?: string | null }) => {
      const { id, ...body } = input
      return api<Capacity>("PATCH", `/api/capacities/${id}`, body)
    },
    onSuccess: () => client.invalidateQueries({ queryKey: capacitiesKey(strategy) }),
  })
}
