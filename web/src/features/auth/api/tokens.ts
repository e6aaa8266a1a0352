import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"

/** An API token as listed: never its secret. */
export interface ApiToken {
  id: string
  name: string
  created_at: string
  last_used_at: string | null
  expires_at: string | null
  expired: boolean
  current: boolean
}

/** A token just made: the secret (`token`) is in this answer only. */
export interface NewApiToken extends ApiToken {
  token: string
}

export const tokensKey = ["me", "tokens"] as const

/** `GET /api/tokens`: the user's API tokens. */
export function useTokens() {
  return useQuery({ queryKey: tokensKey, queryFn: () => api<ApiToken[]>("GET", "/api/tokens") })
}

/** `POST /api/tokens {"name","expires_at"?}`. */
export function useCreateToken() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (input: { name: string; expires_at?: string }) => api<NewApiToken>("POST", "/api/tokens", input),
    onSuccess: () => client.invalidateQueries({ queryKey: tokensKey }),
  })
}

/** `DELETE /api/tokens/{id}`: revokes a token at once. */
export function useRevokeToken() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => api<void>("DELETE", `/api/tokens/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: tokensKey }),
  })
}
