import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api, apiUpload } from "../../../lib/api"

export type Level = "office" | "local_government" | "territory"
export const LEVELS: readonly Level[] = ["office", "local_government", "territory"]
export type Direction = "higher_is_better" | "lower_is_better"
export const DIRECTIONS: readonly Direction[] = ["higher_is_better", "lower_is_better"]
export type Unit = "percent" | "count" | "currency" | "number"
export const UNITS: readonly Unit[] = ["percent", "count", "currency", "number"]
export type Frequency = "monthly" | "quarterly" | "semiannual" | "annual" | "biennial"
export const FREQUENCIES: readonly Frequency[] = ["monthly", "quarterly", "semiannual", "annual", "biennial"]
export type Review = "pending" | "accepted" | "returned"
export type Status = "target_achieved" | "on_track" | "acceleration_needed" | "limited_progress" | "deterioration" | "no_data"
export const STATUSES: readonly Status[] = ["target_achieved", "on_track", "acceleration_needed", "limited_progress", "deterioration", "no_data"]

export interface Point {
  date: string
  value: number
}

export interface Indicator {
  id: string
  city_id: string
  strategy_id: string
  key: string
  code: string
  name: string
  level: Level
  definition: string
  method: string
  unit: Unit
  unit_label: string
  direction: Direction
  data_source: string
  frequency: Frequency
  area_id: string | null
  baseline: Point | null
  target: Point | null
  public: boolean
  section_ids: string[]
  sdg: string[]
  position: number
  status_override: { status: Status; reason: string; by: string | null; at: string } | null
  status: Status
  status_overridden: boolean
  assessment: {
    status: Status
    latest: Point | null
    observed_growth: number | null
    required_growth: number | null
    ratio: number | null
    no_data: string | null
  }
  provisional: boolean
  schedule: { last_due: string | null; missing: boolean; next_due: string | null } | null
  measurement_counts: { pending: number; accepted: number; returned: number }
}

export interface Measurement {
  id: string
  indicator_id: string
  measured_on: string
  value: number
  note: string
  link: string | null
  evidence: { id: string; filename: string; content_type: string; size: number } | null
  reported_by: string | null
  reporter_name: string | null
  reported_at: string
  review: Review
  review_reason: string | null
}

export interface StatusCounts {
  total: number
  target_achieved: number
  on_track: number
  acceleration_needed: number
  limited_progress: number
  deterioration: number
  no_data: number
}

export interface Framework {
  indicators: Indicator[]
  summary: {
    overall: StatusCounts
    by_level: { level: Level; counts: StatusCounts }[]
    by_area: { area_id: string | null; area_name: string | null; counts: StatusCounts }[]
  }
}

export interface IndicatorDetail extends Indicator {
  measurements: Measurement[]
  reminders: string[]
}

/** What the indicator form edits (the body of POST and PUT). */
export interface IndicatorBody {
  code: string
  name: string
  level: Level
  definition: string
  method: string
  unit: Unit
  unit_label: string
  direction: Direction
  data_source: string
  frequency: Frequency
  area_id: string | null
  baseline_value: number | null
  baseline_date: string | null
  target_value: number | null
  target_date: string | null
  public: boolean
  section_ids: string[]
  sdg: string[]
}

export const frameworkKey = (strategy: string) => ["strategies", strategy, "indicators"] as const
export const indicatorKey = (id: string) => ["indicators", id] as const

/** `GET /api/strategies/{id}/indicators`. */
export function useFramework(strategy: string) {
  return useQuery({ queryKey: frameworkKey(strategy), queryFn: () => api<Framework>("GET", `/api/strategies/${strategy}/indicators`) })
}

/** `POST /api/strategies/{id}/indicators/template`: the seed's framework and capacities. */
export function useCreateFromTemplate(strategy: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: () => api<Framework>("POST", `/api/strategies/${strategy}/indicators/template`),
    onSuccess: () => client.invalidateQueries({ queryKey: ["strategies", strategy] }),
  })
}

/** `POST /api/strategies/{id}/indicators`: one indicator from scratch. */
export function useCreateIndicator(strategy: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (body: IndicatorBody) => api<IndicatorDetail>("POST", `/api/strategies/${strategy}/indicators`, body),
    onSuccess: () => client.invalidateQueries({ queryKey: ["strategies", strategy] }),
  })
}

/** The fields of a new indicator before anyone fills them in. */
export const EMPTY_INDICATOR: IndicatorBody = {
  code: "",
  name: "",
  level: "office",
  definition: "",
  method: "",
  unit: "percent",
  unit_label: "",
  direction: "higher_is_better",
  data_source: "",
  frequency: "annual",
  area_id: null,
  baseline_value: null,
  baseline_date: null,
  target_value: null,
  target_date: null,
  public: false,
  section_ids: [],
  sdg: [],
}

/** `GET /api/indicators/{id}`. */
export function useIndicator(id: string) {
  return useQuery({ queryKey: indicatorKey(id), queryFn: () => api<IndicatorDetail>("GET", `/api/indicators/${id}`) })
}

function useInvalidate(indicator: IndicatorDetail | undefined) {
  const client = useQueryClient()
  return async () => {
    if (!indicator) return
    await client.invalidateQueries({ queryKey: indicatorKey(indicator.id) })
    await client.invalidateQueries({ queryKey: frameworkKey(indicator.strategy_id) })
  }
}

/** `PUT /api/indicators/{id}`. */
export function useUpdateIndicator(indicator: IndicatorDetail | undefined) {
  const invalidate = useInvalidate(indicator)
  return useMutation({
    mutationFn: (body: IndicatorBody) => api<IndicatorDetail>("PUT", `/api/indicators/${indicator?.id}`, body),
    onSuccess: invalidate,
  })
}

/** `POST /api/indicators/{id}/measurements` as a form (with an optional evidence file). */
export function useReportMeasurement(indicator: IndicatorDetail | undefined) {
  const invalidate = useInvalidate(indicator)
  return useMutation({
    mutationFn: (form: FormData) => apiUpload<Measurement>("POST", `/api/indicators/${indicator?.id}/measurements`, form),
    onSuccess: invalidate,
  })
}

/** `POST /api/measurements/{id}/review`. */
export function useReview(indicator: IndicatorDetail | undefined) {
  const invalidate = useInvalidate(indicator)
  return useMutation({
    mutationFn: (input: { id: string; review: "accepted" | "returned"; reason?: string }) =>
      api<Measurement>("POST", `/api/measurements/${input.id}/review`, { review: input.review, reason: input.reason }),
    onSuccess: invalidate,
  })
}

/** `PUT` or `DELETE /api/indicators/{id}/status-override`. */
export function useOverride(indicator: IndicatorDetail | undefined) {
  const invalidate = useInvalidate(indicator)
  return useMutation({
    mutationFn: (input: { status: Status; reason: string } | null) =>
      input
        ? api<IndicatorDetail>("PUT", `/api/indicators/${indicator?.id}/status-override`, input)
        : api<IndicatorDetail>("DELETE", `/api/indicators/${indicator?.id}/status-override`),
    onSuccess: invalidate,
  })
}

/** `POST /api/strategies/{id}/{indicators|measurements}.csv` with the chosen file. */
export function useImportCsv(strategy: string, kind: "indicators" | "measurements") {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (file: File) => apiUpload<{ created: number; updated: number }>("POST", `/api/strategies/${strategy}/${kind}.csv`, file, "text/csv"),
    onSuccess: () => client.invalidateQueries({ queryKey: ["strategies", strategy] }),
  })
}

/** The body that edits `indicator` as it is. */
export function bodyOf(i: Indicator): IndicatorBody {
  return {
    code: i.code,
    name: i.name,
    level: i.level,
    definition: i.definition,
    method: i.method,
    unit: i.unit,
    unit_label: i.unit_label,
    direction: i.direction,
    data_source: i.data_source,
    frequency: i.frequency,
    area_id: i.area_id,
    baseline_value: i.baseline?.value ?? null,
    baseline_date: i.baseline?.date ?? null,
    target_value: i.target?.value ?? null,
    target_date: i.target?.date ?? null,
    public: i.public,
    section_ids: i.section_ids,
    sdg: i.sdg,
  }
}
