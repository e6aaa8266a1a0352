import { useQuery } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import type { Sector } from "../../../lib/types"

export interface RegistryActor {
  id: string
  name: string
  sector: Sector
  email: string | null
}

/** `GET /api/cities/{city}/actors`: the registry to invite from. */
export function useRegistry(city: string) {
  return useQuery({ queryKey: ["cities", city, "actors"] as const, queryFn: () => api<RegistryActor[]>("GET", `/api/cities/${city}/actors`) })
}
