import { describe, expect, it } from "vitest"
import { mayAdminister, sectionAccess, type Principal } from "./permissions"

const member = (role: Principal["memberships"][number]["role"], area_id: string | null = null): Principal => ({
  network_admin: false,
  memberships: [{ city_id: "c1", role, area_id }],
})

describe("permissions", () => {
  it("lets coordinators and network admins administer, nobody else", () => {
    expect(mayAdminister(member("coordinator"), "c1")).toBe(true)
    expect(mayAdminister({ network_admin: true, memberships: [] }, "c1")).toBe(true)
    expect(mayAdminister(member("editor", "a1"), "c1")).toBe(false)
    expect(mayAdminister(member("coordinator"), "other")).toBe(false)
    expect(mayAdminister(null, "c1")).toBe(false)
  })

  it("lets an editor write only their own area's sections, and says why not", () => {
    expect(sectionAccess(member("editor", "a1"), "c1", "a1")).toEqual({ kind: "write" })
    expect(sectionAccess(member("editor", "a1"), "c1", "a2")).toEqual({ kind: "read", reason: "other_area" })
    expect(sectionAccess(member("editor", "a1"), "c1", null)).toEqual({ kind: "read", reason: "no_area" })
    expect(sectionAccess(member("observer"), "c1", "a1")).toEqual({ kind: "read", reason: "observer" })
    expect(sectionAccess(member("coordinator"), "c1", null)).toEqual({ kind: "write" })
    expect(sectionAccess(member("stakeholder"), "c1", "a1")).toEqual({ kind: "none" })
    expect(sectionAccess({ network_admin: true, memberships: [] }, "c1", "a1")).toEqual({ kind: "none" })
  })
})
