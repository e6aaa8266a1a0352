import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"

/** A browser session of the user (never its secret). */
export interface Session {
  id: string
  created_at: string
  expires_at: string
  last_seen_at: string
  user_agent: string | null
  client_address: string | null
  current: boolean
}

export const sessionsKey = ["me", "sessions"] as const

/** `GET /api/me/sessions`: the user's live browser sessions, this one marked `current`. */
export function useSessions() {
  return useQuery({ queryKey: sessionsKey, queryFn: () => api<Session[]>("GET", "/api/me/sessions") })
}

/** `DELETE /api/me/sessions/{id}`: ends one session. */
export function useEndSession() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => api<void>("DELETE", `/api/me/sessions/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: sessionsKey }),
  })
}

/** `POST /api/me/sessions/end-others`: ends every session but this one. */
export function useEndOtherSessions() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: () => api<{ ended: number }>("POST", "/api/me/sessions/end-others"),
    onSuccess: () => client.invalidateQueries({ queryKey: sessionsKey }),
  })
}
