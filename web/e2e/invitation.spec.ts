import { execFileSync } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { DEMO, expect, expectAccessible, test, watchCsp } from "./support/fixtures"

// The demo server runs without SMTP: mail becomes `<data>/outbox/<id>.eml`, parsed here with
// Python's `email` package (tests/smtp/sink.py --parse) to find the link a person would click.
const sink = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../tests/smtp/sink.py")

function mailTo(data: string, address: string): { subject: string; text: string } | undefined {
  const dir = join(data, "outbox")
  if (!existsSync(dir)) return undefined
  const files = readdirSync(dir).filter((f) => f.endsWith(".eml")).map((f) => join(dir, f))
  if (files.length === 0) return undefined
  const out = execFileSync("python3", [sink, "--parse", ...files], { encoding: "utf8" })
  for (const line of out.trim().split("\n")) {
    const message = JSON.parse(line) as { to_addr: string; subject: string; parts: { content_type: string; content?: string }[] }
    if (message.to_addr !== address) continue
    const text = message.parts.find((p) => p.content_type === "text/plain")?.content ?? ""
    return { subject: message.subject, text }
  }
  return undefined
}

test("a new member gets an invitation, sets a password in the browser and lands on the city; the link then fails", async ({
  browser,
  person,
  server,
  cspViolations,
}) => {
  const ori = await person(DEMO.coordinator)
  const me = await (await ori.page.request.get("/api/me")).json()
  const cityId = me.memberships[0].city_id as string
  await ori.page.goto(`/cities/${cityId}`)
  const form = ori.page.getByRole("form", { name: "Add a member" })
  await form.getByLabel("Name").fill("Nueva Persona")
  await form.getByLabel("Email").fill("nueva@demo.concerta")
  await form.getByLabel("Role").selectOption("observer")
  await form.getByRole("button", { name: "Add member" }).click()
  const status = ori.page.getByTestId("invitation-nueva@demo.concerta")
  await expect(status).toContainText("Invited")
  await expect(status).toContainText("email sent")
  await expect(status.getByRole("button", { name: "Resend invitation to Nueva Persona" })).toBeVisible()
  await expectAccessible(ori.page, "the members screen with invitations")
  await ori.page.locator("#members").screenshot({ path: "../docs/screenshots/members-invitations.png" })

  // The email (in the city's language, Spanish) carries the link.
  let mail: { subject: string; text: string } | undefined
  await expect.poll(() => (mail = mailTo(server.data, "nueva@demo.concerta")) !== undefined, { timeout: 30_000 }).toBe(true)
  expect(mail!.subject).toContain("te invita a Concerta")
  const link = /(http\S+\/invite\/[A-Za-z0-9_-]+)/.exec(mail!.text)?.[1]
  expect(link, mail!.text).toBeTruthy()
  const path = new URL(link!).pathname

  // The invitee, in a browser of their own, with no account yet.
  const context = await browser.newContext({ baseURL: server.url })
  await watchCsp(context, cspViolations)
  const page = await context.newPage()
  await page.goto(path)
  await page.getByLabel(/^(Idioma|Language)$/).selectOption("en")
  await expect(page.getByRole("heading", { name: /Join / })).toBeVisible()
  await expect(page.getByText("nueva@demo.concerta")).toBeVisible()
  await expectAccessible(page, "the invitation page")
  await page.getByLabel("New password (at least 8 characters)").fill("mi contraseña nueva")
  await page.getByLabel("Repeat the password").fill("mi contraseña nueva")
  await page.screenshot({ path: "../docs/screenshots/invitation.png", fullPage: true })
  await page.getByRole("button", { name: "Set my password and enter" }).click()
  await expect(page).toHaveURL(new RegExp(`/cities/${cityId}$`))
  await expect(page.getByRole("heading", { name: "Strategies" })).toBeVisible()
  await context.close()

  // The same link, again: refused with a clear message.
  const again = await browser.newContext({ baseURL: server.url })
  await watchCsp(again, cspViolations)
  const second = await again.newPage()
  await second.goto(path)
  await second.getByLabel(/^(Idioma|Language)$/).selectOption("en")
  await expect(second.getByRole("alert")).toHaveText("This invitation link was used already. Log in with your password.")
  await again.close()

  // The coordinator sees it accepted.
  await ori.page.reload()
  await expect(ori.page.getByTestId("invitation-nueva@demo.concerta")).toContainText("Accepted")
})
