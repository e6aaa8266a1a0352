// What the interface offers a user, mirroring the server's permission function
// (`concerta_core::permit`). The server decides; this only hides what would be refused.
import type { Role } from "./types"

export interface Principal {
  network_admin: boolean
  memberships: { city_id: string; role: Role; area_id: string | null }[]
}

export function roleIn(me: Principal | null | undefined, city: string): Role | undefined {
  return me?.memberships.find((m) => m.city_id === city)?.role
}

/** Areas, members, actors, strategies, versions: coordinators and network admins. */
export function mayAdminister(me: Principal | null | undefined, city: string): boolean {
  return !!me && (me.network_admin || roleIn(me, city) === "coordinator")
}

export type SectionAccess = { kind: "write" } | { kind: "read"; reason: "observer" | "other_area" | "no_area" } | { kind: "none" }

/** Whether the user may write a section (its responsible area decides for editors). */
export function sectionAccess(me: Principal | null | undefined, city: string, area: string | null): SectionAccess {
  const membership = me?.memberships.find((m) => m.city_id === city)
  if (!membership) return { kind: "none" }
  switch (membership.role) {
    case "coordinator":
      return { kind: "write" }
    case "editor":
      if (area !== null && membership.area_id === area) return { kind: "write" }
      return { kind: "read", reason: area === null ? "no_area" : "other_area" }
    case "observer":
      return { kind: "read", reason: "observer" }
    default:
      return { kind: "none" }
  }
}
