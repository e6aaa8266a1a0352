import { DEMO, expect, expectAccessible, test } from "./support/fixtures"
import { mailTo } from "./support/mail"

test.describe("roundtables", () => {
  test("a coordinator convenes and invites from the registry, an invitee answers by email, two people co-edit the minutes", async ({
    person,
    server,
    browser,
  }) => {
    const ana = await person(DEMO.coordinator)
    const me = await ana.page.request.get("/api/me").then((r) => r.json())
    const cityId: string = me.memberships[0].city_id

    // The list and calendar, with the demo's roundtables.
    await ana.page.goto(`/cities/${cityId}/roundtables`)
    await expect(ana.page.getByRole("heading", { name: "Multi-actor roundtables", level: 1 })).toBeVisible()
    await expect(ana.page.getByRole("link", { name: "Mesa de seguimiento de la estrategia 2030" }).first()).toBeVisible()
    await expectAccessible(ana.page, "the roundtables list")

    // A new roundtable, with a time zone and wall-clock times.
    const day = new Date(Date.now() + 10 * 24 * 3600 * 1000).toISOString().slice(0, 10)
    await ana.page.getByLabel("Title").fill("Mesa de economía creativa")
    await ana.page.getByLabel("Agenda").fill("1. Apertura\n2. Propuestas")
    await ana.page.getByLabel("Start (the roundtable's local time)").fill(`${day}T09:30`)
    await ana.page.getByLabel("End (the roundtable's local time)").fill(`${day}T11:00`)
    await ana.page.getByLabel("Time zone").fill("Mars/Olympus_Mons")
    await ana.page.getByLabel("Place").fill("Biblioteca Central, sala 2")
    // A capacity of 0: the browser's own check refuses it before anything is sent.
    const capacity = ana.page.getByLabel("Capacity")
    await capacity.fill("0")
    await ana.page.getByRole("button", { name: "Convene the roundtable" }).click()
    await expect.poll(() => capacity.evaluate((el) => (el as HTMLInputElement).validity.rangeUnderflow)).toBe(true)
    // An unknown time zone: the server's 422 names the field, and the app says so in the
    // user's language at that field (never the server's English).
    await capacity.fill("25")
    await ana.page.getByRole("button", { name: "Convene the roundtable" }).click()
    const zone = ana.page.getByLabel("Time zone")
    await expect(zone).toHaveAttribute("aria-invalid", "true")
    await expect(zone).toHaveAccessibleDescription(/This value is not valid/)
    await zone.fill("America/Bogota")
    await ana.page.getByRole("button", { name: "Convene the roundtable" }).click()
    await expect(ana.page.getByRole("heading", { name: "Mesa de economía creativa", level: 1 })).toBeVisible()
    await expect(ana.page.getByText(`09:30–11:00 (America/Bogota)`)).toBeVisible()

    // Invite two actors from the registry; the status table and the sector balance follow.
    await ana.page.getByRole("checkbox", { name: /Universidad de la Ciudad/ }).check()
    await ana.page.getByRole("checkbox", { name: /Cámara de Comercio/ }).check()
    await ana.page.getByRole("button", { name: "Invite the chosen (2)" }).click()
    const table = ana.page.getByRole("table", { name: "Invitations" })
    await expect(table.getByRole("row")).toHaveCount(3)
    await expect(table.getByRole("row", { name: /Universidad de la Ciudad/ })).toContainText("Not answered")
    await expect.poll(async () => (await table.getByRole("row", { name: /Universidad de la Ciudad/ }).textContent()) ?? "", { timeout: 30_000 }).toContain("Sent")
    await expect(ana.page.getByText(/Sectors of the registry nobody at the table represents: .*Civil society/)).toBeVisible()
    const balance = ana.page.getByRole("table", { name: "Sector balance" })
    await expect(balance.getByRole("row", { name: /Academia/ })).toContainText("1")
    await expectAccessible(ana.page, "a roundtable's status table and balance")
    await ana.page.screenshot({ path: "../docs/screenshots/roundtable.png", fullPage: true })

    // The invitation email carries the RSVP link; the invitee answers without an account.
    let link = ""
    let calendar = ""
    await expect
      .poll(
        () => {
          const mail = mailTo(server.data, "relaciones@universidad.demo").find((m) => m.parts.some((p) => p.text.includes("Mesa de economía creativa")))
          calendar = mail?.parts.find((p) => p.type.startsWith("text/calendar"))?.text ?? ""
          const text = mail?.parts.filter((p) => p.type.startsWith("text/plain")).map((p) => p.text).join("\n") ?? ""
          link = /https?:\/\/[^\s"<>]+\/rsvp\/[A-Za-z0-9_.-]+/.exec(text)?.[0] ?? ""
          return link
        },
        { timeout: 30_000, message: "the invitation email with its RSVP link" },
      )
      .not.toBe("")
    // The email is a calendar invitation carrying the same answer link.
    expect(calendar).toContain("METHOD:REQUEST")
    expect(calendar.replace(/\r\n[ \t]/g, "")).toContain(link)
    const invitee = await browser.newContext()
    const rsvp = await invitee.newPage()
    await rsvp.goto(`${link}?lang=es`)
    await expect(rsvp.getByRole("heading", { name: "Mesa de economía creativa" })).toBeVisible()
    await expectAccessible(rsvp, "the RSVP page")
    await rsvp.getByRole("button", { name: "Asistiré", exact: true }).click()
    await expect(rsvp.getByRole("status")).toContainText("Asistirá")
    await rsvp.screenshot({ path: "../docs/screenshots/rsvp.png", fullPage: true })
    // The coordinator sees it at once (the table polls).
    await expect(table.getByRole("row", { name: /Universidad de la Ciudad/ })).toContainText("Attending", { timeout: 15_000 })
    // Changeable later.
    await rsvp.getByRole("button", { name: "Quizás", exact: true }).click()
    await expect(table.getByRole("row", { name: /Universidad de la Ciudad/ })).toContainText("Maybe", { timeout: 15_000 })
    await invitee.close()

    // An invitee by address who reads English gets the invitation in English, though the
    // city's language is Spanish; still a calendar invitation.
    const byAddress = ana.page.getByRole("form", { name: "By address" })
    await byAddress.getByLabel("Email", { exact: true }).fill("jane@sister-city.example")
    await byAddress.getByLabel("Name", { exact: true }).fill("Jane Smith")
    await byAddress.getByLabel("Their language").selectOption({ label: "English" })
    await byAddress.getByRole("button", { name: "Invite", exact: true }).click()
    await expect(table.getByRole("row", { name: /Jane Smith/ })).toBeVisible()
    let english = ""
    let englishCalendar = ""
    await expect
      .poll(
        () => {
          const mail = mailTo(server.data, "jane@sister-city.example")[0]
          english = mail?.parts.filter((p) => p.type.startsWith("text/plain")).map((p) => p.text).join("\n") ?? ""
          englishCalendar = mail?.parts.find((p) => p.type.startsWith("text/calendar"))?.text ?? ""
          return english
        },
        { timeout: 30_000, message: "the English invitation email" },
      )
      .toContain("Hello Jane Smith,")
    expect(english).toContain("invites you to the multi-actor roundtable “Mesa de economía creativa”")
    expect(english).not.toContain("Hola")
    expect(englishCalendar).toContain("METHOD:REQUEST")

    // Two people co-edit the live minutes.
    const eco = await person(DEMO.economia)
    const url = ana.page.url()
    await eco.page.goto(url)
    const anaNotes = ana.page.getByLabel("Notes")
    const ecoNotes = eco.page.getByLabel("Notes")
    await expect(anaNotes).toBeEditable()
    await expect(ecoNotes).toBeEditable()
    await anaNotes.click()
    await anaNotes.pressSequentially("Apertura por la ORI. ")
    await expect(ecoNotes).toHaveValue(/Apertura por la ORI\./, { timeout: 15_000 })
    await ecoNotes.click()
    await ecoNotes.press("End")
    await ecoNotes.pressSequentially("Economía propone un fondo.")
    await expect(anaNotes).toHaveValue("Apertura por la ORI. Economía propone un fondo.", { timeout: 15_000 })
    await eco.page.getByRole("button", { name: "Add an agreement" }).click()
    await eco.page.getByLabel("Agreement 1", { exact: true }).fill("Crear un fondo de economía creativa")
    await expect(ana.page.getByLabel("Agreement 1", { exact: true })).toHaveValue("Crear un fondo de economía creativa", { timeout: 15_000 })
    await ana.page.getByLabel("Strategy section of agreement 1").selectOption({ index: 1 })
    await expect(eco.page.getByLabel("Strategy section of agreement 1")).not.toHaveValue("", { timeout: 15_000 })
    await expectAccessible(eco.page, "the minutes editor")
    await ana.page.screenshot({ path: "../docs/screenshots/minutes.png", fullPage: true })
  })
})
