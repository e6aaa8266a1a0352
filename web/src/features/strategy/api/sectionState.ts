import { useMutation, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import type { Section, SectionState } from "../../../lib/strategy"
import { strategyKey } from "./strategy"

/** `PUT /api/sections/{id}/state`: not started, drafting, in review, ready. */
export function useSetSectionState(strategy: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: ({ section, state }: { section: string; state: SectionState }) => api<Section>("PUT", `/api/sections/${section}/state`, { state }),
    onSuccess: () => client.invalidateQueries({ queryKey: strategyKey(strategy) }),
  })
}
