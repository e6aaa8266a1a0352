import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api, ApiError } from "./api"
import type { Role } from "./types"

export interface Membership {
  id: string
  city_id: string
  role: Role
  area_id: string | null
}

export interface Me {
  id: string
  email: string
  name: string
  network_admin: boolean
  /** The language the user chose (app and email); `null`: each city's. */
  locale: "es" | "en" | "pt" | null
  memberships: Membership[]
}

export const meKey = ["me"] as const

/** `GET /api/me`: the logged-in user, or `null` when nobody is logged in. */
export async function fetchMe(): Promise<Me | null> {
  try {
    return await api<Me>("GET", "/api/me", undefined, { quiet401: true })
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null
    throw error
  }
}

export function useMe() {
  return useQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 60_000 })
}

/** `PATCH /api/me {"locale"}`: keeps the user's language on their account, so the email they
 * receive is written in it. */
export function useSaveMyLanguage() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (locale: Me["locale"]) => api<Me>("PATCH", "/api/me", { locale }),
    onSuccess: (me) => client.setQueryData(meKey, me),
  })
}
