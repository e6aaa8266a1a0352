#!/usr/bin/env node
// Closed-loop load with the official JavaScript client (@automerge/automerge-repo 2.5.x),
// all clients in this one process, each its own Repo and WebSocket:
//   node bench/js/closed-loop.mjs '<json>'
// JSON: {url, docs?: [automerge URLs], sections, clients, edits, timeoutMs?, serverPid?,
//        metricsUrl?, prefill?}
// Without `docs`, the first client of each section creates its document (as automerge-repo
// clients do with the JS servers and samod). Every client edits its section's `body` (3
// letters spliced in at a random place, every other edit also deleting 4), then waits until
// every other client of the section has that change before its next edit (closed loop).
// Prints one JSON line: edits, delivered, seconds, client CPU, server CPU (from /proc when
// serverPid is given), frames and bytes in each direction counted at the clients' sockets,
// and the server's own counters from /metrics when metricsUrl is given.
import fs from "node:fs"
import { Repo, updateText, splice } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import * as A from "@automerge/automerge"

for (const level of ["log", "info", "warn", "debug"]) console[level] = () => {}
const args = JSON.parse(process.argv[2] ?? "{}")
const sleep = ms => new Promise(r => setTimeout(r, ms))
const timeoutMs = args.timeoutMs ?? 120_000
const prefill = args.prefill ?? "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(35).slice(0, 2000)

// Frames and bytes at the clients' sockets: what they send is what the server receives.
const wire = { framesOut: 0, framesIn: 0, bytesIn: 0 }
class CountingAdapter extends WebSocketClientAdapter {
  send(message) {
    wire.framesOut++
    super.send(message)
  }
  receiveMessage(bytes) {
    wire.framesIn++
    wire.bytesIn += bytes.byteLength ?? bytes.length ?? 0
    return super.receiveMessage(bytes)
  }
}

let seed = args.seed ?? 7
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)

function procCpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(f[11]) + Number(f[12])) * 10 // 100 ticks per second
  } catch { return null }
}
function rssKb(pid) {
  try { return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))[1]) } catch { return null }
}
async function metrics() {
  if (!args.metricsUrl) return null
  const text = await (await fetch(args.metricsUrl)).text()
  const get = name => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1] ?? NaN)
  return {
    framesIn: get("concerta_sync_frames_in_total"),
    framesOut: get("concerta_sync_frames_out_total"),
    bytesIn: get("concerta_sync_bytes_in_total"),
    bytesOut: get("concerta_sync_bytes_out_total"),
    changes: get("concerta_sync_changes_accepted_total"),
    // Sync messages out by what made them go, and the changes they carried.
    relay: get('concerta_sync_messages_out_total\\{why="relay"\\}'),
    held: get('concerta_sync_messages_out_total\\{why="held"\\}'),
    reply: get('concerta_sync_messages_out_total\\{why="reply"\\}'),
    changesOut: get("concerta_sync_changes_out_total"),
  }
}

function newClient() {
  const adapter = new CountingAdapter(args.url, 1000)
  const repo = new Repo({ network: [adapter] })
  const client = { repo, handle: null, waiters: [], serverHeads: {} }
  repo.synchronizer.on("sync-state", ({ documentId, syncState }) => {
    client.serverHeads[documentId] = (syncState.theirHeads ?? []).slice().sort().join()
  })
  return client
}
function watch(client) {
  client.handle.on("change", () => {
    if (client.waiters.length === 0) return
    const doc = client.handle.doc()
    client.waiters = client.waiters.filter(w => (A.hasHeads(doc, [w.hash]) ? (w.resolve(), false) : true))
  })
}
function has(client, hash) {
  return new Promise(resolve => {
    if (A.hasHeads(client.handle.doc(), [hash])) return resolve()
    client.waiters.push({ hash, resolve })
  })
}
async function until(what, pred, ms = 60_000) {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`)
    await sleep(20)
  }
}

async function main() {
  const sections = []
  for (let s = 0; s < args.sections; s++) {
    const clients = Array.from({ length: args.clients }, newClient)
    let url = args.docs?.[s]
    const first = clients[0]
    if (url) {
      first.handle = await first.repo.find(url)
      first.handle.change(d => { updateText(d, ["title"], `Section ${s}`); updateText(d, ["body"], prefill) })
    } else {
      first.handle = first.repo.create({ title: `Section ${s}`, body: prefill })
      url = first.handle.url
    }
    // The server has it before anyone else asks.
    const ours = () => A.getHeads(first.handle.doc()).sort().join()
    await until("the server to store the prefill", () => first.serverHeads[first.handle.documentId] === ours())
    const heads = A.getHeads(first.handle.doc())
    for (const c of clients.slice(1)) c.handle = await c.repo.find(url)
    for (const c of clients) {
      watch(c)
      await Promise.all(heads.map(h => has(c, h)))
    }
    sections.push(clients)
  }
  // Let connection set-up and the prefill settle, and /metrics publish (every 5 s).
  await sleep(args.metricsUrl ? 5500 : 1500)
  const m0 = await metrics()
  const w0 = { ...wire }
  const cpu0 = process.cpuUsage()
  const srv0 = args.serverPid ? procCpuMs(args.serverPid) : null
  const t0 = performance.now()
  const deadline = Date.now() + timeoutMs
  let edits = 0
  let delivered = 0
  let maxRss = 0
  const rssTimer = args.serverPid ? setInterval(() => { maxRss = Math.max(maxRss, rssKb(args.serverPid) ?? 0) }, 500) : null
  let timedOut = false
  const loops = sections.flatMap(clients => clients.map(async me => {
    const others = clients.filter(c => c !== me)
    for (let i = 0; i < args.edits && !timedOut; i++) {
      const before = new Set(A.getHeads(me.handle.doc()))
      me.handle.change(d => {
        const len = d.body.length
        const at = Math.floor(random() * Math.max(1, len - 8))
        splice(d, ["body"], at, i % 2 === 1 ? 4 : 0, "abc")
      })
      edits++
      const hash = A.getHeads(me.handle.doc()).find(h => !before.has(h))
      const all = Promise.all(others.map(o => has(o, hash))).then(() => true)
      const left = deadline - Date.now()
      const ok = left > 0 && await Promise.race([all, sleep(left).then(() => false)])
      if (!ok) { timedOut = true; break }
      delivered++
    }
  }))
  await Promise.all(loops)
  const secs = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const srv1 = args.serverPid ? procCpuMs(args.serverPid) : null
  if (rssTimer) clearInterval(rssTimer)
  const w1 = { ...wire }
  await sleep(args.metricsUrl ? 5500 : 0)
  const m1 = await metrics()
  const serverCpuMs = srv0 != null && srv1 != null ? srv1 - srv0 : null
  const result = {
    ok: true,
    sections: args.sections,
    clients: args.clients,
    edits,
    delivered,
    planned: args.sections * args.clients * args.edits,
    timedOut,
    secs,
    editsPerSec: delivered / secs,
    clientCpuMsPerEdit: (cpu.user + cpu.system) / 1000 / Math.max(1, edits),
    serverCpuMsPerEdit: serverCpuMs == null ? null : serverCpuMs / Math.max(1, edits),
    serverMaxRssKb: maxRss || null,
    // Counted at the clients: what the server received and sent, per edit.
    framesInPerEdit: (w1.framesOut - w0.framesOut) / Math.max(1, edits),
    framesOutPerEdit: (w1.framesIn - w0.framesIn) / Math.max(1, edits),
    bytesOutPerEdit: (w1.bytesIn - w0.bytesIn) / Math.max(1, edits),
    serverMetrics: m0 && m1 ? {
      framesInPerEdit: (m1.framesIn - m0.framesIn) / Math.max(1, edits),
      framesOutPerEdit: (m1.framesOut - m0.framesOut) / Math.max(1, edits),
      bytesInPerEdit: (m1.bytesIn - m0.bytesIn) / Math.max(1, edits),
      bytesOutPerEdit: (m1.bytesOut - m0.bytesOut) / Math.max(1, edits),
      changesPerEdit: (m1.changes - m0.changes) / Math.max(1, edits),
      syncOutPerEdit: {
        relay: (m1.relay - m0.relay) / Math.max(1, edits),
        held: (m1.held - m0.held) / Math.max(1, edits),
        reply: (m1.reply - m0.reply) / Math.max(1, edits),
      },
      changesPerSyncOut: (m1.changesOut - m0.changesOut) / Math.max(1, (m1.relay - m0.relay) + (m1.held - m0.held) + (m1.reply - m0.reply)),
    } : null,
  }
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0))
}

process.on("unhandledRejection", e => { process.stdout.write(JSON.stringify({ ok: false, error: String(e?.stack ?? e) }) + "\n", () => process.exit(1)) })
main().catch(e => { process.stdout.write(JSON.stringify({ ok: false, error: String(e?.stack ?? e) }) + "\n", () => process.exit(1)) })
