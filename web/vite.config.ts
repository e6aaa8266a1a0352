/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from "vite"
import react from "@vitejs/plugin-react"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
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

// The app is served by `concerta serve` from `dist/` (embedded in the binary). In development
// `npm run dev` proxies the API and the sync WebSocket to a server on 127.0.0.1:8080.
export default defineConfig({
  plugins: [react(), precompress()],
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
