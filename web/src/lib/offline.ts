// The service worker (`service-worker.js`, built to `/sw.js`) keeps the app's files and the
// API's last answers so a page reloads while the server is unreachable. This module registers
// it, and hands it the API paths the page fetched before the worker controlled the page (the
// first visit), so those answers are kept as well.

const before = new Set<string>()

function controlled(): boolean {
  return typeof navigator !== "undefined" && !!navigator.serviceWorker?.controller
}

/** Notes a GET of the API made while no service worker controls the page. */
export function rememberGet(path: string): void {
  if (!controlled() && path.startsWith("/api/")) before.add(path)
}

function handOver(): void {
  const worker = navigator.serviceWorker.controller
  if (!worker || before.size === 0) return
  worker.postMessage({ type: "concerta-cache-api", paths: [...before] })
  before.clear()
}

/** Registers the service worker (production builds only: the dev server has no `/sw.js`). */
export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || typeof navigator === "undefined" || !("serviceWorker" in navigator)) return
  navigator.serviceWorker.addEventListener("controllerchange", handOver)
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch((error: unknown) => {
      // The app works without it, only not offline across a reload.
      console.warn("service worker not registered", error)
    })
  })
}
