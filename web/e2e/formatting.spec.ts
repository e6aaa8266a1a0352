// Rich text made in one browser reaches another through the server's schema checks: headings,
// bulleted and numbered lists, bold, italic and links, made with the keyboard only (the link
// through the link dialog, Ctrl+K). A fresh reader loads the same from the server.
import { DEMO, expect, expectAccessible, test } from "./support/fixtures"
import { clear, editorBody, openSection, structure } from "./support/sections"

test.describe("formatting", () => {
  test("headings, lists, bold, italic and a link made by keyboard reach the other browser", async ({ person, server }) => {
    const one = await person(DEMO.coordinator)
    const two = await person(DEMO.coordinator)
    await openSection(one, server.url, "situational_awareness")
    await openSection(two, server.url, "situational_awareness")
    await clear(one)
    const keys = one.page.keyboard

    await keys.press("Control+Alt+2")
    await keys.type("Tendencias")
    await keys.press("Enter")
    await keys.type("Texto ")
    await keys.press("Control+b")
    await keys.type("fuerte")
    await keys.press("Control+b")
    await keys.type(" y ")
    await keys.press("Control+i")
    await keys.type("suave")
    await keys.press("Control+i")
    await keys.type(". Ver el sitio")
    // Select "el sitio" and make it a link through the dialog.
    for (let i = 0; i < "el sitio".length; i++) await keys.press("Shift+ArrowLeft")
    await keys.press("Control+k")
    const dialog = one.page.getByRole("dialog", { name: "Add a link" })
    await expect(dialog).toBeVisible()
    const address = dialog.getByRole("textbox", { name: "Link address" })
    await expect(address).toBeFocused()
    // A script address is refused, with the reason tied to the field.
    await keys.type("javascript:alert(1)")
    await keys.press("Enter")
    await expect(dialog.getByRole("alert")).toHaveText(/not a web or email address/)
    await expect(address).toHaveAttribute("aria-invalid", "true")
    await expectAccessible(one.page, "the link dialog with an error")
    await address.fill("")
    await keys.type("www.medellin.gov.co")
    await keys.press("Enter")
    await expect(dialog).toBeHidden()
    await expect(editorBody(one)).toBeFocused()
    await keys.press("End")
    await keys.press("Enter")
    await keys.press("Control+Shift+8")
    await keys.type("viñeta uno")
    await keys.press("Enter")
    await keys.type("viñeta dos")
    await keys.press("Enter")
    await keys.press("Enter") // an empty item leaves the list
    await keys.press("Control+Shift+9")
    await keys.type("paso uno")

    const expected =
      "<h2>Tendencias</h2><p>Texto <strong>fuerte</strong> y <em>suave</em>. Ver <a>el sitio</a></p>" +
      "<ul><li><p>viñeta uno</p></li><li><p>viñeta dos</p></li></ul><ol><li><p>paso uno</p></li></ol>"
    await expect.poll(() => structure(one)).toBe(expected)
    await expect.poll(() => structure(two), { timeout: 15_000 }).toBe(expected)
    await expect(editorBody(two).getByRole("link", { name: "el sitio" })).toHaveAttribute("href", "https://www.medellin.gov.co/")
    await expect(one.page.getByTestId("sync-status")).toHaveAttribute("data-saved", "true")

    // Editing the link: the dialog opens on the link around the cursor and can remove it.
    await editorBody(one).getByRole("link", { name: "el sitio" }).click()
    await keys.press("Control+k")
    const edit = one.page.getByRole("dialog", { name: "Edit the link" })
    await expect(edit.getByRole("textbox", { name: "Link address" })).toHaveValue("https://www.medellin.gov.co/")
    await keys.press("Escape")
    await expect(edit).toBeHidden()
    await one.page.getByRole("button", { name: "Link" }).click()
    await one.page.getByRole("dialog", { name: "Edit the link" }).getByRole("button", { name: "Remove the link" }).click()
    await expect.poll(() => structure(two), { timeout: 15_000 }).toBe(expected.replace("<a>el sitio</a>", "el sitio"))

    // A reader arriving now loads the same from the server.
    const fresh = await person(DEMO.observer)
    await openSection(fresh, server.url, "situational_awareness")
    await expect.poll(() => structure(fresh)).toBe(expected.replace("<a>el sitio</a>", "el sitio"))
  })
})
