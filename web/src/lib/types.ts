// Shapes shared by several features (the server's JSON).

export type Role = "coordinator" | "editor" | "stakeholder" | "observer"

export const ROLES: readonly Role[] = ["coordinator", "editor", "stakeholder", "observer"]

export type Stage = "design_planning" | "implementation" | "evaluation"

export const STAGES: readonly Stage[] = ["design_planning", "implementation", "evaluation"]

export type Sector =
  | "academia"
  | "business"
  | "civil_society"
  | "international_organization"
  | "city_network"
  | "government"
  | "other"

export const SECTORS: readonly Sector[] = [
  "academia",
  "business",
  "civil_society",
  "international_organization",
  "city_network",
  "government",
  "other",
]
