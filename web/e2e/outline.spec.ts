import { DEMO, expect, expectAccessible, test } from "./support/fixtures"
import { demoSection, openSection } from "./support/sections"

test.describe("outline", () => {
  test("the strategy by its three stages, with each section's area and state, and who is in it now", async ({ person, server }) => {
    const ana = await person(DEMO.coordinator)
    const eco = await person(DEMO.economia)
    const observer = await person(DEMO.observer)
    const section = await demoSection(ana.page, server.url, "budget_share")
    await ana.page.goto(`/strategies/${section.strategy_id}`)
    await expect(ana.page.getByRole("heading", { name: "Estrategia de Acción Internacional 2030", level: 1 })).toBeVisible()
    for (const stage of ["Design and planning", "Implementation", "Evaluation"]) {
      await expect(ana.page.getByRole("heading", { name: new RegExp(stage), level: 2 })).toBeVisible()
    }
    const row = ana.page.getByRole("listitem").filter({ has: ana.page.getByRole("link", { name: "Porcentaje del presupuesto municipal para la acción internacional" }) })
    await expect(row).toContainText("Responsible area: Desarrollo Económico")
    // The coordinator moves the section to review; it stays so.
    const state = ana.page.getByLabel("State of Porcentaje del presupuesto municipal para la acción internacional")
    await state.selectOption("in_review")
    await expect.poll(async () => {
      const s = await ana.page.request.get(`${server.url}/api/strategies/${section.strategy_id}`).then((r) => r.json())
      return s.sections.find((x: { id: string }) => x.id === section.id).state
    }).toBe("in_review")

    // Two people open the section (one reads): the outline shows both, polled.
    await openSection(eco, server.url, "budget_share")
    await openSection(observer, server.url, "budget_share")
    const present = row.getByLabel(/Who is in/)
    await expect(present).toContainText("Área de Economía", { timeout: 20_000 })
    await expect(present).toContainText("Concejo Municipal")
    await expectAccessible(ana.page, "the outline")
    await ana.page.screenshot({ path: "../docs/screenshots/outline.png", fullPage: true })
    await eco.page.close()
    await expect(present).not.toContainText("Área de Economía", { timeout: 20_000 })
  })
})
