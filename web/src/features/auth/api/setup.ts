import { useMutation, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import { instanceKey } from "./instance"
import { meKey } from "../../../lib/me"

export interface SetupInput {
  token: string
  email: string
  name: string
  password: string
}

/** `POST /api/setup`: first-run setup; creates the first administrator and logs them in. */
export function useSetup() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (input: SetupInput) => api<unknown>("POST", "/api/setup", input),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: instanceKey })
      await client.invalidateQueries({ queryKey: meKey })
    },
  })
}
