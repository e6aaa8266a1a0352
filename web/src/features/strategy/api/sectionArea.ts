import { useMutation, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import type { Section } from "../../../lib/strategy"
import { strategyKey } from "./strategy"

/** `PUT /api/sections/{id}/area`: the responsible government area. */
export function useSetSectionArea(strategy: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: ({ section, area }: { section: string; area: string | null }) => api<Section>("PUT", `/api/sections/${section}/area`, { area_id: area }),
    onSuccess: () => client.invalidateQueries({ queryKey: strategyKey(strategy) }),
  })
}
