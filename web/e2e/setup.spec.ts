// A production-like first run: no demo, no account. The first screen explains setup and
// takes the one-time token from the server's log; the administrator then builds the city in
// the app: a city, its areas, members with roles and areas, the actors registry.
import { expect, expectAccessible, test as base, watchCsp } from "./support/fixtures"
import { startServer, type Server } from "./support/server"

const test = base.extend<{ empty: Server }>({
  // eslint-disable-next-line no-empty-pattern
  empty: async ({}, use) => {
    const server = await startServer({ demo: false })
    await use(server)
    await server.stop()
  },
})

test("first-run setup, then a coordinator's city management, by keyboard and in the city's language", async ({ browser, empty, cspViolations }) => {
  const context = await browser.newContext({ baseURL: empty.url, locale: "en-US" })
  await watchCsp(context, cspViolations)
  const page = await context.newPage()

  // A plain `serve` has no demo accounts and sends the browser to setup.
  const instance = await page.request.get("/api/instance").then((r) => r.json())
  expect(instance).toMatchObject({ setup_needed: true, setup_token_armed: true })
  expect(instance.demo_accounts).toBeUndefined()
  await page.goto("/")
  await expect(page).toHaveURL(/\/setup$/)
  await expect(page.getByRole("heading", { name: "Set up Concerta", level: 1 })).toBeVisible()
  await expectAccessible(page, "the setup page")

  const token = empty.setupToken()
  expect(token, "the server printed a setup token in its log").toBeTruthy()
  await page.getByLabel("Setup token").fill("not-the-token")
  await page.getByLabel("Your name").fill("Ada Admin")
  await page.getByLabel("Email").fill("ada@example.org")
  await page.getByLabel("Password").fill("correct horse battery")
  await page.getByRole("button", { name: "Create administrator" }).click()
  await expect(page.getByText("is not this server's setup token")).toBeVisible()
  await page.getByLabel("Setup token").fill(token!)
  // Submit with the keyboard.
  await page.getByLabel("Password").press("Enter")
  await expect(page.getByRole("heading", { name: "Cities", level: 1 })).toBeVisible()

  // A city in Portuguese: nothing was chosen, so its pages speak the city's language.
  await page.getByLabel("City name").fill("Rio de Janeiro")
  await page.getByLabel("Short name for addresses").fill("rio")
  await page.getByLabel("Default language").selectOption("pt")
  await page.getByRole("button", { name: "Create city" }).click()
  await page.getByRole("link", { name: "Rio de Janeiro" }).click()
  await expect(page.locator("html")).toHaveAttribute("lang", "pt")
  await expect(page.getByRole("heading", { name: "Áreas de governo" })).toBeVisible()

  // Areas, members (role and area changed in place), actors (edited and removed).
  await page.getByLabel("Nome da área").fill("Cultura")
  await page.getByRole("button", { name: "Adicionar área" }).click()
  await expect(page.locator("#areas").getByRole("listitem")).toHaveCount(1)
  await page.getByLabel("Nome da área").fill("Meio Ambiente")
  await page.getByRole("button", { name: "Adicionar área" }).click()
  await expect(page.locator("#areas").getByRole("listitem")).toHaveCount(2)

  const members = page.locator("#members")
  await members.getByLabel("Nome", { exact: true }).fill("Beatriz")
  await members.getByLabel("E-mail", { exact: true }).fill("beatriz@rio.example.org")
  await members.getByLabel("Papel", { exact: true }).selectOption("editor")
  await members.getByLabel("Área", { exact: true }).selectOption({ label: "Cultura" })
  await members.getByRole("button", { name: "Adicionar membro" }).click()
  await expect(members.getByRole("row", { name: /Beatriz/ })).toBeVisible()
  await members.getByLabel("Área de Beatriz").selectOption({ label: "Meio Ambiente" })
  await members.getByLabel("Papel de Beatriz").selectOption("observer")
  await expect
    .poll(async () => {
      const list = await page.request.get(`${page.url().replace(/.*\/cities\//, "/api/cities/").split("#")[0]}/members`).then((r) => r.json())
      return list.map((m: { name: string; role: string }) => `${m.name}:${m.role}`)
    })
    .toEqual(["Beatriz:observer"])

  const actors = page.locator("#actors")
  await actors.getByLabel("Nome", { exact: true }).fill("UFRJ")
  await actors.getByLabel("Setor").selectOption("academia")
  await actors.getByLabel("País").fill("Brasil")
  await actors.getByRole("button", { name: "Registrar ator" }).click()
  await expect(actors.getByRole("row", { name: /UFRJ/ })).toBeVisible()
  await actors.getByRole("button", { name: "Editar UFRJ" }).click()
  await actors.getByLabel("Site").fill("https://ufrj.br")
  await actors.getByRole("button", { name: "Salvar" }).click()
  await expect(actors.getByRole("link", { name: "https://ufrj.br" })).toBeVisible()
  page.once("dialog", (dialog) => void dialog.accept())
  await actors.getByRole("button", { name: "Excluir UFRJ" }).click()
  await expect(actors.getByText("Ainda não há atores registrados.")).toBeVisible()
  await expectAccessible(page, "the city home, managed")

  // Setup is over for good.
  expect((await page.request.get("/api/instance").then((r) => r.json())).setup_needed).toBe(false)
  await context.close()
})
