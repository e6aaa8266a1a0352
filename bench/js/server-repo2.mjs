#!/usr/bin/env node
// The official sync server's few lines, on current @automerge/automerge-repo 2.x (automerge 3).
//   PORT=3030 [DATA_DIR=dir] node bench/js/server-repo2.mjs
// Listens on 127.0.0.1 only; accepts WebSocket upgrades on any path (so /sync?token=… works).
// PORT=0 picks a free port. Prints one line "listening 127.0.0.1:<port> data=<dir>" when ready.
import fs from "node:fs"
import http from "node:http"
import os from "node:os"
import path from "node:path"
import { WebSocketServer } from "ws"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const host = "127.0.0.1"
const port = Number(process.env.PORT ?? 3030)
const ownDir = !process.env.DATA_DIR
const dir = process.env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "am-repo2-"))
fs.mkdirSync(dir, { recursive: true })

const wss = new WebSocketServer({ noServer: true })
const repo = new Repo({
  network: [new WebSocketServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dir),
  peerId: `storage-server-${os.hostname()}`,
  // As in the official server: only sync documents that peers ask for by id.
  sharePolicy: async () => false,
})

const server = http.createServer((_req, res) => res.end("automerge-repo 2.x sync server is running\n"))
server.on("upgrade", (req, socket, head) =>
  wss.handleUpgrade(req, socket, head, ws => wss.emit("connection", ws, req)))
server.listen(port, host, () => console.log(`listening ${host}:${server.address().port} data=${dir}`))

function stop() {
  wss.close()
  server.close()
  Promise.race([repo.shutdown(), new Promise(r => setTimeout(r, 1000))]).finally(() => {
    if (ownDir) fs.rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  })
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
