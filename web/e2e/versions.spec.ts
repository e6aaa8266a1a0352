import { DEMO, expect, expectAccessible, test } from "./support/fixtures"
import { editorBody, openSection } from "./support/sections"

test.describe("versions", () => {
  test("a version is named, the text changes, the diff shows it; approval shows on the outline; exports hold the texts", async ({ person, server }) => {
    const ana = await person(DEMO.coordinator)
    const section = await openSection(ana, server.url, "internationalisation_objectives")
    await editorBody(ana).click()
    await ana.page.keyboard.press("Control+End")
    await ana.page.keyboard.type(" Texto antes de la versión.")
    await expect(ana.page.getByTestId("sync-status")).toHaveAttribute("data-saved", "true")

    // Name a version.
    await ana.page.goto(`/strategies/${section.strategy_id}/versions`)
    await ana.page.getByLabel("Version name").fill("Revisión del equipo técnico")
    await ana.page.getByRole("button", { name: "Name this version" }).click()
    await expect(ana.page.getByRole("link", { name: "Revisión del equipo técnico", exact: true })).toBeVisible()
    await expectAccessible(ana.page, "the versions page")

    // Change the text after it.
    await openSection(ana, server.url, "internationalisation_objectives")
    await editorBody(ana).click()
    await ana.page.keyboard.press("Control+End")
    await ana.page.keyboard.type(" Añadido después.")
    await expect(ana.page.getByTestId("sync-status")).toHaveAttribute("data-saved", "true")

    // The version, read-only at its heads, and the diff since it.
    await ana.page.goto(`/strategies/${section.strategy_id}/versions`)
    await ana.page.getByRole("link", { name: "Revisión del equipo técnico", exact: true }).click()
    const title = "Objetivos de internacionalización"
    const atVersion = ana.page.getByRole("document", { name: `Text of ${title} in this version` })
    await expect(atVersion).toContainText("Texto antes de la versión.")
    await expect(atVersion).not.toContainText("Añadido después.")
    await ana.page.getByRole("button", { name: `Show what changed in ${title} since this version` }).click()
    const diff = ana.page.getByRole("region", { name: `Changes in ${title} since this version` })
    await expect(diff.locator("ins")).toContainText("Añadido después.")
    await expectAccessible(ana.page, "a version with its diff")
    await diff.scrollIntoViewIfNeeded()
    await ana.page.screenshot({ path: "../docs/screenshots/diff.png" })

    // Approve it: the outline says so.
    await ana.page.goto(`/strategies/${section.strategy_id}/versions`)
    await ana.page.getByRole("button", { name: "Approve Revisión del equipo técnico" }).click()
    await expect(ana.page.getByRole("button", { name: "Approve Revisión del equipo técnico" })).toHaveCount(0)
    await ana.page.goto(`/strategies/${section.strategy_id}`)
    await expect(ana.page.getByTestId("approved-version")).toHaveText("Approved version: Revisión del equipo técnico")
    const row = ana.page.getByRole("listitem").filter({ has: ana.page.getByRole("link", { name: title }) })
    await expect(row).toContainText("Changed since the approved version")

    // Exports of now and of the version hold the section texts.
    const versions = await ana.page.request.get(`${server.url}/api/strategies/${section.strategy_id}/versions`).then((r) => r.json())
    const version = versions.find((v: { name: string }) => v.name === "Revisión del equipo técnico")
    const md = await ana.page.request.get(`${server.url}/api/strategies/${section.strategy_id}/export?format=md`).then((r) => r.text())
    expect(md).toContain("Añadido después.")
    const html = await ana.page.request.get(`${server.url}/api/strategies/${section.strategy_id}/export?format=html&version=${version.id}`).then((r) => r.text())
    expect(html).toContain("Texto antes de la versión.")
    expect(html).not.toContain("Añadido después.")
  })
})
