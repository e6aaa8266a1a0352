import { useEffect, useState } from "react"
import type { DocHandle } from "@automerge/automerge-repo/slim"
import type { PageRepo } from "../../../lib/automerge"

export interface SyncStatus {
  online: boolean
  /** The server's heads include every local head: closing the tab loses nothing. */
  saved: boolean
}

/** Saved means the server's last known heads (tracked by automerge-repo under the storageId
 * the server announced) include all of ours. */
export function isSaved(ours: readonly string[], theirs: readonly string[] | undefined): boolean {
  if (!theirs) return false
  const known = new Set(theirs)
  return ours.every((head) => known.has(head))
}

export function useSyncStatus(handle: DocHandle<unknown>, page: PageRepo): SyncStatus {
  const compute = (): SyncStatus => {
    const connection = page.connection()
    const storageId = connection.serverStorageId
    const theirs = storageId ? handle.getSyncInfo(storageId)?.lastHeads : undefined
    return { online: connection.online, saved: isSaved(handle.heads() ?? [], theirs) }
  }
  const [status, setStatus] = useState<SyncStatus>(compute)
  useEffect(() => {
    const update = () => {
      const next = compute()
      setStatus((prev) => (prev.online === next.online && prev.saved === next.saved ? prev : next))
    }
    update()
    handle.on("change", update)
    handle.on("heads-changed", update)
    handle.on("remote-heads", update)
    const unsubscribe = page.subscribe(update)
    return () => {
      handle.off("change", update)
      handle.off("heads-changed", update)
      handle.off("remote-heads", update)
      unsubscribe()
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [handle, page])
  return status
}
