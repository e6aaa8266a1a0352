#!/usr/bin/env node
// A real automerge-repo 2.x client (the same code a browser runs) driven by a JSON scenario.
//   node tests/js/client.mjs '<json>'      (see README.md for the scenario format)
// stdout: JSON lines only. Intermediate lines carry "event"; the LAST line carries "ok".
// Exit codes: 0 ok, 1 error, 2 timeout, 3 doc unavailable, 4 no connection (refused, HTTP status).
import { Repo, cbor, splice, updateText, ImmutableString } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import * as A from "@automerge/automerge"
import readline from "node:readline"

// ---- stdout discipline: library console output goes to stderr and is kept for the report
const logs = []
for (const level of ["log", "info", "warn", "error", "debug"]) {
  console[level] = (...args) => {
    const line = args.map(a => (typeof a === "string" ? a : safeJson(a))).join(" ")
    logs.push(`${level}: ${line}`)
    process.stderr.write(`[client ${level}] ${line}\n`)
  }
}
function safeJson(v) {
  try { return JSON.stringify(v, (_k, x) => (x instanceof Error ? x.message : x)) } catch { return String(v) }
}
const emit = obj => process.stdout.write(JSON.stringify(obj) + "\n")
const sleep = ms => new Promise(r => setTimeout(r, ms))

// ---- arguments
let args
try {
  args = JSON.parse(process.argv[2] ?? "")
} catch (e) {
  emit({ ok: false, error: `usage: node client.mjs '<json>' (${e.message})` })
  process.exit(1)
}
const timeoutMs = args.timeoutMs ?? 30000
const deadline = Date.now() + timeoutMs
if (!args.url) fail(1, "missing url")
if (!args.doc && !args.create) fail(1, "need doc (automerge URL) or create ({title, body})")

// ---- what the server told us, observed under the network adapter
const observed = { serverErrors: [], docUnavailable: [], messagesIn: {}, socketCloses: 0, serverPeer: null, rosters: [], ephemeral: [] }
class ObservedAdapter extends WebSocketClientAdapter {
  constructor(url, retryMs) {
    super(url, retryMs)
    const onClose = this.onClose // listeners are attached in connect(), after this
    this.onClose = () => { observed.socketCloses++; onClose() }
  }
  receiveMessage(bytes) {
    try {
      const m = cbor.decode(new Uint8Array(bytes))
      observed.messagesIn[m.type] = (observed.messagesIn[m.type] ?? 0) + 1
      if (m.type === "error") {
        // automerge-repo 2.x only debug-logs these; we surface them.
        observed.serverErrors.push(m.message)
        process.stderr.write(`[client] server error message: ${m.message}\n`)
      } else if (m.type === "doc-unavailable") {
        observed.docUnavailable.push(m.documentId)
      } else if (m.type === "peer") {
        observed.serverPeer = {
          senderId: m.senderId,
          peerMetadata: m.peerMetadata ?? null,
          selectedProtocolVersion: m.selectedProtocolVersion ?? null,
        }
      }
    } catch { /* the adapter logs undecodable frames itself */ }
    return super.receiveMessage(bytes)
  }
}

// ---- in-memory storage: gives the repo a storageId (as IndexedDB does in a browser)
class MemoryStorage {
  #m = new Map()
  async load(key) { return this.#m.get(key.join("/")) }
  async save(key, data) { this.#m.set(key.join("/"), data) }
  async remove(key) { this.#m.delete(key.join("/")) }
  async loadRange(prefix) {
    const p = prefix.join("/")
    return [...this.#m].filter(([k]) => k === p || k.startsWith(p + "/"))
      .map(([k, data]) => ({ key: k.split("/"), data }))
  }
  async removeRange(prefix) { for (const c of await this.loadRange(prefix)) this.#m.delete(c.key.join("/")) }
}

const storage = (args.storage ?? "memory") === "memory" ? new MemoryStorage() : undefined
const adapter = new ObservedAdapter(args.url, args.retryIntervalMs ?? 1000)
const repo = new Repo({ network: [adapter], storage, ...(args.peerId ? { peerId: args.peerId } : {}) })

// Sync state per document and remote peer (theirHeads, peerReadOnly), recorded from the start
// (the first sync message may arrive before find() resolves).
let handle = null
const syncStatesByDoc = {}
repo.synchronizer.on("sync-state", ({ peerId, syncState, documentId }) => {
  syncStatesByDoc[documentId] ??= {}
  syncStatesByDoc[documentId][peerId] = { theirHeads: syncState.theirHeads ?? null, peerReadOnly: !!syncState.peerReadOnly }
})
const syncStates = () => (handle ? syncStatesByDoc[handle.documentId] ?? {} : {})

// Ephemeral messages as the app sees them (handle.on("ephemeral-message")): the server's
// rosters ({type: "concerta-peers", peers}) and other peers' presence. The listener goes on
// the handle findWithProgress hands out at once, before the document is ready, so that the
// roster sent right after our access was decided is not missed.
function observeEphemeral(h) {
  h.on("ephemeral-message", ({ senderId, message }) => {
    if (message?.type === "concerta-peers") observed.rosters.push({ senderId, peers: message.peers })
    else observed.ephemeral.push({ senderId, message })
  })
}
const lastRoster = () => observed.rosters.at(-1) ?? null
const rosterMatches = spec => {
  const r = lastRoster()
  if (!r) return false
  const names = r.peers.map(p => p.name).sort()
  return (!spec.names || JSON.stringify(names) === JSON.stringify([...spec.names].sort())) &&
    (!spec.count || r.peers.length === spec.count)
}

// ---- helpers
const getAt = (doc, path) => path.reduce((o, k) => (o == null ? undefined : o[k]), doc)
const asText = v => (v == null ? null : typeof v === "string" ? v : v instanceof ImmutableString ? v.val : safeJson(v))
const sortedHeads = () => (handle?.isReady() ? [...A.getHeads(handle.doc())].sort() : [])
function state() {
  const doc = handle?.isReady() ? handle.doc() : undefined
  return {
    peerId: repo.peerId,
    url: handle?.url ?? null,
    documentId: handle?.documentId ?? null,
    heads: sortedHeads(),
    title: asText(doc?.title),
    body: asText(doc?.body),
    keys: doc ? Object.keys(doc).sort() : [],
    serverErrors: observed.serverErrors,
    docUnavailable: observed.docUnavailable,
    serverPeer: observed.serverPeer,
    peerReadOnly: Object.values(syncStates()).some(s => s.peerReadOnly),
    messagesIn: observed.messagesIn,
    socketCloses: observed.socketCloses,
    roster: lastRoster(),
    rosters: observed.rosters.length,
    ephemeral: observed.ephemeral,
    logs: logs.slice(-20),
  }
}
function fail(code, error, extra = {}) {
  let st = {}
  try { st = state() } catch { /* before setup */ }
  process.stdout.write(JSON.stringify({ ok: false, error, ...st, ...extra }) + "\n", () => process.exit(code))
  setTimeout(() => process.exit(code), 200) // belt and braces
  return new Promise(() => {}) // never resolves: the process ends
}
async function waitUntil(what, pred, ms) {
  const until = Math.min(deadline, ms ? Date.now() + ms : deadline)
  for (;;) {
    if (pred()) return
    if (Date.now() >= until) await fail(2, `timeout waiting for ${what}`)
    await sleep(10)
  }
}
const syncedWithServer = () => {
  const ours = sortedHeads().join()
  return Object.entries(syncStates()).some(([p, s]) =>
    repo.peers.includes(p) && s.theirHeads && [...s.theirHeads].sort().join() === ours)
}
let stdinLines = null // read only once a scenario waits on stdin (a barrier a test can drive)
function takeLine(want) {
  if (!stdinLines) {
    stdinLines = []
    readline.createInterface({ input: process.stdin }).on("line", l => stdinLines.push(l.trim()))
  }
  const i = stdinLines.findIndex(l => want === true || l === want)
  return i >= 0 && stdinLines.splice(i, 1).length === 1
}
const matches = (v, spec) =>
  ("equals" in spec ? v === spec.equals : true) &&
  ("contains" in spec ? typeof v === "string" && v.includes(spec.contains) : true) &&
  ("notContains" in spec ? typeof v === "string" && !v.includes(spec.notContains) : true)

async function runAction(act) {
  const [kind, spec] = Object.entries(act)[0]
  switch (kind) {
    case "splice": { // {path, index ("end" allowed), del?, text?}
      handle.change(d => {
        const index = spec.index === "end" ? (getAt(d, spec.path) ?? "").length : spec.index ?? 0
        splice(d, spec.path, index, spec.del ?? 0, spec.text ?? "")
      })
      break
    }
    case "updateText": handle.change(d => updateText(d, spec.path, spec.text)); break
    case "splitBlock": { // {path, index ("end" allowed), block: {type, parents?, attrs?}}: a block marker as the binding writes it
      handle.change(d => {
        const index = spec.index === "end" ? A.spans(d, spec.path).reduce((n, s) => n + (s.type === "text" ? s.value.length : 1), 0) : spec.index
        A.splitBlock(d, spec.path, index, {
          type: new ImmutableString(spec.block.type),
          parents: (spec.block.parents ?? []).map(p => new ImmutableString(p)),
          attrs: spec.block.attrs ?? {},
          isEmbed: false,
        })
      })
      break
    }
    case "mark": // {path, start, end, name, value?, expand?}: A.mark as the binding calls it
      handle.change(d => A.mark(d, spec.path, { start: spec.start, end: spec.end, expand: spec.expand ?? "both" }, spec.name, spec.value ?? true))
      break
    case "richCheck": await richCheck(spec); break
    case "set": { // {path, value, immutable?}: a string value becomes automerge text, as in `d.title = "…"`
      handle.change(d => {
        const parent = getAt(d, spec.path.slice(0, -1))
        parent[spec.path.at(-1)] = spec.immutable ? new ImmutableString(spec.value) : spec.value
      })
      break
    }
    case "delete": handle.change(d => { delete getAt(d, spec.path.slice(0, -1))[spec.path.at(-1)] }); break
    case "waitFor": await waitUntil(`${spec.path.join(".")} ${safeJson(spec)}`, () => handle.isReady() && matches(asText(getAt(handle.doc(), spec.path)), spec), spec.timeoutMs); break
    case "waitHeads": await waitUntil(`heads ${spec.heads}`, () => spec.heads.every(h => A.getHeads(handle.doc()).includes(h) || A.getChangeByHash(handle.doc(), h)), spec.timeoutMs); break
    case "waitSynced": await waitUntil("the server to have our heads", syncedWithServer, spec?.timeoutMs); break
    case "waitError": await waitUntil(`a server error ${safeJson(spec)}`, () => observed.serverErrors.some(e => !spec?.contains || String(e).includes(spec.contains)), spec?.timeoutMs); break
    case "waitReadOnly": await waitUntil("a READ_ONLY sync message", () => Object.values(syncStates()).some(s => s.peerReadOnly), spec?.timeoutMs); break
    case "broadcast": handle.broadcast(spec); break
    case "waitRoster": await waitUntil(`a roster ${safeJson(spec)}`, () => rosterMatches(spec), spec.timeoutMs); break
    case "waitEphemeral": await waitUntil(`an ephemeral message ${safeJson(spec)}`, () => observed.ephemeral.some(e =>
      Object.entries(spec.matching ?? {}).every(([k, v]) => e.message?.[k] === v)), spec.timeoutMs); break
    case "waitLine": await waitUntil(`stdin line ${safeJson(spec)}`, () => takeLine(spec)); break
    case "sleep": await sleep(spec); break
    case "print": emit({ event: "state", ...state() }); break
    case "sequence": // [action, ...]: one after the other (a repeated group)
      for (const each of spec) await runAction(each)
      break
    case "repeat": { // {count, intervalMs?, action}
      for (let i = 0; i < spec.count; i++) {
        await runAction(JSON.parse(JSON.stringify(spec.action).replaceAll("{i}", String(i))))
        if (spec.intervalMs) await sleep(spec.intervalMs)
      }
      break
    }
    default: await fail(1, `unknown action ${kind}`)
  }
}

// ---- rich text as @automerge/prosemirror 0.2 reads it (loaded only when asked)
const plainSpans = spans => spans.map(s => s.type === "text"
  ? { text: s.value, marks: Object.fromEntries(Object.entries(s.marks ?? {}).filter(([, v]) => v != null).sort()) }
  : { block: {
      type: s.value.type instanceof ImmutableString ? s.value.type.val : s.value.type,
      parents: (s.value.parents ?? []).map(p => (p instanceof ImmutableString ? p.val : p)),
      attrs: Object.fromEntries(Object.entries(s.value.attrs ?? {}).map(([k, v]) => [k, v instanceof ImmutableString ? v.val : v])),
      isEmbed: !!s.value.isEmbed,
    } })
// The binding writes a new link's title as null and reads it back as "": the same link.
const canonical = spans => plainSpans(spans).map(s => {
  if (!s.marks?.link) return s
  let link = s.marks.link
  try { const v = JSON.parse(link); link = JSON.stringify({ href: v.href ?? "", title: v.title || null }) } catch { /* kept as is */ }
  return { ...s, marks: { ...s.marks, link } }
})
async function richCheck(spec) { // {path}: what the editor shows, and whether opening it would rewrite anything
  const { basicSchemaAdapter, pmDocFromSpans, pmNodeToSpans } = await import("@automerge/prosemirror")
  const doc = handle.doc()
  const spans = A.spans(doc, spec.path)
  const pmDoc = pmDocFromSpans(basicSchemaAdapter, spans)
  const back = pmNodeToSpans(basicSchemaAdapter, pmDoc)
  // Writing the editor's view back (what the binding does on a structural edit) must change nothing.
  const clone = A.clone(doc)
  const before = A.getHeads(clone).join()
  const after = A.change(clone, d => A.updateSpans(d, spec.path, back, basicSchemaAdapter.updateSpansConfig()))
  emit({
    event: "rich",
    spans: plainSpans(spans),
    pmDoc: pmDoc.toJSON(),
    roundTrip: JSON.stringify(canonical(back)) === JSON.stringify(canonical(spans)),
    rewriteChanges: A.getHeads(after).join() !== before,
  })
}

// ---- run
process.on("uncaughtException", e => {
  const status = /Unexpected server response: (\d+)/.exec(e?.message ?? "")
  if (status) fail(4, e.message, { httpStatus: Number(status[1]) })
  else fail(1, `uncaught: ${e?.stack ?? e}`)
})
process.on("unhandledRejection", e => fail(1, `unhandled rejection: ${e?.stack ?? e}`))
setTimeout(() => fail(2, `overall timeout after ${timeoutMs} ms`), timeoutMs).unref()

try {
  if (args.create) {
    handle = repo.create({ title: args.create.title ?? "", body: args.create.body ?? "" })
    observeEphemeral(handle)
    emit({ event: "created", url: handle.url, documentId: handle.documentId })
  } else {
    try {
      observeEphemeral(repo.findWithProgress(args.doc).handle)
      handle = await repo.find(args.doc)
    } catch (e) {
      if (!observed.serverPeer) await fail(4, `no peer message from ${args.url} (never connected?): ${e.message}`)
      if (/unavailable/i.test(e.message)) await fail(3, e.message, { unavailable: true })
      throw e
    }
  }
  for (const act of args.actions ?? []) await runAction(act)
  if (args.syncBeforeExit ?? true) await runAction({ waitSynced: {} })
  const out = JSON.stringify({ ok: true, ...state() }) + "\n"
  await Promise.race([repo.shutdown(), sleep(1000)])
  process.stdout.write(out, () => process.exit(0))
} catch (e) {
  process.stderr.write(`[client] ${e?.stack ?? e}\n`)
  await fail(1, e?.message ?? String(e))
}
