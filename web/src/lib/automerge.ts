// Automerge in the browser: the wasm is fetched by URL (a separate, cacheable asset, not
// inlined into the JavaScript), then one Repo per page load talks to the server's `/sync`
// WebSocket (authenticated by the session cookie) and keeps documents in IndexedDB, so edits
// made offline survive a reload. The Repo's connection state is observable for the status
// region (connected? which peer is the server, and its storageId for "saved").
import { initializeWasm } from "@automerge/automerge/slim"
import wasmUrl from "@automerge/automerge/automerge.wasm?url"
import { Repo, type PeerId, type StorageId } from "@automerge/automerge-repo/slim"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { IndexedDBStorageAdapter } from "@automerge/automerge-repo-storage-indexeddb"

let wasm: Promise<void> | undefined

/** Loads automerge's wasm once. */
export function loadAutomerge(): Promise<void> {
  wasm ??= initializeWasm(wasmUrl)
  return wasm
}

export interface Connection {
  /** Whether the server is connected now. */
  online: boolean
  /** The server's peer id while connected. */
  serverPeerId?: PeerId
  /** The server's storageId (announced in its `peer` message): its heads mean "saved". */
  serverStorageId?: StorageId
}

type Listener = (connection: Connection) => void

/** The page's Repo with its observable connection to the server. */
export interface PageRepo {
  repo: Repo
  connection(): Connection
  subscribe(listener: Listener): () => void
}

let page: { user: string; value: PageRepo } | undefined

/** The page's one Repo for `user` (IndexedDB is per user, so people sharing a browser never
 * share stored documents). */
export async function pageRepo(user: string): Promise<PageRepo> {
  await loadAutomerge()
  if (page && page.user === user) return page.value
  if (page) page.value.repo.shutdown()
  const scheme = location.protocol === "https:" ? "wss:" : "ws:"
  const network = new WebSocketClientAdapter(`${scheme}//${location.host}/sync`, 1000)
  const repo = new Repo({
    network: [network],
    storage: new IndexedDBStorageAdapter(`concerta-${user}`),
  })
  let state: Connection = { online: false }
  const listeners = new Set<Listener>()
  const set = (next: Connection) => {
    state = next
    for (const listener of listeners) listener(state)
  }
  repo.networkSubsystem.on("peer", ({ peerId }) => {
    set({ online: true, serverPeerId: peerId, serverStorageId: repo.getStorageIdOfPeer(peerId) })
  })
  repo.networkSubsystem.on("peer-disconnected", ({ peerId }) => {
    if (state.serverPeerId === peerId) set({ online: false, serverStorageId: state.serverStorageId })
  })
  const value: PageRepo = {
    repo,
    connection: () => state,
    subscribe: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
  page = { user, value }
  return value
}
