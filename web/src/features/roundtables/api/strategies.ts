import { useQuery } from "@tanstack/react-query"
import { api } from "../../../lib/api"

export interface SectionRef {
  id: string
  title: string
}

interface StrategyRef {
  id: string
  title: string
  sections: SectionRef[]
}

/** `GET /api/cities/{city}/strategies`: the sections an agreement may link to. */
export function useStrategySections(city: string) {
  return useQuery({
    queryKey: ["cities", city, "strategies"] as const,
    queryFn: () => api<StrategyRef[]>("GET", `/api/cities/${city}/strategies`),
  })
}
