import { DEMO, DEMO_PASSWORD, expect, expectAccessible, test, watchCsp } from "./support/fixtures"

test.describe("security screens", () => {
  test("a coordinator reads the city's audit log; an observer may not", async ({ person, server }) => {
    const ana = await person(DEMO.coordinator)
    const me = await ana.page.request.get(`${server.url}/api/me`).then((r) => r.json())
    const city: string = me.memberships[0].city_id
    // Something worth recording, done by the coordinator: a member changes area.
    const members = await ana.page.request.get(`${server.url}/api/cities/${city}/members`).then((r) => r.json())
    const observer = members.find((m: { email: string }) => m.email === DEMO.observer)
    const changed = await ana.page.request.patch(`${server.url}/api/cities/${city}/members/${observer.id}`, {
      data: { role: "stakeholder" },
      headers: { "x-concerta-csrf": "1" },
    })
    expect(changed.status()).toBe(200)
    const back = await ana.page.request.patch(`${server.url}/api/cities/${city}/members/${observer.id}`, {
      data: { role: "observer" },
      headers: { "x-concerta-csrf": "1" },
    })
    expect(back.status()).toBe(200)

    await ana.page.goto(`/cities/${city}`)
    await ana.page.getByRole("link", { name: "Audit log" }).click()
    await expect(ana.page).toHaveURL(new RegExp(`/cities/${city}/audit$`))
    await expect(ana.page.getByRole("heading", { name: "Audit log", level: 1 })).toBeVisible()
    const log = ana.page.getByRole("table", { name: "Audit log" })
    // Newest first: the two changes by Ana, then the demo's members added by the system.
    const rows = log.getByRole("row")
    await expect(rows.nth(1)).toContainText("Member's role or area changed")
    await expect(rows.nth(1)).toContainText(DEMO.coordinator)
    await expect(rows.nth(1)).toContainText("role: stakeholder → observer")
    await expect(rows.nth(2)).toContainText("role: observer → stakeholder")
    // The demo's members were added by the command line (other tests add members through the
    // app on this shared demo server, so those rows are not the first "Member added" ones).
    // A page holds 50 entries; the demo's are among the oldest, so page back to them.
    const demoAdded = log.getByRole("row").filter({ hasText: "Member added" }).filter({ hasText: DEMO.observer })
    const older = ana.page.getByRole("button", { name: "Show older entries" })
    while ((await demoAdded.count()) === 0 && (await older.count()) > 0) {
      const shown = await log.getByRole("row").count()
      await older.click()
      await expect(log.getByRole("row")).not.toHaveCount(shown)
    }
    await expect(demoAdded).toContainText("System (command line)")
    await expectAccessible(ana.page, "the audit log")
    await ana.page.screenshot({ path: "../docs/screenshots/audit-log.png", fullPage: true })

    // An observer has no link and gets "not allowed" at the address.
    const reader = await person(DEMO.observer)
    await reader.page.goto(`/cities/${city}`)
    await expect(reader.page.getByRole("heading", { level: 1 })).toBeVisible()
    await expect(reader.page.getByRole("link", { name: "Audit log" })).toHaveCount(0)
    await reader.page.goto(`/cities/${city}/audit`)
    await expect(reader.page.getByRole("alert")).toContainText("You are not allowed to do this.")
  })

  test("a person sees where they are logged in, ends the other sessions, and makes and revokes an API token", async ({ browser, person, server, cspViolations }) => {
    // A throw-away account, so the demo accounts' sessions stay as the other tests left them.
    const email = "sesiones@demo.concerta"
    server.cli(["admin", "create-user", "--email", email, "--name", "Sesiones", "--password-stdin"], DEMO_PASSWORD + "\n")
    const phone = await browser.newContext({ baseURL: server.url, userAgent: "PhoneBrowser/1.0" })
    await watchCsp(phone, cspViolations)
    const login = await phone.request.post("/api/auth/login", { data: { email, password: DEMO_PASSWORD }, headers: { "x-concerta-csrf": "1" } })
    expect(login.status()).toBe(200)
    const phonePage = await phone.newPage()
    await phonePage.goto("/account")
    await expect(phonePage.getByRole("heading", { name: "My account" })).toBeVisible()

    const me = await person(email)
    await me.page.goto("/account")
    const sessions = me.page.getByRole("table", { name: "Where you are logged in" })
    await expect(sessions.getByRole("row")).toHaveCount(3)
    await expect(sessions.getByRole("row").filter({ hasText: "(this browser)" })).toHaveCount(1)
    await expect(sessions).toContainText("PhoneBrowser/1.0")

    // A token for a script: named, expiring; its secret is shown once and works.
    await me.page.getByLabel("Name", { exact: true }).fill("Nightly export")
    await me.page.getByLabel("Expires on (optional)").fill("2030-01-31")
    await me.page.getByRole("button", { name: "Create token" }).click()
    await expect(me.page.getByRole("status").filter({ hasText: "Copy it now" })).toBeVisible()
    const secret = await me.page.getByLabel("The new token").inputValue()
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const tokens = me.page.getByRole("table", { name: "API tokens" })
    await expect(tokens.getByRole("row").filter({ hasText: "Nightly export" })).toContainText("2030")
    const script = await browser.newContext({ baseURL: server.url })
    expect((await script.request.get("/api/me", { headers: { authorization: `Bearer ${secret}` } })).status()).toBe(200)
    await me.page.reload()
    await expect(tokens.getByRole("row").filter({ hasText: "Nightly export" })).not.toContainText("Never")
    await expectAccessible(me.page, "the account page with sessions and tokens")
    await me.page.screenshot({ path: "../docs/screenshots/account-security.png", fullPage: true })

    // Revoked: the script is refused at once.
    me.page.once("dialog", (dialog) => dialog.accept())
    await me.page.getByRole("button", { name: "Revoke Nightly export" }).click()
    await expect(me.page.getByText("You have no API tokens.")).toBeVisible()
    expect((await script.request.get("/api/me", { headers: { authorization: `Bearer ${secret}` } })).status()).toBe(401)
    await script.close()

    // "Log out everywhere else": the phone is sent to the login page, this browser stays.
    await me.page.getByRole("button", { name: "Log out everywhere else" }).click()
    await expect(me.page.getByRole("status").filter({ hasText: /other sessions? ended/ })).toBeVisible()
    await expect(sessions.getByRole("row")).toHaveCount(2)
    await phonePage.reload()
    await expect(phonePage).toHaveURL(/\/login$/)
    await me.page.reload()
    await expect(me.page.getByRole("heading", { name: "My account" })).toBeVisible()
    await phone.close()
  })
})
