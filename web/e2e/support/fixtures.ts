// Test fixtures: a demo server per test file, people (each in their own browser context,
// logged in once and saved as storageState), and two checks every test gets for free:
// no Content-Security-Policy violation, and no serious or critical axe finding on the
// screens a test checks with `expectAccessible`.
import { test as base, expect, type Browser, type BrowserContext, type Page } from "@playwright/test"
import AxeBuilder from "@axe-core/playwright"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startServer, type Server } from "./server"
import { smtpPython, startSmtpSink } from "./smtp"

export const DEMO_PASSWORD = "concerta-demo"

export const DEMO = {
  coordinator: "ori@demo.concerta",
  economia: "economia@demo.concerta",
  cultura: "cultura@demo.concerta",
  observer: "concejo@demo.concerta",
  stakeholder: "universidad@demo.concerta",
  admin: "admin@demo.concerta",
} as const

export interface Person {
  email: string
  context: BrowserContext
  page: Page
}

interface WorkerFixtures {
  server: Server
  /** Deliver the server's email to a real SMTP server (aiosmtpd) whose messages land in
   * `<data>/outbox`, where the mail readers look (`test.use({ smtp: true })`). Without a
   * Python with aiosmtpd (outside CI), the server writes those files itself. */
  smtp: boolean
}

interface TestFixtures {
  cspViolations: string[]
  person: (email: string, options?: { language?: string }) => Promise<Person>
}

/** Records `securitypolicyviolation` events of every page of `context` into `sink`. */
export async function watchCsp(context: BrowserContext, sink: string[]): Promise<void> {
  await context.exposeBinding("__concertaCspViolation", (_source, text: string) => {
    sink.push(text)
  })
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      const report = `${event.violatedDirective} blocked ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`
      ;(window as unknown as { __concertaCspViolation: (t: string) => void }).__concertaCspViolation(report)
    })
  })
}

const states = new Map<string, Awaited<ReturnType<BrowserContext["storageState"]>>>()

/** A logged-in person in a fresh browser context (login done once per server and email). */
export async function newPerson(browser: Browser, server: Server, email: string, csp: string[], language = "en"): Promise<Person> {
  const key = `${server.url} ${email}`
  let state = states.get(key)
  if (!state) {
    const context = await browser.newContext({ baseURL: server.url })
    const response = await context.request.post("/api/auth/login", {
      data: { email, password: DEMO_PASSWORD },
      headers: { "x-concerta-csrf": "1" },
    })
    expect(response.status(), `login of ${email}`).toBe(200)
    state = await context.storageState()
    await context.close()
    states.set(key, state)
  }
  const context = await browser.newContext({
    baseURL: server.url,
    storageState: { ...state, origins: [{ origin: server.url, localStorage: [{ name: "concerta.language", value: language }] }] },
  })
  await watchCsp(context, csp)
  const page = await context.newPage()
  return { email, context, page }
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  smtp: [false, { option: true, scope: "worker" }],
  server: [
    async ({ smtp }, use) => {
      const python = smtp ? smtpPython() : undefined
      if (smtp && !python) console.warn("no Python with aiosmtpd: the server writes its email as files instead of sending it")
      const data = mkdtempSync(join(tmpdir(), "concerta-web-e2e-"))
      const sink = python ? await startSmtpSink(python, join(data, "outbox")) : undefined
      const server = await startServer({ demo: true, data, env: sink ? { CONCERTA_SMTP_URL: sink.url } : {} })
      await use(server)
      await server.stop()
      sink?.stop()
    },
    { scope: "worker" },
  ],
  cspViolations: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const violations: string[] = []
      await use(violations)
      expect(violations, "Content-Security-Policy violations").toEqual([])
    },
    { auto: true },
  ],
  person: async ({ browser, server, cspViolations }, use) => {
    const people: Person[] = []
    await use(async (email, options) => {
      const person = await newPerson(browser, server, email, cspViolations, options?.language)
      people.push(person)
      return person
    })
    for (const person of people) await person.context.close()
  },
  context: async ({ context, cspViolations }, use) => {
    await watchCsp(context, cspViolations)
    await use(context)
  },
})

/** Fails on any serious or critical axe-core finding on the page as it is now. */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze()
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
  expect(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    `accessibility of ${label}`,
  ).toEqual([])
}

export { expect }
