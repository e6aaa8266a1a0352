import { DEMO, expect, expectAccessible, test, type Person } from "./support/fixtures"
import { structure } from "./support/sections"

// The demo strategy's sections; the editor of Desarrollo Económico writes "budget_share".
async function openSection(person: Person, server: { url: string }, key: string): Promise<string> {
  const strategies = await person.page.request.get(server.url + "/api/cities").then((r) => r.json())
  const city = strategies[0].id
  const list = await person.page.request.get(`${server.url}/api/cities/${city}/strategies`).then((r) => r.json())
  const strategy = list[0]
  const section = strategy.sections.find((s: { key: string }) => s.key === key)
  const path = `/strategies/${strategy.id}/sections/${section.id}`
  await person.page.goto(path)
  return path
}

function body(person: Person) {
  return person.page.getByRole("textbox", { name: /^Text of / })
}

async function synced(person: Person) {
  await expect(person.page.getByTestId("sync-status")).toHaveAttribute("data-online", "true")
}

test.describe("section editor", () => {
  test("two people type at once, see each other's cursor and name, and end with the same text, saved to the server", async ({ person, server }) => {
    const ana = await person(DEMO.coordinator)
    const eco = await person(DEMO.economia)
    await openSection(ana, server, "budget_share")
    await openSection(eco, server, "budget_share")
    await synced(ana)
    await synced(eco)
    await expect(body(ana)).toBeEditable()
    await expect(body(eco)).toBeEditable()

    // Two lines to work on, then each person types in their own place at the same time.
    await body(ana).click()
    await ana.page.keyboard.press("Control+End")
    await ana.page.keyboard.type("Primera línea.")
    await ana.page.keyboard.press("Enter")
    await ana.page.keyboard.type("Segunda línea.")
    await expect(body(eco)).toContainText("Segunda línea.")
    await body(eco).getByText("Primera línea.").click()
    await eco.page.keyboard.press("Home")
    await ana.page.keyboard.press("Control+End")
    await Promise.all([ana.page.keyboard.type(" Ana escribe.", { delay: 25 }), eco.page.keyboard.type("Eco escribe. ", { delay: 25 })])

    await expect.poll(async () => [await structure(ana), await structure(eco)].join(" VS "), { timeout: 20_000 }).toMatch(/^(.*) VS \1$/)
    const text = await structure(ana)
    expect(text).toContain("Ana escribe.")
    expect(text).toContain("Eco escribe.")
    await expect(ana.page.getByTestId("sync-status")).toHaveAttribute("data-saved", "true")

    await expectAccessible(ana.page, "the section editor")
    await ana.page.screenshot({ path: "../docs/screenshots/editor-two-cursors.png" })
  })
})

test.describe("read-only sections", () => {
  test("an observer and an editor of another area get a disabled editor that says why", async ({ person, server }) => {
    const observer = await person(DEMO.observer)
    await openSection(observer, server, "budget_share")
    await synced(observer)
    await expect(body(observer)).toHaveAttribute("contenteditable", "false")
    await expect(observer.page.getByText("You can read this section but not edit it: observers do not write.")).toBeVisible()
    await expect(observer.page.getByRole("button", { name: "Bold" })).toBeDisabled()

    const cultura = await person(DEMO.cultura)
    await openSection(cultura, server, "budget_share")
    await synced(cultura)
    await expect(body(cultura)).toHaveAttribute("contenteditable", "false")
    await expect(cultura.page.getByText("it belongs to the Desarrollo Económico area")).toBeVisible()
    await expectAccessible(cultura.page, "a read-only section")
  })
})

test.describe("refused changes", () => {
  test("a change forced through an observer's client is refused by the server and reaches nobody", async ({ person, server }) => {
    const observer = await person(DEMO.observer)
    const path = await openSection(observer, server, "budget_share")
    await synced(observer)
    const url = await observer.page.evaluate(async (sectionPath) => {
      const [, strategy, , section] = sectionPath.split("/").slice(1)
      const s = await fetch(`/api/strategies/${strategy}`).then((r) => r.json())
      return s.sections.find((x: { id: string }) => x.id === section).doc_url as string
    }, path)
    // Bypass the editor: change the document through the page's Repo.
    await observer.page.evaluate(async (docUrl) => {
      const repo = (globalThis as unknown as { __concerta: { repo: { find: (u: string) => Promise<{ change: (f: (d: { title: string }) => void) => void }> } } }).__concerta.repo
      const handle = await repo.find(docUrl)
      handle.change((d) => {
        d.title = "FORCED BY AN OBSERVER"
      })
    }, url)
    // The observer's own copy has it (that is what the editor must never do)...
    await expect
      .poll(() =>
        observer.page.evaluate(async (docUrl) => {
          const repo = (globalThis as unknown as { __concerta: { repo: { find: (u: string) => Promise<{ doc: () => { title: string } }> } } }).__concerta.repo
          return String((await repo.find(docUrl)).doc().title)
        }, url),
      )
      .toBe("FORCED BY AN OBSERVER")

    // ...but nobody else ever does. The section's editor writes after it; once the observer
    // has received that edit, the observer's client and the server have exchanged sync
    // messages after the forced change, so it would have travelled by then.
    const eco = await person(DEMO.economia)
    await openSection(eco, server, "budget_share")
    await synced(eco)
    await body(eco).click()
    await eco.page.keyboard.type("Texto del área.")
    await expect(eco.page.getByTestId("sync-status")).toHaveAttribute("data-saved", "true")
    await expect(body(observer)).toContainText("Texto del área.")
    const ana = await person(DEMO.coordinator)
    await openSection(ana, server, "budget_share")
    // A fresh client loads what the server stored: the text, and no trace of the change.
    const fresh = await person(DEMO.cultura)
    await openSection(fresh, server, "budget_share")
    for (const other of [eco, ana, fresh]) {
      await expect(body(other)).toContainText("Texto del área.")
      const title = await other.page.evaluate(async (docUrl) => {
        const repo = (globalThis as unknown as { __concerta: { repo: { find: (u: string) => Promise<{ doc: () => { title: string } }> } } }).__concerta.repo
        return String((await repo.find(docUrl)).doc().title)
      }, url)
      expect(title, `${other.email} sees the section's own title`).not.toContain("FORCED")
    }
  })
})

test.describe("offline", () => {
  test("edits made offline survive a reload while offline and reach the others on reconnect; saved says so", async ({ person, server }) => {
    const ana = await person(DEMO.coordinator)
    const eco = await person(DEMO.economia)
    // The sync WebSocket goes through a switch: while `blocked`, the server is unreachable
    // (the browser's offline mode stops new requests, not an open WebSocket).
    let blocked = false
    const open: { close: () => Promise<void> }[] = []
    await eco.context.routeWebSocket(/\/sync$/, (ws) => {
      if (blocked) {
        void ws.close()
        return
      }
      open.push(ws)
      ws.connectToServer()
    })
    const path = await openSection(eco, server, "operational_capacities")
    await openSection(ana, server, "operational_capacities")
    await synced(eco)
    await synced(ana)
    // First visit: the service worker installs, takes over the page and keeps the app's files
    // and the answers this page needed (who is asking, the strategy, the city).
    await expect
      .poll(
        () =>
          eco.page.evaluate(async () => {
            if (!navigator.serviceWorker.controller) return "no service worker yet"
            const kept = await (await caches.open("concerta-api")).keys()
            const paths = kept.map((request) => new URL(request.url).pathname)
            return ["/api/me", location.pathname.split("/sections/")[0].replace("/strategies/", "/api/strategies/")].every((p) => paths.includes(p))
              ? "ready"
              : `kept so far: ${paths.join(", ")}`
          }),
        { timeout: 30_000 },
      )
      .toBe("ready")
    await body(eco).click()
    await eco.page.keyboard.type("En línea.")
    await expect(eco.page.getByTestId("sync-status")).toHaveAttribute("data-saved", "true")

    expect(open.length, "the sync WebSocket went through the route").toBeGreaterThan(0)
    blocked = true
    for (const ws of open.splice(0)) await ws.close()
    await eco.context.setOffline(true)
    await expect(eco.page.getByTestId("sync-status")).toHaveAttribute("data-online", "false")
    await eco.page.keyboard.type(" Escrito sin conexión.")
    await expect(eco.page.getByTestId("sync-status")).toHaveAttribute("data-saved", "false")
    await expect(eco.page.getByTestId("sync-status")).toContainText("Not yet saved to the server")
    await eco.page.evaluate(() => (globalThis as unknown as { __concerta: { repo: { flush: () => Promise<void> } } }).__concerta.repo.flush())

    // A reload with the browser still offline: the page comes from the service worker, the
    // text from this browser's IndexedDB, still unsaved.
    await eco.page.reload()
    expect(await eco.page.evaluate(() => fetch("/healthz").then(() => "reached", () => "unreachable")), "the server is unreachable").toBe("unreachable")
    expect(new URL(eco.page.url()).pathname).toBe(path)
    await expect(body(eco)).toContainText("Escrito sin conexión.")
    await expect(eco.page.getByTestId("sync-status")).toHaveAttribute("data-online", "false")
    await expect(eco.page.getByTestId("sync-status")).toHaveAttribute("data-saved", "false")
    await expect(body(ana)).not.toContainText("Escrito sin conexión.")
    await eco.page.screenshot({ path: "../docs/screenshots/editor-offline.png" })

    // Back online: the edit reaches the server and the other person; saved turns green.
    await eco.context.setOffline(false)
    blocked = false
    await expect(eco.page.getByTestId("sync-status")).toHaveAttribute("data-saved", "true", { timeout: 30_000 })
    await expect(body(ana)).toContainText("En línea. Escrito sin conexión.")
  })
})
