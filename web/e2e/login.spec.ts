import { DEMO, DEMO_PASSWORD, expect, expectAccessible, test } from "./support/fixtures"

test.describe("login", () => {
  test("the demo server shows its accounts, logs in and out, in the chosen language", async ({ page, server }) => {
    await page.goto(server.url + "/")
    // Not logged in: the app sends us to the login page. Nothing is chosen yet, so the
    // browser's language applies; the user picks Spanish.
    await expect(page).toHaveURL(/\/login$/)
    await page.getByLabel(/Language|Idioma/).selectOption("es")
    await expect(page.locator("html")).toHaveAttribute("lang", "es")
    await expect(page.getByRole("heading", { name: "Iniciar sesión", level: 1 })).toBeVisible()
    await expect(page.getByRole("heading", { name: "Cuentas de demostración" })).toBeVisible()
    await expectAccessible(page, "the login page")
    await page.screenshot({ path: "../docs/screenshots/login.png", fullPage: true })

    // A wrong password says so, in Spanish.
    await page.getByLabel("Correo electrónico").fill(DEMO.coordinator)
    await page.getByLabel("Contraseña").fill("wrong password")
    await page.getByRole("button", { name: "Entrar" }).click()
    await expect(page.getByRole("alert")).toHaveText("Correo o contraseña incorrectos.")

    // A demo account fills the form; logging in lands on the city's home.
    await page.getByRole("button", { name: `Usar ${DEMO.coordinator}` }).click()
    await expect(page.getByLabel("Contraseña")).toHaveValue(DEMO_PASSWORD)
    await page.getByRole("button", { name: "Entrar" }).click()
    await expect(page.getByRole("heading", { name: "Ciudad Demo", level: 1 })).toBeVisible()
    await expect(page.getByRole("link", { name: "Estrategia de Acción Internacional 2030" })).toBeVisible()

    // English, chosen by the user, sticks across a reload.
    await page.getByLabel("Idioma", { exact: true }).selectOption("en")
    await expect(page.locator("html")).toHaveAttribute("lang", "en")
    await page.reload()
    await expect(page.getByRole("heading", { name: "Strategies" })).toBeVisible()
    await expectAccessible(page, "the city home")

    await page.getByRole("button", { name: "Log out" }).click()
    await expect(page).toHaveURL(/\/login$/)
    // The session is gone on the server too.
    const me = await page.request.get(server.url + "/api/me")
    expect(me.status()).toBe(401)
  })

  test("client routes load directly; unknown API paths stay JSON 404s", async ({ page, server }) => {
    const deep = await page.request.get(server.url + "/cities/whatever/deep/link")
    expect(deep.status()).toBe(200)
    expect(deep.headers()["content-type"]).toContain("text/html")
    expect(deep.headers()["cache-control"]).toBe("no-cache")
    const api = await page.request.get(server.url + "/api/nothing/here")
    expect(api.status()).toBe(404)
    expect(await api.json()).toMatchObject({ error: { code: "not_found" } })
    const html = await deep.text()
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
    expect(script, "index.html names a hashed script").toBeTruthy()
    const asset = await page.request.get(server.url + script!)
    expect(asset.status()).toBe(200)
    expect(asset.headers()["cache-control"]).toBe("public, max-age=31536000, immutable")
    expect(asset.headers()["content-type"]).toContain("javascript")
    // Sent gzipped to a client that accepts it (the bytes above were decompressed for us).
    expect(asset.headers()["content-encoding"]).toBe("gzip")
    expect(await asset.text()).toContain("import")
    const missing = await page.request.get(server.url + "/assets/missing-0000.js")
    expect(missing.status()).toBe(404)
  })
})
