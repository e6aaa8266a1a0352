import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import { meKey } from "../../../lib/me"

/** What an invitation link is for (`GET /api/invitations/{token}`, no login). */
export interface InvitationPreview {
  city_id: string
  city_name: string
  email: string
  name: string
  expires_at: string
}

/** `GET /api/invitations/{token}`: rejects with `invitation_invalid`, `_used`, `_revoked`, `_expired`, `_has_password`. */
export function useInvitationPreview(token: string) {
  return useQuery({
    queryKey: ["invitations", token],
    queryFn: () => api<InvitationPreview>("GET", `/api/invitations/${encodeURIComponent(token)}`, undefined, { quiet401: true }),
    retry: false,
  })
}

/** `POST /api/invitations/{token}/accept`: sets the password once and logs in; the language
 * the page is read in becomes the account's (the email it receives is written in it). */
export function useAcceptInvitation(token: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: ({ password, locale }: { password: string; locale?: string }) =>
      api<{ city_id: string }>("POST", `/api/invitations/${encodeURIComponent(token)}/accept`, { password, locale }, { quiet401: true }),
    onSuccess: () => client.invalidateQueries({ queryKey: meKey }),
  })
}
