import { useMutation } from "@tanstack/react-query"
import { api } from "../../../lib/api"

export interface PasswordInput {
  current_password: string
  new_password: string
}

/** `POST /api/me/password`: changes the password and ends the user's other sessions. */
export function useChangePassword() {
  return useMutation({
    mutationFn: (input: PasswordInput) => api<void>("POST", "/api/me/password", input),
  })
}
