import { useQuery } from "@tanstack/react-query"
import { api } from "../../../lib/api"

export interface SectionAgreement {
  roundtable_id: string
  roundtable_title: string
  held_at: string
  section_id: string | null
  text: string
}

/** `GET /api/sections/{id}/agreements`: what roundtables agreed about a section. */
export function useSectionAgreements(section: string, enabled: boolean) {
  return useQuery({
    queryKey: ["sections", section, "agreements"] as const,
    queryFn: () => api<SectionAgreement[]>("GET", `/api/sections/${section}/agreements`),
    enabled,
  })
}
