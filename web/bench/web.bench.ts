// The web app's benchmark: what a person feels.
// - keystroke in one browser → visible in another browser, p50/p99, through the real server;
// - opening a section until its editor is editable with the whole text in it, the text from
//   the server (never from IndexedDB): cold (a fresh browser profile navigating straight to the
//   section's address) and from the outline (the app already running in that tab, as when
//   someone picks a section from the strategy's outline);
// on sections of 100, 2,000 and 20,000 changes, prefilled through the official JS client
// (tests/js/client.mjs, one automerge change per edit); and the app's JavaScript, gzipped,
// without automerge's wasm. Figures go to our own block of bench/RESULTS.md.
import { test, expect, type Browser, type Page } from "@playwright/test"
import { execFileSync } from "node:child_process"
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs"
import { gzipSync } from "node:zlib"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { cpus, totalmem } from "node:os"
import { startServer, type Server } from "../e2e/support/server"

const WEB = resolve(fileURLToPath(new URL(".", import.meta.url)), "..")
const ROOT = resolve(WEB, "..")
const SIZES = (process.env.BENCH_SIZES || "100,2000,20000").split(",").map(Number)
const KEYSTROKES = Number(process.env.BENCH_KEYSTROKES || 100)
const OPENS = Number(process.env.BENCH_OPENS || 3)
// A person typing quickly (80 words a minute, about 6.7 keys a second): one key every 150 ms.
// The official client sends a document's changes at most once per 100 ms (automerge-repo's
// sync throttle), so a key pressed the moment the previous one arrived elsewhere waits for
// that too: both are measured, typing at this pace and back to back.
const PACE_MS = Number(process.env.BENCH_PACE_MS || 150)
const SECTIONS = ["political_will", "actor_map", "situational_awareness", "planning_tool"]
const PASSWORD = "concerta-demo"

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + " ms"

async function login(browser: Browser, server: Server, email: string) {
  const context = await browser.newContext({ baseURL: server.url })
  const r = await context.request.post("/api/auth/login", { data: { email, password: PASSWORD }, headers: { "x-concerta-csrf": "1" } })
  expect(r.status()).toBe(200)
  await context.addInitScript(() => localStorage.setItem("concerta.language", "en"))
  return context
}

// The prefill writes paragraphs as people do: each of 49 one-word changes ("p7 " in
// paragraph 7) and a paragraph break, 50 changes a paragraph. (Until 2026-11-30 it appended
// every word to one paragraph: at 20,000 changes a 120 KB paragraph that the reading
// browser laid out again on every keystroke, about 40 ms each.)
const WORDS_PER_PARAGRAPH = 49

/** The last word of a section prefilled with `changes` changes. */
function lastWord(changes: number) {
  return `p${Math.floor(changes / (WORDS_PER_PARAGRAPH + 1)) - 1}`
}

function prefill(server: Server, docUrl: string, changes: number) {
  const token = server.cli(["admin", "token", "--email", "ori@demo.concerta"]).trim()
  const wsUrl = server.url.replace("http://", "ws://") + `/sync?token=${token}`
  const paragraph = {
    sequence: [
      { splitBlock: { path: ["body"], index: "end", block: { type: "paragraph" } } },
      { repeat: { count: WORDS_PER_PARAGRAPH, action: { splice: { path: ["body"], index: "end", text: "p{i} " } } } },
    ],
  }
  const scenario = {
    url: wsUrl,
    doc: docUrl,
    timeoutMs: 30 * 60_000,
    actions: [{ repeat: { count: Math.floor(changes / (WORDS_PER_PARAGRAPH + 1)), intervalMs: 0, action: paragraph } }],
  }
  const out = execFileSync("node", [join(ROOT, "tests", "js", "client.mjs"), JSON.stringify(scenario)], { encoding: "utf8", maxBuffer: 64 << 20 })
  const last = JSON.parse(out.trim().split("\n").pop()!)
  expect(last.ok, `prefill of ${changes} changes: ${out.slice(-500)}`).toBe(true)
}

async function sectionPath(page: Page, key: string) {
  const cities = await page.request.get("/api/cities").then((r) => r.json())
  const list = await page.request.get(`/api/cities/${cities[0].id}/strategies`).then((r) => r.json())
  const s = list[0].sections.find((x: { key: string }) => x.key === key)
  return { path: `/strategies/${s.strategy_id}/sections/${s.id}`, outline: `/strategies/${s.strategy_id}`, title: s.title as string, docUrl: s.doc_url as string }
}

/** The app's performance marks, ms after `since` (navigation start by default). */
async function timeline(page: Page, since = 0) {
  return page.evaluate((since) => {
    const marks = performance.getEntriesByType("mark").filter((m) => m.startTime >= since).map((m) => `${m.name.replace("concerta:", "")} ${(m.startTime - since).toFixed(0)}`)
    if (since > 0) return marks.join(", ")
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming
    return [`html ${nav.responseEnd.toFixed(0)}`, `dom ${nav.domContentLoadedEventEnd.toFixed(0)}`, ...marks].join(", ")
  }, since)
}

const editor = (page: Page) => page.getByRole("textbox", { name: /^Text of / })

/** Waits until the section's editor is editable and shows `word`, checking every 10 ms in the
 * page. (Until 2026-11-30 this waited with Playwright's `expect`, which retries after 100,
 * 250, 500 and 1,000 ms: the figure included up to that much waiting of the harness.) */
async function editableWith(page: Page, word: string) {
  await page.waitForFunction(
    (word) => {
      const body = document.querySelector('[role="textbox"][aria-label^="Text of "]')
      return body?.getAttribute("contenteditable") === "true" && !!body.textContent?.includes(word)
    },
    word,
    { polling: 10 },
  )
  await expect(editor(page)).toHaveAttribute("contenteditable", "true")
  await expect(editor(page)).toContainText(word)
}

function bundleSizes() {
  const assets = join(WEB, "dist", "assets")
  const index = readFileSync(join(WEB, "dist", "index.html"), "utf8")
  const entry = /src="\/assets\/([^"]+\.js)"/.exec(index)?.[1]
  let all = 0
  let main = 0
  for (const file of readdirSync(assets)) {
    if (!file.endsWith(".js")) continue
    const gz = gzipSync(readFileSync(join(assets, file)), { level: 9 }).length
    all += gz
    if (file === entry) main = gz
  }
  const wasm = readdirSync(assets).filter((f) => f.endsWith(".wasm")).map((f) => gzipSync(readFileSync(join(assets, f)), { level: 9 }).length)
  return { main, all, wasm: wasm.reduce((a, b) => a + b, 0) }
}

function writeBlock(text: string) {
  const file = process.env.BENCH_OUT || join(ROOT, "bench", "RESULTS.md")
  // Whose block: `web` by default; BENCH_BLOCK names another (each engineer keeps their own).
  const name = process.env.BENCH_BLOCK || "web"
  const start = `<!-- bench:${name}:start -->`
  const end = `<!-- bench:${name}:end -->`
  const block = `${start}\n${text.trim()}\n${end}`
  let current = existsSync(file) ? readFileSync(file, "utf8") : ""
  const a = current.indexOf(start)
  const b = current.indexOf(end)
  if (a >= 0 && b > a) current = current.slice(0, a) + block + current.slice(b + end.length)
  else current = current.trimEnd() + "\n\n" + block + "\n"
  writeFileSync(file, current)
  console.log(`wrote ${file}`)
}

test("web: keystroke to other browser, open to editable, bundle size", async ({ browser }) => {
  const started = Date.now()
  const server = await startServer({ demo: true })
  const rows: string[] = []
  try {
    const setup = await login(browser, server, "ori@demo.concerta")
    const setupPage = await setup.newPage()
    for (const [i, size] of SIZES.entries()) {
      const { path, outline, title, docUrl } = await sectionPath(setupPage, SECTIONS[i])
      const t0 = Date.now()
      prefill(server, docUrl, size)
      console.log(`prefilled ${size} changes in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
      const last = `${lastWord(size)} `

      // Open to editable, cold: fresh contexts (no IndexedDB copy, nothing cached) navigating
      // straight to the section, until the editor is editable with the whole text present.
      const opens: number[] = []
      for (let run = 0; run < OPENS; run++) {
        const context = await login(browser, server, "ori@demo.concerta")
        const page = await context.newPage()
        const began = Date.now()
        await page.goto(path)
        await editableWith(page, last.trim())
        opens.push(Date.now() - began)
        // Where the time went (the app's performance marks, ms since navigation start).
        console.log(`open ${size} run ${run}: ${opens[opens.length - 1]} ms (${await timeline(page)})`)
        await context.close()
      }

      // Open to editable from the outline: a fresh context (no IndexedDB copy) shows the
      // strategy's outline and is left until the app is running there (its idle warm-up loaded
      // the editor's code and automerge's wasm; the connection to the server too, when the app
      // opens it on that page); then the section's link is clicked, until the editor is
      // editable with the whole text present.
      const picks: number[] = []
      for (let run = 0; run < OPENS; run++) {
        const context = await login(browser, server, "ori@demo.concerta")
        const page = await context.newPage()
        await page.goto(outline)
        const link = page.getByRole("link", { name: title, exact: true })
        await expect(link).toBeVisible()
        // The app's warm-ups wait for idle time: one idle callback of ours after theirs, then
        // until they are done (the wasm ready; the server's peer message if it connected).
        await page.evaluate(() => new Promise((done) => requestIdleCallback(done, { timeout: 10_000 })))
        await page.waitForFunction(() => {
          const marked = (name: string) => performance.getEntriesByName(`concerta:${name}`).length > 0
          return marked("wasm") && (!marked("connect") || marked("server-peer"))
        })
        const since = await page.evaluate(() => performance.now())
        const began = Date.now()
        await link.click()
        await editableWith(page, last.trim())
        picks.push(Date.now() - began)
        console.log(`from the outline ${size} run ${run}: ${picks[picks.length - 1]} ms (ms after the click: ${await timeline(page, since)})`)
        await context.close()
      }

      // Keystroke latency: A types at the start of the text; B sees each character.
      const a = await (await login(browser, server, "ori@demo.concerta")).newPage()
      const b = await (await login(browser, server, "concejo@demo.concerta")).newPage()
      for (const page of [a, b]) {
        await page.goto(path)
        await expect(editor(page)).toContainText(last.trim())
        await expect(page.getByTestId("sync-status")).toHaveAttribute("data-online", "true")
      }
      await expect(editor(a)).toHaveAttribute("contenteditable", "true")
      await b.evaluate(() => {
        const root = document.querySelector(".section-body")!
        const w = window as unknown as { __target: string | null; __hit: number | null }
        w.__target = null
        w.__hit = null
        new MutationObserver(() => {
          if (w.__target && w.__hit === null && root.textContent!.includes(w.__target)) w.__hit = performance.timeOrigin + performance.now()
        }).observe(root, { subtree: true, childList: true, characterData: true })
      })
      await editor(a).click()
      await a.keyboard.press("Control+Home")
      const mark = "§"
      await a.keyboard.type(mark)
      await b.waitForFunction((m) => document.querySelector(".section-body")!.textContent!.includes(m), mark)
      let typed = mark
      const alphabet = "abcdefghijklmnopqrstuvwxyz"
      // Each key is timed from its press in A until B shows it; the next key comes `pace` ms
      // after the previous press (or as soon as it arrived, if later).
      const keystrokes = async (pace: number) => {
        const latencies: number[] = []
        let previous = 0
        for (let k = 0; k < KEYSTROKES; k++) {
          const ch = alphabet[k % alphabet.length]
          typed += ch
          await b.evaluate((target) => {
            const w = window as unknown as { __target: string | null; __hit: number | null }
            w.__target = target
            w.__hit = null
          }, typed)
          const wait = previous + pace - Date.now()
          if (wait > 0) await a.waitForTimeout(wait)
          previous = Date.now()
          const sent = await a.evaluate(() => performance.timeOrigin + performance.now())
          await a.keyboard.press(ch)
          const handle = await b.waitForFunction(() => (window as unknown as { __hit: number | null }).__hit, undefined, { timeout: 60_000 })
          latencies.push((await handle.jsonValue()) - sent)
        }
        return latencies
      }
      const paced = await keystrokes(PACE_MS)
      const latencies = await keystrokes(0)
      await a.context().close()
      await b.context().close()
      const row = `| ${size.toLocaleString("en")} | ${ms(percentile(paced, 50))} | ${ms(percentile(paced, 99))} | ${ms(percentile(latencies, 50))} | ${ms(percentile(latencies, 99))} | ${ms(percentile(opens, 50))} (${opens.map((o) => ms(o)).join(", ")}) | ${ms(percentile(picks, 50))} (${picks.map((o) => ms(o)).join(", ")}) |`
      console.log(row)
      rows.push(row)
    }
  } finally {
    await server.stop()
  }
  const sizes = bundleSizes()
  const commit = (() => {
    try {
      return execFileSync("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim()
    } catch {
      return "unknown"
    }
  })()
  const kb = (n: number) => (n / 1024).toFixed(1) + " KB"
  writeBlock(`
## ${process.env.BENCH_TITLE || "The web app, as a person feels it (`cargo xtask bench-web`)"}

- **Date:** ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC; commit ${commit}; ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; ${((Date.now() - started) / 1000).toFixed(0)} s in all.
- **Setup:** \`concerta serve --demo\` (${process.env.BENCH_SERVER || "release build"}, SQLite) on 127.0.0.1; Debian's chromium (headless) runs every browser; each section prefilled through the official JS client (\`tests/js\`), one automerge change per edit, in paragraphs of 49 one-word changes and a paragraph break. Latency: ${KEYSTROKES} keystrokes typed one by one at the start of the text by the coordinator in browser A, each timed until a MutationObserver in browser B (the observer, reading) sees it (both pages share one clock); first at a typist's pace (a key every ${PACE_MS} ms), then ${KEYSTROKES} more back to back (each key as soon as the previous one showed in B, so it also waits out the official client's 100 ms sync throttle). Open to editable, ${OPENS} runs each, each in a fresh browser context (no IndexedDB copy: the text comes from the server), until the editor is editable and shows the last word (checked in the page every 10 ms): *cold*, from navigating straight to the section's address (nothing loaded: the app's script, automerge's wasm, the connection and the document all start then); *from the outline*, from clicking the section's link on the strategy's outline once the app is running there (the outline shown and its idle warm-up done: the editor's code and automerge's wasm loaded, and the connection open if the app opens it on that page).

| section history (changes) | keystroke → other browser, typing: p50 | p99 | back to back: p50 | p99 | open → editable, cold: median (runs) | open → editable, from the outline: median (runs) |
|---|---|---|---|---|---|---|
${rows.join("\n")}

Targets (issue 13): p99 under 100 ms and editable under 1 s at 2,000 changes; p99 under 250 ms at 20,000 changes.

JavaScript of the app, gzipped (level 9), without automerge's wasm: **${kb(sizes.main)}** for the entry chunk (login, city home, outline), **${kb(sizes.all)}** for every chunk together (the editor's chunks load when a section opens); automerge's wasm, fetched separately and cached: ${kb(sizes.wasm)} gzipped. Target: main bundle at most 500 KB gzipped.
`)
})
