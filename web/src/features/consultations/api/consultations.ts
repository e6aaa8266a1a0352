import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"
import i18n, { isLanguage } from "../../../lib/i18n"
import { FALLBACK_POLL_MS, useLiveUpdates } from "../../../lib/live"
import type { Sector, Stage } from "../../../lib/types"

export type Decision = "accepted" | "partly" | "rejected" | "noted"
export const DECISIONS: readonly Decision[] = ["accepted", "partly", "rejected", "noted"]

export interface ConsultationSection {
  id: string
  title: string
  stage: Stage
  area_id: string | null
  /** Only for those who may open the live document. */
  doc_url?: string
}

export interface Consultation {
  id: string
  city_id: string
  strategy_id: string
  version_id: string | null
  title: string
  explanation: string
  opens_at: string
  closes_at: string
  all_sections: boolean
  /** The city's IANA time zone: its times are shown in it. */
  timezone: string
  status: "upcoming" | "open" | "closed"
  sections: ConsultationSection[]
  invitation: { organization: string; sector: Sector } | null
  may_manage: boolean
  may_comment: boolean
}

export interface Anchor {
  quote: string
  start: string
  end: string
  from: number | null
  to: number | null
  text: string | null
  removed: boolean
}

export interface CommentResponse {
  decision: Decision
  reason: string
  version_id: string | null
  applied: boolean
  applied_heads: string[]
  at: string
}

export interface Comment {
  id: string
  consultation_id: string
  section_id: string
  parent_id: string | null
  author_name: string
  organization: string | null
  sector: Sector | null
  by_city: boolean
  mine: boolean
  body: string
  anchor: Anchor | null
  suggestion: string | null
  created_at: string
  hidden: { reason: string; at: string } | null
  response: CommentResponse | null
}

export interface SectionText {
  section_id: string
  title: string
  blocks: { kind: unknown; parents: unknown[]; inlines: { text: string }[] }[]
  /** The body as plain text, one line per block (what `anchor.occurrence` counts in). */
  text: string
  heads: string[]
}

export interface Invitation {
  id: string
  email: string
  name: string
  organization: string
  sector: Sector
  /** No password yet: their email carries the account invitation link. */
  needs_password: boolean
  /** The latest invitation email's status (none for invitations made without email). */
  delivery: "queued" | "sent" | "deferred" | "failed" | null
  delivery_error: string | null
  /** Withdrawn by a coordinator (kept; inviting the address again makes it active). */
  state: "active" | "withdrawn"
  withdrawn_at: string | null
}

export interface Unanswered {
  comments: number
  unanswered: number
  by_section: { section_id: string; title: string; area_id: string | null; comments: number; unanswered: number }[]
  by_area: { area_id: string | null; name: string | null; comments: number; unanswered: number }[]
}

export const consultationsKey = (city: string) => ["cities", city, "consultations"] as const
export const consultationKey = (id: string) => ["consultations", id] as const
export const commentsKey = (id: string) => ["consultations", id, "comments"] as const

/** `GET /api/cities/{city}/consultations`: those the user may see. */
export function useConsultations(city: string) {
  return useQuery({ queryKey: consultationsKey(city), queryFn: () => api<Consultation[]>("GET", `/api/cities/${city}/consultations`) })
}

/** `GET /api/consultations/{id}`. */
export function useConsultation(id: string) {
  return useQuery({ queryKey: consultationKey(id), queryFn: () => api<Consultation>("GET", `/api/consultations/${id}`) })
}

export interface NewConsultation {
  strategy_id: string
  version_id?: string
  title: string
  explanation?: string
  opens_at?: string
  closes_at: string
  section_ids?: string[]
}

/** `POST /api/cities/{city}/consultations` (coordinators). */
export function useCreateConsultation(city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (body: NewConsultation) => api<Consultation>("POST", `/api/cities/${city}/consultations`, body),
    onSuccess: () => client.invalidateQueries({ queryKey: consultationsKey(city) }),
  })
}

/** `GET /api/consultations/{id}/sections/{section}`: the consulted text, read-only. */
export function useSectionText(id: string, section: string) {
  return useQuery({
    queryKey: ["consultations", id, "sections", section],
    queryFn: () => api<SectionText>("GET", `/api/consultations/${id}/sections/${section}`),
    enabled: section !== "",
  })
}

/** `GET /api/consultations/{id}/invitations` (coordinators); polled while an email is on its way. */
export function useInvitations(id: string, enabled: boolean) {
  return useQuery({
    queryKey: ["consultations", id, "invitations"],
    queryFn: () => api<{ invitations: Invitation[] }>("GET", `/api/consultations/${id}/invitations`),
    enabled,
    refetchInterval: (query) =>
      query.state.data?.invitations.some((i) => i.delivery === "queued" || i.delivery === "deferred") ? 2000 : false,
  })
}

/** An actor of the city's registry, as the invitation form offers it. */
export interface RegistryActor {
  id: string
  name: string
  sector: Sector
  email: string | null
}

/** `GET /api/cities/{city}/actors`: the registry, to invite from (the key the city screens use). */
export function useRegistry(city: string, enabled: boolean) {
  return useQuery({
    queryKey: ["cities", city, "actors"],
    queryFn: () => api<RegistryActor[]>("GET", `/api/cities/${city}/actors`),
    enabled,
  })
}

export interface NewInvitee {
  email?: string
  name?: string
  organization?: string
  sector?: Sector
  actor_id?: string
  /** The language of their email (absent: the registry's, else their account's, else the city's). */
  locale?: string
}

/** `POST /api/consultations/{id}/invitations` (coordinators). */
export function useInvite(id: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (invitees: NewInvitee[]) => api<{ invitations: Invitation[] }>("POST", `/api/consultations/${id}/invitations`, { invitees }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["consultations", id, "invitations"] }),
  })
}

/** `POST /api/consultations/{id}/invitations/{invitee}/resend` (coordinators): the email again,
 * with a new link (the old one stops working) while the invitee has no password. */
export function useResendInvitation(id: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (invitee: string) => api<Invitation>("POST", `/api/consultations/${id}/invitations/${invitee}/resend`, {}),
    onSuccess: () => client.invalidateQueries({ queryKey: ["consultations", id, "invitations"] }),
  })
}

/** `POST /api/consultations/{id}/invitations/{invitee}/revoke` (coordinators): the invitee no
 * longer sees the consultation; an unused password link stops working. */
export function useRevokeInvitation(id: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (invitee: string) => api<Invitation>("POST", `/api/consultations/${id}/invitations/${invitee}/revoke`, {}),
    onSuccess: () => client.invalidateQueries({ queryKey: ["consultations", id, "invitations"] }),
  })
}

/** `GET /api/consultations/{id}/comments`: what the user may see, fetched again (with the
 * unanswered counts) whenever `GET /api/consultations/{id}/events` says a comment changed;
 * polled slowly only while that stream is down. */
export function useComments(id: string) {
  const client = useQueryClient()
  const live = useLiveUpdates(`/api/consultations/${id}/events`, () => {
    void client.invalidateQueries({ queryKey: commentsKey(id) })
    void client.invalidateQueries({ queryKey: ["consultations", id, "unanswered"] })
  })
  return useQuery({
    queryKey: commentsKey(id),
    queryFn: () => api<Comment[]>("GET", `/api/consultations/${id}/comments`),
    refetchInterval: live ? false : FALLBACK_POLL_MS,
  })
}

export interface NewComment {
  section_id?: string
  body: string
  anchor?: { quote: string; occurrence?: number; start?: string; end?: string }
  suggestion?: string
  parent_id?: string
}

/** `POST /api/consultations/{id}/comments`, in the language the user reads (the city's answer
 * is emailed in it). */
export function useCreateComment(id: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (body: NewComment) =>
      api<Comment>("POST", `/api/consultations/${id}/comments`, { ...body, locale: isLanguage(i18n.resolvedLanguage) ? i18n.resolvedLanguage : undefined }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["consultations", id] }),
  })
}

/** `POST /api/comments/{id}/response`. */
export function useRespond(consultation: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: ({ comment, decision, reason }: { comment: string; decision: Decision; reason: string }) =>
      api<Comment>("POST", `/api/comments/${comment}/response`, { decision, reason }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["consultations", consultation] }),
  })
}

/** `POST /api/comments/{id}/hide` (coordinators). */
export function useHide(consultation: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: ({ comment, reason }: { comment: string; reason: string }) => api<Comment>("POST", `/api/comments/${comment}/hide`, { reason }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["consultations", consultation] }),
  })
}

/** `GET /api/consultations/{id}/unanswered` (the city's staff). */
export function useUnanswered(id: string, enabled: boolean) {
  return useQuery({
    queryKey: ["consultations", id, "unanswered"],
    queryFn: () => api<Unanswered>("GET", `/api/consultations/${id}/unanswered`),
    enabled,
    // Fetched again with the comments on each live event; this covers a stream that is down.
    refetchInterval: FALLBACK_POLL_MS,
  })
}

/** `GET /api/cities/{city}/strategies`: what a consultation can be opened on. */
export function useCityStrategies(city: string, enabled: boolean) {
  return useQuery({
    queryKey: ["cities", city, "strategies"],
    queryFn: () => api<{ id: string; title: string; sections: { id: string; title: string }[] }[]>("GET", `/api/cities/${city}/strategies`),
    enabled,
  })
}

/** The report's address in one format. */
export function reportUrl(id: string, format: "md" | "csv" | "html"): string {
  return `/api/consultations/${id}/report?format=${format}`
}
