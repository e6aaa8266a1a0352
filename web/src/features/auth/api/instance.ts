import { useQuery } from "@tanstack/react-query"
import { api } from "../../../lib/api"

export interface DemoAccount {
  email: string
  name: string
  role: "coordinator" | "editor" | "observer" | "stakeholder" | "network_admin"
  area: string | null
  password: string
}

export interface Instance {
  setup_needed: boolean
  setup_token_armed: boolean
  demo_accounts?: DemoAccount[]
  version: string
}

export const instanceKey = ["instance"] as const

/** `GET /api/instance`: first-run setup needed? demo accounts to show? (no login needed) */
export function useInstance() {
  return useQuery({ queryKey: instanceKey, queryFn: () => api<Instance>("GET", "/api/instance") })
}
