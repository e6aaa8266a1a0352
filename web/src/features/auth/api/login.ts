import { useMutation, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import { meKey } from "../../../lib/me"

export interface LoginInput {
  email: string
  password: string
}

/** `POST /api/auth/login`: sets the session cookie. */
export function useLogin() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (input: LoginInput) => api<unknown>("POST", "/api/auth/login", input),
    onSuccess: () => client.invalidateQueries({ queryKey: meKey }),
  })
}
