import { useMutation, useQuery, useQueryClient, type UseQueryResult } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import { FALLBACK_POLL_MS, useLiveUpdates } from "../../../lib/live"
import type { Sector } from "../../../lib/types"

/** A consultation comment on this section, as the server resolves it now. */
export interface SectionComment {
  id: string
  consultation_id: string
  consultation_title: string
  parent_id: string | null
  author_name: string
  organization: string | null
  sector: Sector | null
  by_city: boolean
  body: string
  anchor: { quote: string; start: string; end: string; text: string | null; removed: boolean } | null
  suggestion: string | null
  hidden: { reason: string } | null
  response: { decision: "accepted" | "partly" | "rejected" | "noted"; reason: string; applied: boolean } | null
}

export const sectionCommentsKey = (section: string) => ["sections", section, "comments"] as const

/** `GET /api/sections/{id}/comments`: every consultation's comments on the section, fetched
 * again whenever `GET /api/sections/{id}/comments/events` says one changed (new comments,
 * answers, hides, applied rewrites), so they appear while the editor is open; polled slowly
 * only while that stream is down. */
export function useSectionComments(section: string): { query: UseQueryResult<SectionComment[]>; live: boolean } {
  const client = useQueryClient()
  const live = useLiveUpdates(`/api/sections/${section}/comments/events`, () => {
    void client.invalidateQueries({ queryKey: sectionCommentsKey(section) })
  })
  const query = useQuery({
    queryKey: sectionCommentsKey(section),
    queryFn: () => api<SectionComment[]>("GET", `/api/sections/${section}/comments`),
    refetchInterval: live ? false : FALLBACK_POLL_MS,
  })
  return { query, live }
}

/** `POST /api/comments/{id}/applied`: records that the suggested rewrite was applied (the
 * server must have stored the change; it answers 409 `not_saved_yet` until then). */
export function useRecordApplied(section: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: ({ comment, heads, reason }: { comment: string; heads: string[]; reason: string }) =>
      api<unknown>("POST", `/api/comments/${comment}/applied`, { heads, reason }),
    retry: (count, error) => count < 20 && (error as { code?: string }).code === "not_saved_yet",
    retryDelay: 500,
    onSuccess: () => client.invalidateQueries({ queryKey: sectionCommentsKey(section) }),
  })
}
