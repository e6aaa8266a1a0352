import { DEMO_PASSWORD, expect, expectAccessible, test, watchCsp } from "./support/fixtures"

test("a person changes their password; their other session ends; the new password logs in", async ({ browser, person, server, cspViolations }) => {
  // A throw-away account, so the demo accounts keep their password for the other tests.
  const email = "cambio@demo.concerta"
  server.cli(["admin", "create-user", "--email", email, "--name", "Cambio", "--password-stdin"], DEMO_PASSWORD + "\n")
  // Another session of the same person (its own login, so its own cookie).
  const otherContext = await browser.newContext({ baseURL: server.url })
  await watchCsp(otherContext, cspViolations)
  const login = await otherContext.request.post("/api/auth/login", { data: { email, password: DEMO_PASSWORD }, headers: { "x-concerta-csrf": "1" } })
  expect(login.status()).toBe(200)
  const other = { page: await otherContext.newPage() }
  await other.page.goto("/account")
  await expect(other.page.getByRole("heading", { name: "My account" })).toBeVisible()

  const me = await person(email)
  await me.page.goto("/account")
  await expectAccessible(me.page, "the account page")
  await me.page.getByLabel("Current password").fill("wrong password")
  await me.page.getByLabel("New password", { exact: true }).fill("a brand new password")
  await me.page.getByLabel("Repeat the new password").fill("a brand new password")
  await me.page.getByRole("button", { name: "Change password" }).click()
  // The server's refusal, in the user's words and tied to the field (never its English or
  // the API's field name).
  await expect(me.page.getByLabel("Current password")).toHaveAccessibleDescription("This is not your current password.")

  await me.page.getByLabel("Current password").fill(DEMO_PASSWORD)
  await me.page.getByLabel("Repeat the new password").fill("a brand new passwork")
  await me.page.getByRole("button", { name: "Change password" }).click()
  await expect(me.page.getByText("The two new passwords differ.")).toBeVisible()
  await me.page.getByLabel("Repeat the new password").fill("a brand new password")
  await me.page.getByRole("button", { name: "Change password" }).click()
  await expect(me.page.getByRole("status").filter({ hasText: "Password changed" })).toBeVisible()

  // The other session is over: its next request sends it to log in.
  await other.page.reload()
  await expect(other.page).toHaveURL(/\/login$/)
  // The new password works, the old one does not.
  const fresh = await browser.newContext({ baseURL: server.url })
  const old = await fresh.request.post("/api/auth/login", { data: { email, password: DEMO_PASSWORD }, headers: { "x-concerta-csrf": "1" } })
  expect(old.status()).toBe(401)
  const now = await fresh.request.post("/api/auth/login", { data: { email, password: "a brand new password" }, headers: { "x-concerta-csrf": "1" } })
  expect(now.status()).toBe(200)
  await fresh.close()
  await otherContext.close()
})

test("the server's field errors are shown in the person's language", async ({ person }) => {
  const cultura = await person("cultura@demo.concerta", { language: "es" })
  await cultura.page.goto("/account")
  await expect(cultura.page.getByRole("heading", { name: "Mi cuenta" })).toBeVisible()
  await cultura.page.getByLabel("Contraseña actual").fill("no es esta")
  await cultura.page.getByLabel("Contraseña nueva", { exact: true }).fill("una contraseña nueva")
  await cultura.page.getByLabel("Repita la contraseña nueva").fill("una contraseña nueva")
  await cultura.page.getByRole("button", { name: "Cambiar contraseña" }).click()
  await expect(cultura.page.getByLabel("Contraseña actual")).toHaveAccessibleDescription("Esta no es su contraseña actual.")
  await expect(cultura.page.getByLabel("Contraseña actual")).toHaveAttribute("aria-invalid", "true")
  await expect(cultura.page.getByText("current_password")).toHaveCount(0)
  await expectAccessible(cultura.page, "a field error in Spanish")
})
