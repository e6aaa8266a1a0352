import { useEffect, useRef, useState } from "react"

/** How often a list fetches again while its live stream is down (closed, refused, or
 * reconnecting); while the stream is up there is no polling at all. */
export const FALLBACK_POLL_MS = 30_000

/**
 * Follows a Server-Sent Events stream of the server's (`/api/…/events`, same origin, the
 * session cookie) and calls `onChange` when it says something changed: on `ready` (the
 * stream opened or reopened, so whatever happened meanwhile is fetched), `comment` and
 * `resync`. `end` (access or credential gone) closes it for good. The browser reconnects by
 * itself after a network error. Returns whether the stream is up, for the caller to turn its
 * fallback polling off.
 */
export function useLiveUpdates(url: string | null, onChange: () => void): boolean {
  const [live, setLive] = useState(false)
  const callback = useRef(onChange)
  useEffect(() => {
    callback.current = onChange
  })
  useEffect(() => {
    if (url === null || typeof EventSource === "undefined") return
    const source = new EventSource(url)
    const changed = () => callback.current()
    source.addEventListener("ready", () => {
      setLive(true)
      changed()
    })
    source.addEventListener("comment", changed)
    source.addEventListener("resync", changed)
    source.addEventListener("end", () => {
      source.close()
      setLive(false)
    })
    source.onerror = () => setLive(source.readyState === EventSource.OPEN)
    return () => {
      source.close()
      setLive(false)
    }
  }, [url])
  return live
}
