import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"

/** An account invitation with the delivery status of its latest email. */
export interface AccountInvitation {
  id: string
  city_id: string
  member_id: string
  user_id: string
  email: string
  name: string
  generation: number
  expires_at: string
  accepted_at: string | null
  revoked_at: string | null
  state: "pending" | "accepted" | "revoked" | "expired"
  delivery: "queued" | "sent" | "deferred" | "failed" | null
  delivery_error: string | null
  updated_at: string
}

export const invitationsKey = (city: string) => ["cities", city, "invitations"] as const

/** `GET /api/cities/{city}/invitations` (coordinators); polled while an email is on its way. */
export function useInvitations(city: string, enabled: boolean) {
  return useQuery({
    queryKey: invitationsKey(city),
    queryFn: () => api<AccountInvitation[]>("GET", `/api/cities/${city}/invitations`),
    enabled,
    refetchInterval: (query) =>
      query.state.data?.some((i) => i.delivery === "queued" || i.delivery === "deferred") ? 2000 : false,
  })
}

/** `POST /api/cities/{city}/invitations/{id}/resend`. */
export function useResendInvitation(city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => api<AccountInvitation>("POST", `/api/cities/${city}/invitations/${id}/resend`, {}),
    onSuccess: () => client.invalidateQueries({ queryKey: invitationsKey(city) }),
  })
}

/** `POST /api/cities/{city}/invitations/{id}/revoke`. */
export function useRevokeInvitation(city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => api<AccountInvitation>("POST", `/api/cities/${city}/invitations/${id}/revoke`, {}),
    onSuccess: () => client.invalidateQueries({ queryKey: invitationsKey(city) }),
  })
}
