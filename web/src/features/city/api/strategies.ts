import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import type { Strategy } from "../../../lib/strategy"

export const strategiesKey = (city: string) => ["cities", city, "strategies"] as const

/** `GET /api/cities/{city}/strategies`. */
export function useStrategies(city: string) {
  return useQuery({ queryKey: strategiesKey(city), queryFn: () => api<Strategy[]>("GET", `/api/cities/${city}/strategies`) })
}

/** `POST /api/cities/{city}/strategies`. */
export function useCreateStrategy(city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (input: { title: string; template: "seed" | "blank" }) => api<Strategy>("POST", `/api/cities/${city}/strategies`, input),
    onSuccess: () => client.invalidateQueries({ queryKey: strategiesKey(city) }),
  })
}
