import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "./api"

export interface Area {
  id: string
  city_id: string
  name: string
  created_at: string
}

export const areasKey = (city: string) => ["cities", city, "areas"] as const

/** `GET /api/cities/{city}/areas`. */
export function useAreas(city: string, options?: { enabled?: boolean }) {
  return useQuery({ queryKey: areasKey(city), queryFn: () => api<Area[]>("GET", `/api/cities/${city}/areas`), enabled: options?.enabled })
}

/** `POST /api/cities/{city}/areas`. */
export function useCreateArea(city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (name: string) => api<Area>("POST", `/api/cities/${city}/areas`, { name }),
    onSuccess: () => client.invalidateQueries({ queryKey: areasKey(city) }),
  })
}
