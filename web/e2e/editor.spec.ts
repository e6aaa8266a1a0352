import { DEMO, expect, expectAccessible, test, type Person } from "./support/fixtures"

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
  test("two people type at once and end with the same text, saved to the server", async ({ person, server }) => {
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

    await expect.poll(async () => (await body(ana).innerText()) === (await body(eco).innerText()), { timeout: 20_000 }).toBe(true)
    const text = await body(ana).innerText()
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
