// The co-editing path on a Postgres-backed server (the Postgres half, like the Rust tests:
// it runs when DATABASE_URL_TEST names a Postgres, which `cargo xtask ci` always sets in CI).
import { expect, test as base } from "@playwright/test"
import { DEMO, newPerson, type Person } from "./support/fixtures"
import { editorBody, openSection, structure } from "./support/sections"
import { postgresAvailable, startServer, type Server } from "./support/server"

const test = base.extend<{ pg: Server; csp: string[] }>({
  // eslint-disable-next-line no-empty-pattern
  pg: async ({}, use) => {
    const server = await startServer({ demo: true, backend: "postgres" })
    await use(server)
    await server.stop()
  },
  // eslint-disable-next-line no-empty-pattern
  csp: async ({}, use) => {
    const violations: string[] = []
    await use(violations)
    expect(violations, "Content-Security-Policy violations").toEqual([])
  },
})

test.describe("on Postgres", () => {
  test.skip(!postgresAvailable(), "DATABASE_URL_TEST is not set: the Postgres half is skipped, as in the Rust tests")

  test("two people co-edit a section and a reload shows what the server saved", async ({ browser, pg, csp }) => {
    const people: Person[] = []
    try {
      const ana = await newPerson(browser, pg, DEMO.coordinator, csp)
      const eco = await newPerson(browser, pg, DEMO.economia, csp)
      people.push(ana, eco)
      await openSection(ana, pg.url, "budget_share")
      await openSection(eco, pg.url, "budget_share")
      await editorBody(ana).click()
      await ana.page.keyboard.press("Control+End")
      await ana.page.keyboard.type(" Postgres: Ana.")
      await expect(editorBody(eco)).toContainText("Postgres: Ana.")
      await editorBody(eco).click()
      await eco.page.keyboard.press("Control+End")
      await eco.page.keyboard.type(" Postgres: Eco.")
      await expect(editorBody(ana)).toContainText("Postgres: Eco.")
      await expect(ana.page.getByTestId("sync-status")).toHaveAttribute("data-saved", "true")
      await expect(eco.page.getByTestId("sync-status")).toHaveAttribute("data-saved", "true")
      const shown = await structure(ana)
      const fresh = await newPerson(browser, pg, DEMO.observer, csp)
      people.push(fresh)
      await openSection(fresh, pg.url, "budget_share")
      await expect.poll(() => structure(fresh)).toBe(shown)
    } finally {
      for (const p of people) await p.context.close()
    }
  })

  test("two people on two nodes of one database see each other in the section, and the cursor with its name", async ({ browser, pg, csp }) => {
    // A second `concerta serve` on the same database: the scale-out the README describes.
    const two = await startServer({ backend: "postgres", databaseUrl: pg.databaseUrl })
    const people: Person[] = []
    try {
      const ana = await newPerson(browser, pg, DEMO.coordinator, csp)
      const eco = await newPerson(browser, two, DEMO.economia, csp)
      people.push(ana, eco)
      await openSection(ana, pg.url, "budget_share")
      await openSection(eco, two.url, "budget_share")
      const anaName = (await ana.page.request.get(`${pg.url}/api/me`).then((r) => r.json())).name as string
      const ecoName = (await eco.page.request.get(`${two.url}/api/me`).then((r) => r.json())).name as string
      await expect(eco.page.getByRole("region", { name: "In this section now" })).toContainText(anaName)
      await expect(ana.page.getByRole("region", { name: "In this section now" })).toContainText(ecoName)
      await editorBody(ana).click()
      await ana.page.keyboard.press("Control+End")
      await ana.page.keyboard.type(" Dos nodos.")
      await expect(editorBody(eco)).toContainText("Dos nodos.")
      // Ana's caret, named, in Eco's editor on the other node.
      await expect(eco.page.locator(".remote-caret-label")).toHaveText(anaName)
      await eco.page.screenshot({ path: "../docs/screenshots/editor-two-nodes.png" })
    } finally {
      for (const p of people) await p.context.close()
      await two.stop()
    }
  })
})
