// The strategy and section shapes of the API, shared by the city home, the outline, the editor
// and versions.
import type { Stage } from "./types"

export type SectionState = "not_started" | "drafting" | "in_review" | "ready"

export const SECTION_STATES: readonly SectionState[] = ["not_started", "drafting", "in_review", "ready"]

export interface Section {
  id: string
  strategy_id: string
  key: string
  title: string
  stage: Stage
  position: number
  area_id: string | null
  doc_url: string
  /** Arrives with the content API (issue 13); absent on older servers. */
  state?: SectionState
  /** Whether the text changed since the approved version. */
  changed_since_approved?: boolean
}

export interface VersionRef {
  id: string
  name: string
  approved_at?: string | null
}

export interface Strategy {
  id: string
  city_id: string
  title: string
  template: "seed" | "blank"
  created_at: string
  sections: Section[]
  approved_version?: VersionRef | null
}
