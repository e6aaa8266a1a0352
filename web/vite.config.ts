/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from "vite"
import react from "@vitejs/plugin-react"
import { createHash } from "node:crypto"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { gzipSync } from "node:zlib"

/** Writes `name.gz` beside each built script, stylesheet and wasm: the server sends it to
 * browsers that accept gzip (automerge's wasm goes from 3.6 MB to 1.1 MB). */
function precompress(): Plugin {
  let outDir = "dist"
  return {
    name: "concerta-precompress",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir
    },
    closeBundle() {
      const assets = join(outDir, "assets")
      for (const file of readdirSync(assets)) {
        if (!/\.(js|css|wasm|svg)$/.test(file)) continue
        const path = join(assets, file)
        writeFileSync(path + ".gz", gzipSync(readFileSync(path), { level: 9 }))
      }
    },
  }
}

/** Writes `sw.js` (from `service-worker.js`) with the list of the build's hashed files to
 * cache when it installs, and a version that changes with them (a new build, a new worker). */
function serviceWorker(): Plugin {
  let outDir = "dist"
  let root = "."
  return {
    name: "concerta-service-worker",
    apply: "build",
    configResolved(config) {
      root = config.root
      outDir = resolve(config.root, config.build.outDir)
    },
    closeBundle() {
      const files = readdirSync(join(outDir, "assets"))
        .filter((file) => !file.endsWith(".gz"))
        .sort()
        .map((file) => `/assets/${file}`)
      const version = createHash("sha256")
        .update(files.join("\n"))
        .update(readFileSync(join(outDir, "index.html")))
        .digest("hex")
        .slice(0, 16)
      const source = readFileSync(join(root, "service-worker.js"), "utf8")
        .replace('"__CONCERTA_VERSION__"', JSON.stringify(version))
        .replace('["__CONCERTA_PRECACHE__"]', JSON.stringify(files))
      writeFileSync(join(outDir, "sw.js"), source)
    },
  }
}

// The app is served by `concerta serve` from `dist/` (embedded in the binary). In development
// `npm run dev` proxies the API and the sync WebSocket to a server on 127.0.0.1:8080.
export default defineConfig({
  plugins: [react(), precompress(), serviceWorker()],
  resolve: {
    alias: [
      // cbor-x (automerge-repo's wire format) probes `new Function` at load, which the page's
      // Content-Security-Policy (no 'unsafe-eval') reports as a violation; its no-eval build
      // is the same decoder without the compiled fast path.
      { find: /^cbor-x$/, replacement: "cbor-x/index-no-eval" },
    ],
  },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    // automerge's wasm stays a separate file fetched by URL (see src/lib/automerge.ts).
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/sync": { target: "ws://127.0.0.1:8080", ws: true },
    },
  },
  test: {
    environment: "happy-dom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
})
