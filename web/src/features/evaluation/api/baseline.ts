import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api } from "../../../lib/api"

export interface Text3 {
  es: string
  en: string
  pt: string
}

export interface Network {
  id: string
  name: string
  slug: string
  city_ids: string[]
}

export interface Question {
  id: string
  key: string
  position: number
  group: Text3
  text: Text3
  kind: "scale" | "percent" | "number"
}

export interface Questionnaire {
  id: string
  network_id: string
  title: string
  period: string
  questions: Question[]
}

export interface Spread {
  count: number
  min: number
  q1: number
  median: number
  q3: number
  max: number
}

export interface Comparison {
  period: string
  respondents: number
  own_shared: boolean | null
  questions: { question: Question; spread: Spread | null; own: number | null; others: { city_id: string; city_name: string; value: number }[] }[]
}

/** `GET /api/networks`. */
export function useNetworks() {
  return useQuery({ queryKey: ["networks"], queryFn: () => api<Network[]>("GET", "/api/networks") })
}

/** `GET /api/networks/{id}/questionnaires`. */
export function useQuestionnaires(network: string) {
  return useQuery({
    queryKey: ["networks", network, "questionnaires"],
    queryFn: () => api<Questionnaire[]>("GET", `/api/networks/${network}/questionnaires`),
  })
}

export const comparisonKey = (questionnaire: string, city: string) => ["questionnaires", questionnaire, "comparison", city] as const

/** `GET /api/questionnaires/{id}/comparison?city=`. */
export function useComparison(questionnaire: string, city: string) {
  return useQuery({
    queryKey: comparisonKey(questionnaire, city),
    queryFn: () => api<Comparison>("GET", `/api/questionnaires/${questionnaire}/comparison?city=${city}`),
  })
}

/** `PUT /api/questionnaires/{id}/responses/{city}`. */
export function useRespond(questionnaire: string, city: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (body: { answers: Record<string, number>; shared: boolean }) =>
      api("PUT", `/api/questionnaires/${questionnaire}/responses/${city}`, body),
    onSuccess: () => client.invalidateQueries({ queryKey: comparisonKey(questionnaire, city) }),
  })
}

/** `POST /api/networks` (network admins). */
export function useCreateNetwork() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (body: { name: string; slug: string }) => api<Network>("POST", "/api/networks", body),
    onSuccess: () => client.invalidateQueries({ queryKey: ["networks"] }),
  })
}

/** `POST /api/networks/{id}/cities` (network admins). */
export function useAddNetworkCity(network: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (city_id: string) => api<Network>("POST", `/api/networks/${network}/cities`, { city_id }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["networks"] }),
  })
}

/** `POST /api/networks/{id}/questionnaires` with the seed's default questions (network admins). */
export function useCreateQuestionnaire(network: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (body: { title: string; period: string }) => api<Questionnaire>("POST", `/api/networks/${network}/questionnaires`, body),
    onSuccess: () => client.invalidateQueries({ queryKey: ["networks", network, "questionnaires"] }),
  })
}

/** `PATCH /api/questionnaires/{id}` `{"period"}` (network admins). */
export function useOpenPeriod(network: string, questionnaire: string) {
  const client = useQueryClient()
  return useMutation({
    mutationFn: (period: string) => api<Questionnaire>("PATCH", `/api/questionnaires/${questionnaire}`, { period }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["networks", network, "questionnaires"] }),
  })
}
