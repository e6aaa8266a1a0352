import { useMutation, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"

/** `POST /api/auth/logout`: ends the session; every cached answer is dropped. */
export function useLogout() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: () => api<void>("POST", "/api/auth/logout"),
    onSettled: () => {
      client.clear()
    },
  })
}
