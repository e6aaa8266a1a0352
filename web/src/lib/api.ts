// The one way to the server's REST API: same-origin, JSON, the CSRF header on every write,
// typed errors, and one handler for "not logged in". Each endpoint lives in its feature's
// `api/` folder and calls `api()`.

/** The server's error shape: `{"error": {"code", "message", "field"?}}`. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly field?: string

  constructor(status: number, code: string, message: string, field?: string) {
    super(message)
    this.name = "ApiError"
    this.status = status
    this.code = code
    this.field = field
  }
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
    const error = (json as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error
    if (response.status === 401 && !init?.quiet401) onUnauthorized?.()
    throw new ApiError(response.status, error?.code ?? "http_" + response.status, error?.message ?? response.statusText, error?.field)
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
