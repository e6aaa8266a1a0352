import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"

export type RoundtableStatus = "scheduled" | "cancelled" | "closed"

export interface Roundtable {
  id: string
  city_id: string
  title: string
  purpose: string
  agenda: string
  starts_at: string
  ends_at: string
  timezone: string
  starts_local: string
  ends_local: string
  location: string
  online_url: string | null
  capacity: number | null
  remind_before_minutes: number
  sequence: number
  status: RoundtableStatus
  minutes_url: string | null
  invited: number
  accepted: number
}

/** The create body (and, every field optional, the change body). */
export interface RoundtableInput {
  title: string
  purpose: string
  agenda: string
  starts_at: string
  ends_at: string
  timezone: string
  location: string
  online_url: string
  capacity: number | null
  remind_before_minutes: number
}

export const roundtablesKey = (city: string) => ["cities", city, "roundtables"] as const
export const roundtableKey = (id: string) => ["roundtables", id] as const

/** `GET /api/cities/{city}/roundtables`: soonest first. */
export function useRoundtables(city: string) {
  return useQuery({ queryKey: roundtablesKey(city), queryFn: () => api<Roundtable[]>("GET", `/api/cities/${city}/roundtables`) })
}

/** `GET /api/roundtables/{id}`. */
export function useRoundtable(id: string) {
  return useQuery({ queryKey: roundtableKey(id), queryFn: () => api<Roundtable>("GET", `/api/roundtables/${id}`) })
}

/** `POST /api/cities/{city}/roundtables`. */
export function useCreateRoundtable(city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (input: RoundtableInput) => api<Roundtable>("POST", `/api/cities/${city}/roundtables`, input),
    onSuccess: () => client.invalidateQueries({ queryKey: roundtablesKey(city) }),
  })
}

function useRoundtableWrite<I>(rt: Roundtable, call: (input: I) => Promise<Roundtable>) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: call,
    onSuccess: (next) => {
      client.setQueryData(roundtableKey(rt.id), next)
      void client.invalidateQueries({ queryKey: roundtablesKey(rt.city_id) })
      void client.invalidateQueries({ queryKey: ["roundtables", rt.id] })
    },
  })
}

/** `PATCH /api/roundtables/{id}`: a new time or place sends updates. */
export function useUpdateRoundtable(rt: Roundtable) {
  return useRoundtableWrite(rt, (input: Partial<RoundtableInput>) => api<Roundtable>("PATCH", `/api/roundtables/${rt.id}`, input))
}

/** `POST /api/roundtables/{id}/cancel`. */
export function useCancelRoundtable(rt: Roundtable) {
  return useRoundtableWrite(rt, () => api<Roundtable>("POST", `/api/roundtables/${rt.id}/cancel`, {}))
}

/** `POST /api/roundtables/{id}/close`: records the minutes' agreements and sends the minutes. */
export function useCloseRoundtable(rt: Roundtable) {
  return useRoundtableWrite(rt, () => api<Roundtable>("POST", `/api/roundtables/${rt.id}/close`, {}))
}
