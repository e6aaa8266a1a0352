import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import type { Sector } from "../../../lib/types"

export interface Actor {
  id: string
  city_id: string
  name: string
  sector: Sector
  country: string | null
  email: string | null
  website: string | null
  /** The language of its email; `null`: the city's. */
  locale: string | null
  created_at: string
}

export const actorsKey = (city: string) => ["cities", city, "actors"] as const

/** `GET /api/cities/{city}/actors`: the external actors registry. */
export function useActors(city: string) {
  return useQuery({ queryKey: actorsKey(city), queryFn: () => api<Actor[]>("GET", `/api/cities/${city}/actors`) })
}

export interface ActorInput {
  name: string
  sector: Sector
  country?: string | null
  email?: string | null
  website?: string | null
  locale?: string | null
}

/** `POST /api/cities/{city}/actors`. */
export function useCreateActor(city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (input: ActorInput) => api<Actor>("POST", `/api/cities/${city}/actors`, input),
    onSuccess: () => client.invalidateQueries({ queryKey: actorsKey(city) }),
  })
}

/** `PATCH /api/cities/{city}/actors/{actor}`. */
export function useUpdateActor(city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: ({ id, ...input }: ActorInput & { id: string }) => api<Actor>("PATCH", `/api/cities/${city}/actors/${id}`, input),
    onSuccess: () => client.invalidateQueries({ queryKey: actorsKey(city) }),
  })
}

/** `DELETE /api/cities/{city}/actors/{actor}`. */
export function useDeleteActor(city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => api<void>("DELETE", `/api/cities/${city}/actors/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: actorsKey(city) }),
  })
}
