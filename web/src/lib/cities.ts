import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "./api"

export interface City {
  id: string
  name: string
  slug: string
  locale: "es" | "en" | "pt"
  created_at: string
}

export const citiesKey = ["cities"] as const
export const cityKey = (id: string) => ["cities", id] as const

/** `GET /api/cities`: the cities the user belongs to (all of them for network admins). */
export function useCities() {
  return useQuery({ queryKey: citiesKey, queryFn: () => api<City[]>("GET", "/api/cities") })
}

/** `GET /api/cities/{id}`. */
export function useCity(id: string, options?: { enabled?: boolean }) {
  return useQuery({ queryKey: cityKey(id), queryFn: () => api<City>("GET", `/api/cities/${encodeURIComponent(id)}`), enabled: options?.enabled })
}

export interface NewCity {
  name: string
  slug: string
  locale: string
}

/** `POST /api/cities` (network admins). */
export function useCreateCity() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (input: NewCity) => api<City>("POST", "/api/cities", input),
    onSuccess: () => client.invalidateQueries({ queryKey: citiesKey }),
  })
}
