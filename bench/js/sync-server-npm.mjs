#!/usr/bin/env node
// Runs the official npm release @automerge/automerge-repo-sync-server unchanged, bound to 127.0.0.1.
//   PORT=3030 [DATA_DIR=dir] node bench/js/sync-server-npm.mjs
// The package reads PORT and DATA_DIR (default ".amrg", relative to the cwd) and calls
// express's app.listen(PORT), i.e. all interfaces. This launcher makes listen() without a host
// bind 127.0.0.1, defaults DATA_DIR to a fresh temp dir, then starts the package's own entry point.
// It prints "Listening on port <PORT>" when ready (PORT=0 is NOT supported: it prints 0).
import fs from "node:fs"
import http from "node:http"
import os from "node:os"
import path from "node:path"

const listen = http.Server.prototype.listen
http.Server.prototype.listen = function (port, ...rest) {
  if (typeof port === "number" && (rest.length === 0 || typeof rest[0] === "function"))
    return listen.call(this, port, "127.0.0.1", ...rest)
  return listen.call(this, port, ...rest)
}

const ownDir = !process.env.DATA_DIR
if (ownDir) process.env.DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "am-syncsrv-"))
const cleanup = () => {
  if (ownDir) fs.rmSync(process.env.DATA_DIR, { recursive: true, force: true })
  process.exit(0)
}
process.on("SIGTERM", cleanup)
process.on("SIGINT", cleanup)

await import("@automerge/automerge-repo-sync-server") // src/index.js: `new Server()`
