import { describe, expect, it } from "vitest"
import { formatInZone, timeZones } from "./time"

describe("formatInZone", () => {
  it("writes the time in the zone and names it", () => {
    expect(formatInZone("2026-12-27T23:00:00Z", "America/Bogota", "en")).toBe("Dec 27, 2026, 6:00 PM (America/Bogota)")
    expect(formatInZone("2026-12-27T23:00:00Z", "UTC", "en", false)).toBe("Dec 27, 2026 (UTC)")
  })

  it("falls back to UTC for a zone it does not know", () => {
    expect(formatInZone("2026-12-27T23:00:00Z", "Mars/Olympus", "en")).toBe("Dec 27, 2026, 11:00 PM (UTC)")
  })
})

describe("timeZones", () => {
  it("starts with UTC and keeps the current zone", () => {
    const zones = timeZones("America/Bogota")
    expect(zones[0]).toBe("UTC")
    expect(zones).toContain("America/Bogota")
    expect(new Set(zones).size).toBe(zones.length)
  })
})
