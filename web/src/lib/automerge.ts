// Automerge in the browser: the wasm is fetched by URL (a separate, cacheable asset, not
// inlined into the JavaScript), then one Repo per page load talks to the server's `/sync`
// WebSocket (authenticated by the session cookie) and keeps documents in IndexedDB, so edits
// made offline survive a reload. The Repo's connection state is observable for the status
// region (connected? which peer is the server, and its storageId for "saved").
import { initializeWasm } from "@automerge/automerge/slim"
import { Repo, type PeerId, type StorageId } from "@automerge/automerge-repo/slim"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { IndexedDBStorageAdapter } from "@automerge/automerge-repo-storage-indexeddb"
import { decode } from "cbor-x"
import { automergeWasm } from "./wasm"

let wasm: Promise<void> | undefined

/** Loads automerge's wasm once (compiled by `lib/wasm`, maybe already under way). */
export function loadAutomerge(): Promise<void> {
  // automerge hands its argument to wasm-bindgen's init, which also takes a compiled module.
  wasm ??= automergeWasm()
    .then((module) => initializeWasm(module as string))
    .then(() => void performance.mark("concerta:wasm"))
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

/** The server's roster of a document (`{"type":"concerta-peers","peers":[…]}`): the server
 * sends it when someone joins or leaves, often before the page has a handle to listen on,
 * so the page keeps the latest one per document. */
export interface Roster {
  type: "concerta-peers"
  peers: { peerId: string; userId: string; name: string; access: "read" | "write" }[]
}

/** The page's Repo with its observable connection to the server. */
export interface PageRepo {
  repo: Repo
  connection(): Connection
  subscribe(listener: Listener): () => void
  /** The latest roster the server sent for `documentId`, if any. */
  roster(documentId: string): Roster | undefined
}

let page: { user: string; value: PageRepo } | undefined

/** The page's one Repo for `user` (IndexedDB is per user, so people sharing a browser never
 * share stored documents), once automerge's wasm is ready for its documents. The connection
 * to the server opens at once, while the wasm may still be compiling: the Repo and its
 * network need no automerge until a document is asked for, which is after this resolves. */
export async function pageRepo(user: string): Promise<PageRepo> {
  const value = connect(user)
  await loadAutomerge()
  return value
}

function connect(user: string): PageRepo {
  if (page && page.user === user) return page.value
  if (page) page.value.repo.shutdown()
  performance.mark("concerta:connect")
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
    performance.mark("concerta:server-peer")
    set({ online: true, serverPeerId: peerId, serverStorageId: repo.getStorageIdOfPeer(peerId) })
  })
  repo.networkSubsystem.on("peer-disconnected", ({ peerId }) => {
    if (state.serverPeerId === peerId) {
      set({ online: false, serverStorageId: state.serverStorageId })
      rosters.clear()
    }
  })
  const rosters = new Map<string, Roster>()
  repo.networkSubsystem.on("message", (message) => {
    if (message.type !== "ephemeral" || message.senderId !== state.serverPeerId) return
    try {
      const data = decode(message.data) as Roster
      if (data?.type === "concerta-peers" && Array.isArray(data.peers)) rosters.set(message.documentId, data)
    } catch {
      // Not CBOR we understand: not a roster.
    }
  })
  const value: PageRepo = {
    repo,
    connection: () => state,
    subscribe: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    roster: (documentId) => rosters.get(documentId),
  }
  page = { user, value }
  // For the browser tests and for looking around in devtools: the page's Repo. Whoever can
  // open devtools can reach it anyway; the server decides what a change may do.
  ;(globalThis as { __concerta?: { repo: Repo } }).__concerta = { repo }
  return value
}
