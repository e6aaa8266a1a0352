// The one way to the server's REST API: same-origin, JSON, the CSRF header on every write,
// typed errors, and one handler for "not logged in". Each endpoint lives in its feature's
// `api/` folder and calls `api()`.
import { rememberGet } from "./offline"

/** The server's error shape: `{"error": {"code", "message", "field"?, "reason"?, "limit"?,
 * "row"?}}`. `message` is the server's English; the app shows `code` (and, for a field,
 * `reason`) in the user's language (components/ErrorMessage.tsx). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly field?: string
  /** The row of an imported file the error is about (header = row 1). */
  readonly row?: number
  /** What is wrong with `field`, as a code (`empty`, `too_long`, `email`…). */
  readonly reason?: string
  /** The number of a length rule (`too_long`, `too_short`). */
  readonly limit?: number

  constructor(status: number, code: string, message: string, field?: string, row?: number, detail?: { reason?: string; limit?: number }) {
    super(message)
    this.name = "ApiError"
    this.status = status
    this.code = code
    this.field = field
    this.row = row
    this.reason = detail?.reason
    this.limit = detail?.limit
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; field?: string; row?: number; reason?: string; limit?: number }
}

function apiError(response: Response, json: unknown): ApiError {
  const error = (json as ErrorBody | undefined)?.error
  return new ApiError(response.status, error?.code ?? "http_" + response.status, error?.message ?? response.statusText, error?.field, error?.row, {
    reason: error?.reason,
    limit: error?.limit,
  })
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

let onUnauthorized: (() => void) | undefined

/** Registers what happens when the server answers 401 (the app sends the user to log in). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler
}

/**
 * Calls the API. Resolves with the JSON body (`undefined` for 204), rejects with `ApiError`
 * (or a network `TypeError` when the server is unreachable).
 */
export async function api<T>(method: Method, path: string, body?: unknown, init?: { signal?: AbortSignal; quiet401?: boolean }): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" }
  if (method !== "GET") headers["x-concerta-csrf"] = "1"
  if (body !== undefined) headers["content-type"] = "application/json"
  if (method === "GET") rememberGet(path)
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal: init?.signal,
  })
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let json: unknown = undefined
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  if (!response.ok) {
    if (response.status === 401 && !init?.quiet401) onUnauthorized?.()
    throw apiError(response, json)
  }
  return json as T
}

/**
 * Sends a body that is not JSON (a multipart form with a file, a CSV file) with the same rules
 * as `api()`; the browser sets the multipart boundary itself.
 */
export async function apiUpload<T>(method: Method, path: string, body: FormData | Blob, contentType?: string): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", "x-concerta-csrf": "1" }
  if (contentType) headers["content-type"] = contentType
  const response = await fetch(path, { method, headers, body, credentials: "same-origin" })
  const text = await response.text()
  let json: unknown = undefined
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  if (!response.ok) {
    if (response.status === 401) onUnauthorized?.()
    throw apiError(response, json)
  }
  return json as T
}

/** Fetches a text resource (exports) with the same rules. */
export async function apiText(path: string): Promise<string> {
  const response = await fetch(path, { credentials: "same-origin" })
  if (!response.ok) {
    if (response.status === 401) onUnauthorized?.()
    throw new ApiError(response.status, "http_" + response.status, response.statusText)
  }
  return response.text()
}
