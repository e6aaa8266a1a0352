import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import type { Role } from "../../../lib/types"

export interface Member {
  id: string
  city_id: string
  user_id: string
  email: string
  name: string
  role: Role
  area_id: string | null
  created_at: string
}

export const membersKey = (city: string) => ["cities", city, "members"] as const

/** `GET /api/cities/{city}/members`. */
export function useMembers(city: string) {
  return useQuery({ queryKey: membersKey(city), queryFn: () => api<Member[]>("GET", `/api/cities/${city}/members`) })
}

export interface NewMember {
  email: string
  name: string
  role: Role
  area_id?: string | null
}

/** `POST /api/cities/{city}/members`. */
export function useCreateMember(city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (input: NewMember) => api<Member>("POST", `/api/cities/${city}/members`, input),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: membersKey(city) })
      void client.invalidateQueries({ queryKey: ["cities", city, "invitations"] })
    },
  })
}

export interface MemberUpdate {
  role?: Role
  area_id?: string | null
}

/** `PATCH /api/cities/{city}/members/{member}`: role and area. */
export function useUpdateMember(city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: ({ id, ...update }: MemberUpdate & { id: string }) => api<Member>("PATCH", `/api/cities/${city}/members/${id}`, update),
    onSuccess: () => client.invalidateQueries({ queryKey: membersKey(city) }),
  })
}

/** `DELETE /api/cities/{city}/members/{member}`. */
export function useRemoveMember(city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => api<void>("DELETE", `/api/cities/${city}/members/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: membersKey(city) }),
  })
}
