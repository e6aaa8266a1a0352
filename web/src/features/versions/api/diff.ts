import { useQuery } from "@tanstack/react-query"
import { api } from "../../../lib/api"

export interface DiffOp {
  op: "equal" | "insert" | "delete"
  text: string
}

export interface SectionDiff {
  changed: boolean
  ops: DiffOp[]
}

/** `GET /api/sections/{id}/diff?since={version}`: word-level changes since a version. */
export function useSectionDiff(section: string, since: string, enabled: boolean) {
  return useQuery({
    queryKey: ["sections", section, "diff", since],
    queryFn: () => api<SectionDiff>("GET", `/api/sections/${section}/diff?since=${encodeURIComponent(since)}`),
    enabled,
  })
}
