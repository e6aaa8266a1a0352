import { useQuery } from "@tanstack/react-query"
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
