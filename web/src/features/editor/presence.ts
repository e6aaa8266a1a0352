// Who is in a section and where their cursor is, over automerge-repo ephemeral messages.
//
// - Names come only from the server's roster (`{"type":"concerta-peers","peers":[…]}`), sent by
//   the server itself: a message counts as a roster only when its sender is the peer we are
//   connected to (the server), never another browser, so nobody can name themselves.
// - Each tab broadcasts `{"type":"concerta-cursor","anchor","head"}` with automerge cursors
//   (stable under concurrent edits) for its selection, at most every CURSOR_INTERVAL_MS, and
//   again when someone joins. The server relays it under the sender's own peer id.
import * as A from "@automerge/automerge/slim"
import type { DocHandle, PeerId } from "@automerge/automerge-repo/slim"
import type { PageRepo } from "../../lib/automerge"

export const ROSTER_TYPE = "concerta-peers"
export const CURSOR_TYPE = "concerta-cursor"
/** The shortest gap between two cursor broadcasts of one tab (the server allows 20/s). */
export const CURSOR_INTERVAL_MS = 100

export interface RosterEntry {
  peerId: string
  userId: string
  name: string
  access: "read" | "write"
}

export interface PeerCursor {
  anchor: A.Cursor
  head: A.Cursor
}

export interface PresenceSnapshot {
  /** Everyone in the section (one entry per tab), from the server's roster. */
  roster: RosterEntry[]
  /** The latest cursor of each other tab, by peer id. */
  cursors: Map<string, PeerCursor>
  /** This tab's peer id. */
  self: string
}

type Listener = (snapshot: PresenceSnapshot) => void

/** How many person colours the stylesheet defines (`.person-color-0` …). */
export const PERSON_COLORS = 8

/** A stable colour per user (the same person has the same colour in every tab), as the
 * class `person-color-N`: classes, not inline styles, so the page's CSP (`style-src 'self'`)
 * holds. */
export function colorFor(userId: string): string {
  let hash = 0
  for (const char of userId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0
  return `person-color-${hash % PERSON_COLORS}`
}

function isRoster(message: unknown): message is { type: string; peers: RosterEntry[] } {
  const m = message as { type?: unknown; peers?: unknown }
  return m?.type === ROSTER_TYPE && Array.isArray(m.peers)
}

function isCursor(message: unknown): message is { type: string; anchor: string; head: string } {
  const m = message as { type?: unknown; anchor?: unknown; head?: unknown }
  return m?.type === CURSOR_TYPE && typeof m.anchor === "string" && typeof m.head === "string"
}

/** The presence of one section document; `dispose()` when leaving it. */
export class SectionPresence {
  private roster: RosterEntry[] = []
  private cursors = new Map<string, PeerCursor>()
  private listeners = new Set<Listener>()
  private mine?: { anchor: number; head: number }
  private lastSent = 0
  private pending?: ReturnType<typeof setTimeout>
  private readonly path: A.Prop[]
  private readonly handle: DocHandle<unknown>
  private readonly page: PageRepo

  constructor(handle: DocHandle<unknown>, page: PageRepo, path: A.Prop[]) {
    this.handle = handle
    this.page = page
    this.path = path
    handle.on("ephemeral-message", this.onMessage)
    // The roster may have come before this handle had listeners.
    const known = page.roster(handle.documentId)
    if (known) this.roster = known.peers
  }

  get self(): string {
    return this.page.repo.peerId
  }

  snapshot(): PresenceSnapshot {
    return { roster: this.roster, cursors: this.cursors, self: this.self }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener)
    listener(this.snapshot())
    return () => this.listeners.delete(listener)
  }

  /** Records this tab's selection (automerge text indices) and broadcasts it, throttled. */
  setSelection(anchor: number, head: number): void {
    this.mine = { anchor, head }
    this.scheduleBroadcast()
  }

  dispose(): void {
    this.handle.off("ephemeral-message", this.onMessage)
    if (this.pending) clearTimeout(this.pending)
    this.listeners.clear()
  }

  private emit(): void {
    const snapshot = this.snapshot()
    for (const listener of this.listeners) listener(snapshot)
  }

  private onMessage = ({ senderId, message }: { senderId: PeerId; message: unknown }) => {
    const server = this.page.connection().serverPeerId
    if (isRoster(message)) {
      // Only the server names people.
      if (!server || senderId !== server) return
      const before = new Set(this.roster.map((p) => p.peerId))
      this.roster = message.peers.filter((p) => typeof p.peerId === "string" && typeof p.name === "string")
      const present = new Set(this.roster.map((p) => p.peerId))
      for (const peer of [...this.cursors.keys()]) if (!present.has(peer)) this.cursors.delete(peer)
      // Someone new: tell them where we are.
      if (this.roster.some((p) => !before.has(p.peerId) && p.peerId !== this.self)) this.broadcastNow()
      this.emit()
      return
    }
    if (isCursor(message) && senderId !== this.self && senderId !== server) {
      this.cursors.set(senderId, { anchor: message.anchor as A.Cursor, head: message.head as A.Cursor })
      this.emit()
    }
  }

  private scheduleBroadcast(): void {
    const wait = this.lastSent + CURSOR_INTERVAL_MS - Date.now()
    if (wait <= 0) {
      this.broadcastNow()
    } else if (!this.pending) {
      this.pending = setTimeout(() => {
        this.pending = undefined
        this.broadcastNow()
      }, wait)
    }
  }

  private broadcastNow(): void {
    if (!this.mine || !this.page.connection().online) return
    const doc = this.handle.doc()
    if (!doc) return
    try {
      const anchor = A.getCursor(doc, this.path, this.mine.anchor)
      const head = this.mine.head === this.mine.anchor ? anchor : A.getCursor(doc, this.path, this.mine.head)
      this.handle.broadcast({ type: CURSOR_TYPE, anchor, head })
      this.lastSent = Date.now()
    } catch {
      // The text moved under us between the selection and now; the next selection fixes it.
    }
  }
}
