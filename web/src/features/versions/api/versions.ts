import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"

export interface VersionSection {
  section_id: string
  doc_url: string
  /** Hex change hashes: the section's heads when the version was named. */
  heads: string[]
}

export interface Version {
  id: string
  strategy_id: string
  name: string
  created_at: string
  created_by: { id: string; name: string } | null
  approved_at: string | null
  approved_by: { id: string; name: string } | null
  sections: VersionSection[]
}

export const versionsKey = (strategy: string) => ["strategies", strategy, "versions"] as const
export const versionKey = (id: string) => ["versions", id] as const

/** `GET /api/strategies/{id}/versions`. */
export function useVersions(strategy: string) {
  return useQuery({ queryKey: versionsKey(strategy), queryFn: () => api<Version[]>("GET", `/api/strategies/${strategy}/versions`) })
}

/** `GET /api/versions/{id}`. */
export function useVersion(id: string) {
  return useQuery({ queryKey: versionKey(id), queryFn: () => api<Version>("GET", `/api/versions/${id}`) })
}

/** `POST /api/strategies/{id}/versions {"name"}`: records every section's heads now. */
export function useCreateVersion(strategy: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (name: string) => api<Version>("POST", `/api/strategies/${strategy}/versions`, { name }),
    onSuccess: () => client.invalidateQueries({ queryKey: versionsKey(strategy) }),
  })
}

/** `POST /api/versions/{id}/approve` (coordinators): the outline shows it as approved. */
export function useApproveVersion(strategy: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => api<Version>("POST", `/api/versions/${id}/approve`),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: versionsKey(strategy) })
      await client.invalidateQueries({ queryKey: ["strategies", strategy] })
    },
  })
}
