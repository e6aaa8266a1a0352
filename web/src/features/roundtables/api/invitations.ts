import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import type { Sector } from "../../../lib/types"

export type Rsvp = "pending" | "accepted" | "declined" | "tentative"
export type Delivery = "queued" | "sent" | "deferred" | "failed"

export interface Invitation {
  id: string
  roundtable_id: string
  actor_id: string | null
  email: string
  name: string
  organization: string
  sector: Sector | null
  /** The language of their email, when chosen; `null`: their account's, else the city's. */
  locale: string | null
  rsvp: Rsvp
  rsvp_at: string | null
  /** The status of the latest email to the invitee; `null` when none was ever queued (the
   * demo's invitations, or ones made before roundtables sent email). */
  delivery: Delivery | null
  delivery_error: string | null
  created_at: string
}

/** An invitee from the registry (their language is the actor's) or by address; `locale` is the
 * language of their email (absent: their account's, else the city's). */
export type Invitee = { actor_id: string } | { email: string; name: string; organization?: string; sector?: Sector | ""; locale?: string }

export const invitationsKey = (roundtable: string) => ["roundtables", roundtable, "invitations"] as const

/** `GET /api/roundtables/{id}/invitations`, polled so answers and deliveries show at once. */
export function useInvitations(roundtable: string) {
  return useQuery({
    queryKey: invitationsKey(roundtable),
    queryFn: () => api<Invitation[]>("GET", `/api/roundtables/${roundtable}/invitations`),
    refetchInterval: 3000,
  })
}

/** `POST /api/roundtables/{id}/invitations`. */
export function useInvite(roundtable: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (invitees: Invitee[]) => api<Invitation[]>("POST", `/api/roundtables/${roundtable}/invitations`, { invitees }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["roundtables", roundtable] }),
  })
}

/** `POST /api/roundtables/{id}/invitations/{invitation}/resend`. */
export function useResend(roundtable: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (invitation: string) => api<Invitation>("POST", `/api/roundtables/${roundtable}/invitations/${invitation}/resend`, {}),
    onSuccess: () => client.invalidateQueries({ queryKey: invitationsKey(roundtable) }),
  })
}
