import { useEffect, useState } from "react"
import type { DocHandle } from "@automerge/automerge-repo/slim"
import type { PageRepo } from "../../../lib/automerge"
import type { SectionDoc } from "../binding"

export type SectionHandleState =
  | { status: "loading" }
  | { status: "ready"; handle: DocHandle<SectionDoc>; page: PageRepo }
  | { status: "unavailable"; retry: () => void }
  | { status: "deleted" }

/** Finds a section's document in the page's Repo. automerge-repo caches a failed find, so
 * "unavailable" offers a retry that asks again. */
export function useSectionHandle(user: string | undefined, url: string | undefined): SectionHandleState {
  const [state, setState] = useState<SectionHandleState>({ status: "loading" })
  const [attempt, setAttempt] = useState(0)
  useEffect(() => {
    if (!user || !url) return
    let cancelled = false
    const controller = new AbortController()
    setState({ status: "loading" })
    ;(async () => {
      try {
        const { pageRepo } = await import("../../../lib/automerge")
        const page = await pageRepo(user)
        const handle = await page.repo.find<SectionDoc>(url as never, { signal: controller.signal })
        if (cancelled) return
        performance.mark("concerta:doc")
        handle.on("delete", () => setState({ status: "deleted" }))
        setState({ status: "ready", handle, page })
      } catch {
        if (!cancelled) setState({ status: "unavailable", retry: () => setAttempt((n) => n + 1) })
      }
    })()
    return () => {
      cancelled = true
      controller.abort()
    }
  }, [user, url, attempt])
  return state
}
