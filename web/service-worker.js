// The app's service worker: what lets a page be reloaded while the server is unreachable.
// `vite build` writes it to `dist/sw.js` with the two constants below filled in (see
// vite.config.ts, `serviceWorker()`); the server serves it at `/sw.js`.
//
// - The app shell (index.html and every hashed file of the build, automerge's wasm included)
//   is cached when the worker installs. Hashed files are answered from that cache (their name
//   changes whenever their content does); pages (navigations to client routes) go to the
//   network first and fall back to the cached index.html.
// - The API's JSON answers (GET /api/…) go to the network first; the last answer of each is
//   kept and given back while the server is unreachable, so the page that opens a section
//   knows who is asking and which document to open. A login or logout empties that cache.
// - Everything else (the sync WebSocket, live event streams, server-rendered pages, writes) is
//   not touched.
//   Documents live in automerge-repo's IndexedDB, not here.
//
// Content-Security-Policy: a same-origin worker script is allowed by `default-src 'self'`.
/* global self, caches, fetch, URL, Request */

const VERSION = "__CONCERTA_VERSION__"
const PRECACHE = ["__CONCERTA_PRECACHE__"]

const SHELL = `concerta-shell-${VERSION}`
const API = "concerta-api"
const SERVER_PATHS = ["/api/", "/sync", "/public/", "/rsvp/", "/healthz", "/readyz", "/metrics"]

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL)
      await cache.addAll(["/index.html", ...PRECACHE])
      await self.skipWaiting()
    })(),
  )
})

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith("concerta-shell-") && name !== SHELL) await caches.delete(name)
      await self.clients.claim()
    })(),
  )
})

// The page asks for the API answers it fetched before this worker controlled it (its first
// load), so they are at hand offline too.
self.addEventListener("message", (event) => {
  const data = event.data
  if (!data || data.type !== "concerta-cache-api" || !Array.isArray(data.paths)) return
  event.waitUntil(
    Promise.all(
      data.paths
        .filter((path) => typeof path === "string" && path.startsWith("/api/"))
        .map((path) => fromNetwork(new Request(path, { credentials: "same-origin", headers: { accept: "application/json" } })).catch(() => undefined)),
    ),
  )
})

self.addEventListener("fetch", (event) => {
  const request = event.request
  const url = new URL(request.url)
  if (url.origin !== self.location.origin) return
  const path = url.pathname
  if (path === "/api/auth/login" || path === "/api/auth/logout") {
    // Someone else may be about to use this browser: forget the last one's answers.
    event.waitUntil(caches.delete(API))
    return
  }
  if (request.method !== "GET") return
  // Live event streams (`/api/…/events`) never end: nothing to keep, straight to the server.
  if ((request.headers.get("accept") || "").includes("text/event-stream")) return
  if (path.startsWith("/api/")) {
    event.respondWith(apiAnswer(request))
    return
  }
  if (SERVER_PATHS.some((prefix) => path.startsWith(prefix))) return
  if (path.startsWith("/assets/")) {
    event.respondWith(caches.match(request, { cacheName: SHELL }).then((hit) => hit || fetch(request)))
    return
  }
  if (request.mode === "navigate") event.respondWith(page(request))
})

/** Fetches an API answer and keeps it when it is a JSON success. */
async function fromNetwork(request) {
  const response = await fetch(request)
  const type = response.headers.get("content-type") || ""
  if (response.ok && type.includes("application/json")) {
    const cache = await caches.open(API)
    await cache.put(request.url, response.clone())
  } else if (response.status === 401) {
    await caches.delete(API)
  }
  return response
}

async function apiAnswer(request) {
  try {
    return await fromNetwork(request)
  } catch (error) {
    const kept = await caches.match(request.url, { cacheName: API })
    if (kept) return kept
    throw error
  }
}

async function page(request) {
  try {
    return await fetch(request)
  } catch (error) {
    const shell = await caches.match("/index.html", { cacheName: SHELL })
    if (shell) return shell
    throw error
  }
}
