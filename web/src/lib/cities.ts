import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "./api"

export interface City {
  id: string
  name: string
  slug: string
  locale: "es" | "en" | "pt"
  /** IANA time zone (`UTC` until a coordinator sets it): consultation times read in it. */
  timezone: string
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

/** `PATCH /api/cities/{id}` (coordinators): the city's settings. */
export function useUpdateCity(id: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (input: { timezone: string }) => api<City>("PATCH", `/api/cities/${encodeURIComponent(id)}`, input),
    onSuccess: (city) => {
      client.setQueryData(cityKey(id), city)
      void client.invalidateQueries({ queryKey: citiesKey })
    },
  })
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
