import type { Browser, Page } from "@playwright/test"
import { DEMO, expect, expectAccessible, test, watchCsp, type Person } from "./support/fixtures"
import { parsedMailTo, type ParsedMail } from "./support/mail"
import { openSection } from "./support/sections"

interface ConsultationInfo {
  id: string
  title: string
  status: string
  sections: { id: string; title: string }[]
}

/** The demo's open consultation (on the live draft) and its thematic-areas section. */
async function openConsultation(page: Page, baseUrl: string): Promise<{ consultation: ConsultationInfo; section: { id: string; title: string } }> {
  const cities = await page.request.get(baseUrl + "/api/cities").then((r) => r.json())
  const list: ConsultationInfo[] = await page.request.get(`${baseUrl}/api/cities/${cities[0].id}/consultations`).then((r) => r.json())
  const consultation = list.find((c) => c.status === "open")
  expect(consultation, "the demo has an open consultation").toBeTruthy()
  const strategies = await page.request.get(`${baseUrl}/api/cities/${cities[0].id}/strategies`)
  const thematic = (await strategies.json())[0]?.sections?.find((s: { key: string }) => s.key === "thematic_areas")
  const section = consultation!.sections.find((s) => s.id === thematic?.id) ?? consultation!.sections[1]
  return { consultation: consultation!, section }
}

/** Selects words 2–4 of the first long paragraph of the reading view; returns the quote. */
async function selectPassage(page: Page): Promise<string> {
  return page.evaluate(() => {
    const paragraphs = [...document.querySelectorAll<HTMLElement>(".reading-view [data-block]")]
    const p = paragraphs.find((el) => (el.textContent ?? "").split(" ").length > 8)
    if (!p || !p.firstChild) throw new Error("no paragraph to select in")
    const node = p.firstChild
    const words = (node.textContent ?? "").split(" ")
    const start = words[0].length + 1
    const end = start + words.slice(1, 4).join(" ").length
    const range = document.createRange()
    range.setStart(node, start)
    range.setEnd(node, end)
    const selection = window.getSelection()!
    selection.removeAllRanges()
    selection.addRange(range)
    return (node.textContent ?? "").slice(start, end)
  })
}

/** A screenshot of an email's HTML part as a mail client shows it (a blank page, no server). */
async function screenshotMail(browser: Browser, mail: ParsedMail, path: string) {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.setContent(mail.html)
  await page.screenshot({ path, fullPage: true })
  await context.close()
}

function passageIn(person: Person, comment: string) {
  return person.page.locator(`.comment-passage[data-comment="${comment}"]`)
}

async function commentsAs(person: Person, baseUrl: string, consultation: string) {
  return person.page.request.get(`${baseUrl}/api/consultations/${consultation}/comments`).then((r) => r.json())
}

// The server sends its email over SMTP to aiosmtpd (the emails the tests read were delivered).
test.use({ smtp: true })

test.describe("consultations", () => {
  test("a stakeholder comments on a passage; it stays on its words while an editor edits around and inside it; the city's answer reaches the stakeholder", async ({
    person,
    server,
  }) => {
    const stakeholder = await person(DEMO.stakeholder)
    const { consultation, section } = await openConsultation(stakeholder.page, server.url)
    await stakeholder.page.goto(`/consultations/${consultation.id}`)
    await stakeholder.page.getByRole("button", { name: section.title }).click()
    await expect(stakeholder.page.getByRole("document", { name: new RegExp(section.title) })).toBeVisible()
    await expectAccessible(stakeholder.page, "the stakeholder's reading view")

    const quote = await selectPassage(stakeholder.page)
    await expect(stakeholder.page.getByTestId("selected-passage")).toHaveText(quote)
    await stakeholder.page.getByLabel("Your comment").fill("Please name the priority areas.")
    await stakeholder.page.getByRole("button", { name: "Send comment" }).click()
    const thread = stakeholder.page.getByTestId("thread").filter({ hasText: "Please name the priority areas." })
    await expect(thread.locator("blockquote")).toHaveText(quote)
    const mine = (await commentsAs(stakeholder, server.url, consultation.id)).find((c: { body: string }) => c.body === "Please name the priority areas.")
    expect(mine.anchor.quote).toBe(quote)
    await stakeholder.page.screenshot({ path: "../docs/screenshots/consultation-stakeholder.png", fullPage: true })

    // The editor of the section's area sees the comment on its passage, then edits.
    const editor = await person(DEMO.cultura)
    await openSection(editor, server.url, "thematic_areas")
    await expect(passageIn(editor, mine.id)).toHaveText(quote)
    await expect(editor.page.getByTestId("editor-comment").filter({ hasText: "Please name the priority areas." })).toBeVisible()
    // Inside the passage: click into it and type.
    await passageIn(editor, mine.id).click()
    await editor.page.keyboard.type(" NUEVO ")
    // Around it: click at the start of its line, type and delete. (Not the Home key: in
    // headless chromium it often left the caret inside the passage, and the text typed
    // next went there.)
    const line = editor.page.getByRole("textbox", { name: /^Text of / }).locator("p, li, h1, h2, h3").filter({ hasText: "NUEVO" })
    await line.click({ position: { x: 1, y: 4 } })
    await editor.page.keyboard.type("Antes: ")
    await editor.page.keyboard.press("Delete")
    const [first, ...rest] = quote.split(" ")
    const last = rest[rest.length - 1]
    await expect.poll(async () => (await passageIn(editor, mine.id).allTextContents()).join("")).toContain("NUEVO")
    const now = (await passageIn(editor, mine.id).allTextContents()).join("")
    expect(now.startsWith(first), now).toBe(true)
    expect(now.endsWith(last), now).toBe(true)
    expect(now, "the text typed at the line's start is outside the passage").not.toContain("Antes")
    await expect(line).toHaveText(/^Antes: /)
    await expect(editor.page.getByTestId("sync-status")).toHaveAttribute("data-saved", "true")
    // The server resolves the anchor the same way.
    await expect
      .poll(async () => (await commentsAs(editor, server.url, consultation.id)).find((c: { id: string }) => c.id === mine.id).anchor.text, { timeout: 15_000 })
      .toContain("NUEVO")
    await expectAccessible(editor.page, "the section editor with consultation comments")
    await editor.page.screenshot({ path: "../docs/screenshots/consultation-editor.png", fullPage: true })

    // The coordinator answers from the consultation page.
    const coordinator = await person(DEMO.coordinator)
    await coordinator.page.goto(`/consultations/${consultation.id}`)
    await coordinator.page.getByRole("button", { name: section.title }).first().click()
    const queued = coordinator.page.getByTestId("thread").filter({ hasText: "Please name the priority areas." })
    await queued.getByLabel("Decision").selectOption("partly")
    await queued.getByLabel("Reason", { exact: true }).fill("We name three priority areas in the next version.")
    await queued.getByRole("button", { name: "Answer" }).click()
    await expect(queued.getByTestId("response")).toContainText("We name three priority areas")
    await expectAccessible(coordinator.page, "the coordinator's answer queue")
    await coordinator.page.screenshot({ path: "../docs/screenshots/consultation-coordinator.png", fullPage: true })

    // The stakeholder's open page shows the answer (pushed by the server's event stream)...
    await expect(thread.getByTestId("response")).toContainText("Partly accepted", { timeout: 15_000 })
    await expect(thread.getByTestId("response")).toContainText("We name three priority areas")
    // ... and the answer reached them by email, through the SMTP server.
    let answers: ParsedMail[] = []
    await expect
      .poll(() => (answers = parsedMailTo(server.data, DEMO.stakeholder).filter((m) => m.text.includes("We name three priority areas"))).length, { timeout: 30_000 })
      .toBe(1)
    expect(answers[0].subject).toContain("answered your comment")
    expect(answers[0].text).toContain("Please name the priority areas.")
  })

  test("an editor's open section editor shows a new comment and its answer at once, pushed by the server, not polled", async ({ person, server }) => {
    const stakeholder = await person(DEMO.stakeholder)
    const { consultation, section } = await openConsultation(stakeholder.page, server.url)
    // The consultation's times read in the city's time zone, named.
    await stakeholder.page.goto(`/consultations/${consultation.id}`)
    await expect(stakeholder.page.getByText(/\(America\/Bogota\).*\(America\/Bogota\)/).first()).toBeVisible()

    const editor = await person(DEMO.cultura)
    const commentsPath = `/api/sections/${section.id}/comments`
    const fetches: number[] = []
    editor.page.on("request", (request) => {
      if (new URL(request.url()).pathname === commentsPath) fetches.push(Date.now())
    })
    const stream = editor.page.waitForResponse((r) => new URL(r.url()).pathname === `${commentsPath}/events`)
    await openSection(editor, server.url, "thematic_areas")
    expect((await stream).headers()["content-type"]).toContain("text/event-stream")
    // The stream's `ready` fetches once; with the stream up there is no polling.
    await expect.poll(() => fetches.length).toBeGreaterThan(0)
    const status = editor.page.getByRole("status").filter({ hasText: /Comments update live/ })

    const posted = Date.now()
    const made = await stakeholder.page.request.post(`${server.url}/api/consultations/${consultation.id}/comments`, {
      headers: { "x-concerta-csrf": "1" },
      data: { section_id: section.id, body: "Pushed, not polled: name the partner cities." },
    })
    expect(made.status()).toBe(201)
    const comment = await made.json()
    const card = editor.page.locator(`[data-testid="editor-comment"][data-comment="${comment.id}"]`)
    // Far sooner than the 30 s fallback poll: the server's event made the panel fetch.
    await expect(card).toBeVisible({ timeout: 5_000 })
    await expect(status).toHaveAttribute("data-live", "true")
    const shownAfter = Date.now() - posted
    expect(shownAfter).toBeLessThan(10_000)
    expect(fetches.filter((t) => t >= posted).length, "one fetch per event, no polling").toBeLessThanOrEqual(2)

    // The coordinator's answer, written elsewhere, reaches the open panel the same way.
    const coordinator = await person(DEMO.coordinator)
    const answered = await coordinator.page.request.post(`${server.url}/api/comments/${comment.id}/response`, {
      headers: { "x-concerta-csrf": "1" },
      data: { decision: "noted", reason: "Listed in the annex." },
    })
    expect(answered.status()).toBe(200)
    await expect(card.getByTestId("editor-response")).toContainText("Listed in the annex.", { timeout: 5_000 })
    await expectAccessible(editor.page, "the section editor with live comments")
  })

  test("a suggested rewrite applied by an editor reaches another editor's open editor live, and the response shows it applied", async ({ person, server }) => {
    const stakeholder = await person(DEMO.stakeholder)
    const { consultation, section } = await openConsultation(stakeholder.page, server.url)
    const text = await stakeholder.page.request.get(`${server.url}/api/consultations/${consultation.id}/sections/${section.id}`).then((r) => r.json())
    const line: string = text.text.split("\n").find((l: string) => l.split(" ").length > 8)
    const words = line.split(" ")
    const quote = words.slice(1, 4).join(" ")
    const suggestion = `${words[1]} MUY ${words.slice(2, 4).join(" ")}`
    const made = await stakeholder.page.request.post(`${server.url}/api/consultations/${consultation.id}/comments`, {
      headers: { "x-concerta-csrf": "1" },
      data: { section_id: section.id, body: "Una redacción más fuerte.", anchor: { quote }, suggestion },
    })
    expect(made.status()).toBe(201)
    const comment = await made.json()
    // A second comment on a wider passage holding the first: each passage keeps an element
    // of its own (overlapping decorations must not merge into one with one id).
    const widerQuote = words.slice(0, 5).join(" ")
    const wider = await stakeholder.page.request
      .post(`${server.url}/api/consultations/${consultation.id}/comments`, {
        headers: { "x-concerta-csrf": "1" },
        data: { section_id: section.id, body: "Todo el párrafo.", anchor: { quote: widerQuote } },
      })
      .then((r) => r.json())

    const cultura = await person(DEMO.cultura)
    const ori = await person(DEMO.coordinator)
    await openSection(cultura, server.url, "thematic_areas")
    await openSection(ori, server.url, "thematic_areas")
    const card = cultura.page.locator(`[data-testid="editor-comment"][data-comment="${comment.id}"]`)
    await expect(card).toBeVisible()
    await card.getByRole("button", { name: "Apply the suggested rewrite" }).click()
    // The other editor's open editor gets the rewrite live.
    await expect(ori.page.getByRole("textbox", { name: /^Text of / })).toContainText(suggestion, { timeout: 15_000 })
    await expect(card.getByTestId("editor-response")).toContainText("rewrite applied", { timeout: 15_000 })
    const answered = (await commentsAs(stakeholder, server.url, consultation.id)).find((c: { id: string }) => c.id === comment.id)
    expect(answered.response.applied).toBe(true)
    expect(answered.response.applied_heads.length).toBeGreaterThan(0)
    // (A passage may be drawn as several elements: where another passage starts or ends
    // inside it, or a mark changes.)
    await expect.poll(async () => (await passageIn(ori, comment.id).allTextContents()).join("")).toContain("MUY")
    await expect.poll(async () => (await passageIn(ori, wider.id).allTextContents()).join("")).toContain(`${words[0]} ${suggestion} ${words[4]}`)
  })

  test("a stakeholder invited by email starts from the emailed link, sets a password, lands on the consultation and comments; the city's answer arrives by email", async ({
    browser,
    person,
    server,
    cspViolations,
  }) => {
    const address = "fundacion@demo.concerta"
    const coordinator = await person(DEMO.coordinator)
    const { consultation } = await openConsultation(coordinator.page, server.url)
    await coordinator.page.goto(`/consultations/${consultation.id}`)
    const panel = coordinator.page.getByRole("region", { name: "Invitees" })
    await panel.getByLabel("Email").fill(address)
    await panel.getByLabel("Name").fill("Marta <Gómez>")
    await panel.getByLabel("Organisation").fill("Fundación Río & Mar")
    await panel.getByLabel("Sector").selectOption("civil_society")
    await panel.getByRole("button", { name: "Invite", exact: true }).click()
    const row = coordinator.page.getByTestId(`invitee-${address}`)
    await expect(row).toContainText("sets a password from the email")
    await expect(row).toContainText("email sent")
    await expect(row.getByRole("button", { name: "Resend invitation to Marta <Gómez>" })).toBeVisible()
    await expect(row.getByRole("button", { name: "Withdraw the invitation of Marta <Gómez>" })).toBeVisible()
    // One more from the actors registry: its name, sector and address come from the registry.
    const registryAddress = "contacto@ciudadabierta.demo"
    await panel.getByLabel("From the actors registry").selectOption({ label: `Fundación Ciudad Abierta · Civil society · ${registryAddress}` })
    await panel.getByRole("button", { name: "Invite the actor" }).click()
    const fromRegistry = coordinator.page.getByTestId(`invitee-${registryAddress}`)
    await expect(fromRegistry).toContainText("Fundación Ciudad Abierta · Fundación Ciudad Abierta · Civil society")
    await expect(fromRegistry).toContainText("email sent")
    // Withdrawn, the invitation stays in the list, marked with its time; inviting again restores it.
    await fromRegistry.getByRole("button", { name: "Withdraw the invitation of Fundación Ciudad Abierta" }).click()
    await expect(fromRegistry).toContainText(/Withdrawn on .*\(America\/Bogota\)/)
    await expect(fromRegistry.getByRole("button", { name: "Resend invitation to Fundación Ciudad Abierta" })).toHaveCount(0)
    await fromRegistry.getByRole("button", { name: "Invite Fundación Ciudad Abierta again" }).click()
    await expect(fromRegistry.getByRole("button", { name: "Withdraw the invitation of Fundación Ciudad Abierta" })).toBeVisible()
    await expect(fromRegistry).not.toContainText("Withdrawn")
    await expectAccessible(coordinator.page, "the consultation's invitees with their emails")
    await panel.screenshot({ path: "../docs/screenshots/consultation-invitees.png" })

    // The email, in the city's language (Spanish), names the consultation and carries the link.
    let mails: ParsedMail[] = []
    await expect.poll(() => (mails = parsedMailTo(server.data, address)).length, { timeout: 30_000 }).toBe(1)
    const invitation = mails[0]
    const registryMail = parsedMailTo(server.data, registryAddress).find((m) => m.subject.includes("te invita a comentar"))
    expect(registryMail?.text, "the registry's actor got the account invitation naming the consultation").toMatch(/\/invite\/\S+\?next=\/consultations\//)
    expect(invitation.subject).toBe(`Ciudad Demo te invita a comentar «${consultation.title}»`)
    expect(invitation.html).toContain("Marta &lt;Gómez&gt;")
    expect(invitation.html).toContain("Fundación Río &amp; Mar")
    const link = /(http\S+\/invite\/\S+)/.exec(invitation.text)?.[1]
    expect(link, invitation.text).toBeTruthy()
    const target = new URL(link!)
    expect(target.searchParams.get("next")).toBe(`/consultations/${consultation.id}`)
    await screenshotMail(browser, invitation, "../docs/screenshots/consultation-invitation-email.png")

    // The stakeholder, in a browser of their own with no account yet, follows the link.
    const context = await browser.newContext({ baseURL: server.url })
    await watchCsp(context, cspViolations)
    const page = await context.newPage()
    await page.goto(target.pathname + target.search)
    await page.getByLabel(/^(Idioma|Language)$/).selectOption("en")
    await expect(page.getByText(address)).toBeVisible()
    await page.getByLabel("New password (at least 8 characters)").fill("mi clave de la fundación")
    await page.getByLabel("Repeat the password").fill("mi clave de la fundación")
    await page.getByRole("button", { name: "Set my password and enter" }).click()
    await expect(page).toHaveURL(new RegExp(`/consultations/${consultation.id}$`))
    await expect(page.getByRole("heading", { name: consultation.title, level: 1 })).toBeVisible()
    await expect(page.getByText("Invited on behalf of Fundación Río & Mar")).toBeVisible()
    await page.getByLabel("Your comment").fill("Pedimos una mesa con las fundaciones <del río>.")
    await page.getByRole("button", { name: "Send comment" }).click()
    const thread = page.getByTestId("thread").filter({ hasText: "Pedimos una mesa con las fundaciones" })
    await expect(thread).toBeVisible()
    await expectAccessible(page, "the consultation, reached from the emailed link")
    await page.screenshot({ path: "../docs/screenshots/consultation-from-email.png", fullPage: true })
    // The link worked once.
    const again = await browser.newContext({ baseURL: server.url })
    await watchCsp(again, cspViolations)
    const second = await again.newPage()
    await second.goto(target.pathname + target.search)
    await second.getByLabel(/^(Idioma|Language)$/).selectOption("en")
    await expect(second.getByRole("alert")).toHaveText("This invitation link was used already. Log in with your password.")
    await again.close()

    // The coordinator answers; the stakeholder gets it by email, in English (the language they wrote in), once.
    await coordinator.page.reload()
    await coordinator.page.getByRole("button", { name: consultation.sections[0].title }).first().click()
    const queued = coordinator.page.getByTestId("thread").filter({ hasText: "Pedimos una mesa con las fundaciones" })
    await queued.getByLabel("Decision").selectOption("accepted")
    await queued.getByLabel("Reason", { exact: true }).fill("La mesa de seguimiento suma a las fundaciones <desde marzo>.")
    await queued.getByRole("button", { name: "Answer" }).click()
    await expect(queued.getByTestId("response")).toContainText("La mesa de seguimiento suma")
    await expect.poll(() => (mails = parsedMailTo(server.data, address)).length, { timeout: 30_000 }).toBe(2)
    const answer = mails[1]
    expect(answer.subject).toBe("Ciudad Demo answered your comment: accepted")
    expect(answer.text).toContain("Decision: Accepted")
    expect(answer.text).toContain("Reason: La mesa de seguimiento suma a las fundaciones <desde marzo>.")
    expect(answer.text).toContain(`${server.url}/consultations/${consultation.id}`)
    expect(answer.html).toContain("&lt;desde marzo&gt;")
    expect(answer.html).not.toContain("<desde marzo>")
    await screenshotMail(browser, answer, "../docs/screenshots/consultation-answer-email.png")
    await page.reload()
    await expect(page.getByTestId("thread").filter({ hasText: "Pedimos una mesa" }).getByTestId("response")).toContainText("Accepted")
    await context.close()
  })
})
