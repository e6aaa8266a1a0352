import { DEMO, expect, expectAccessible, test, watchCsp } from "./support/fixtures"

const csrf = { "x-concerta-csrf": "1" }

test.describe("evaluation", () => {
  test("framework from the template, an area reports, the chart and status change, the coordinator reviews, the public page shows only what is public", async ({
    person,
    server,
    browser,
    cspViolations,
  }) => {
    const ana = await person(DEMO.coordinator)
    const eco = await person(DEMO.economia)
    const admin = await person(DEMO.admin)
    const api = ana.page.request

    // A fresh strategy of the demo city, so the framework is made here, from the template.
    const me = await api.get("/api/me").then((r) => r.json())
    const cityId: string = me.memberships[0].city_id
    const strategy = await api
      .post(`/api/cities/${cityId}/strategies`, { data: { title: "Estrategia de evaluación", template: "seed" }, headers: csrf })
      .then((r) => r.json())

    // Another city with a public indicator of its own: it must not show on the demo's page.
    const other = await admin.page.request
      .post("/api/cities", { data: { name: "Otra Ciudad", slug: "otra", locale: "es" }, headers: csrf })
      .then((r) => r.json())
    const otherStrategy = await admin.page.request
      .post(`/api/cities/${other.id}/strategies`, { data: { title: "Otra", template: "seed" }, headers: csrf })
      .then((r) => r.json())
    const otherFramework = await admin.page.request
      .post(`/api/strategies/${otherStrategy.id}/indicators/template`, { headers: csrf })
      .then((r) => r.json())
    const foreign = otherFramework.indicators[0]
    const put = await admin.page.request.put(`/api/indicators/${foreign.id}`, {
      headers: csrf,
      data: { ...bodyOf(foreign), name: "Indicador de otra ciudad", public: true },
    })
    expect(put.status()).toBe(200)

    // The coordinator makes the framework from the seed's table.
    await ana.page.goto(`/strategies/${strategy.id}/evaluation`)
    await ana.page.getByRole("button", { name: "Create the framework from the seed's table" }).click()
    for (const level of ["International Relations Office", "Local government", "Territory"]) {
      await expect(ana.page.getByRole("heading", { name: level, level: 2 })).toBeVisible()
    }
    await expect(ana.page.getByRole("link", { name: "Compromisos de gestión" })).toBeVisible()
    await expect(ana.page.getByRole("heading", { name: "Capacities", level: 2 })).toBeVisible()
    await expectAccessible(ana.page, "the evaluation page")

    // One indicator stays private, renamed so the public page can be searched for it.
    const framework = await api.get(`/api/strategies/${strategy.id}/indicators`).then((r) => r.json())
    const secret = framework.indicators.find((i: { code: string }) => i.code === "ORI-2")
    expect(
      (await api.put(`/api/indicators/${secret.id}`, { headers: csrf, data: { ...bodyOf(secret), name: "Indicador privado de prueba" } })).status(),
    ).toBe(200)

    // The coordinator gives ORI-1 the economy area, a baseline and a target, and makes it public.
    await ana.page.getByRole("link", { name: "Compromisos de gestión" }).click()
    await expect(ana.page.getByTestId("indicator-status")).toContainText("No data")
    await ana.page.getByLabel("Responsible area").selectOption({ label: "Desarrollo Económico" })
    await ana.page.getByLabel("Baseline value").fill("2")
    await ana.page.getByLabel("Baseline date").fill("2024-01-01")
    await ana.page.getByLabel("Target value").fill("10")
    await ana.page.getByLabel("Target date").fill("2028-01-01")
    await ana.page.getByLabel("Show on the public accountability page").check()
    await ana.page.getByRole("button", { name: "Save" }).click()
    await expect(ana.page.getByText("Saved.")).toBeVisible()
    const indicatorUrl = ana.page.url()

    // The economy area reports a measurement; status and chart change at once.
    await eco.page.goto(indicatorUrl)
    await expect(eco.page.getByRole("heading", { name: "Report a measurement" })).toBeVisible()
    await expect(eco.page.getByRole("heading", { name: "Edit the indicator" })).toHaveCount(0)
    await expect(eco.page.getByTestId("indicator-chart").locator("circle")).toHaveCount(0)
    await eco.page.getByLabel("Date measured").fill("2025-01-01")
    await eco.page.getByLabel(/^Value/).fill("5")
    await eco.page.getByLabel("Note (what the value is based on)").fill("Informe anual de compromisos")
    await eco.page.getByRole("button", { name: "Report", exact: true }).click()
    await expect(eco.page.getByText("Reported. The coordination will review it.")).toBeVisible()
    // 2 → 5 in a year, against 2 → 10 in four: on track, provisional until reviewed.
    await expect(eco.page.getByTestId("indicator-status")).toContainText("On track")
    await expect(eco.page.getByTestId("indicator-status")).toContainText("not reviewed yet")
    await expect(eco.page.getByTestId("indicator-chart").locator("circle")).toHaveCount(1)
    await expect(eco.page.getByRole("figure")).toContainText("2025-01-01 5")
    await expectAccessible(eco.page, "the indicator page")
    await eco.page.screenshot({ path: "../docs/screenshots/indicator.png", fullPage: true })

    // A bad value is refused, naming the field.
    await eco.page.getByLabel("Date measured").fill("2023-06-01")
    await eco.page.getByLabel(/^Value/).fill("4")
    await eco.page.getByRole("button", { name: "Report", exact: true }).click()
    await expect(eco.page.getByText("The date cannot be before the baseline date.")).toBeVisible()

    // The coordinator reviews and accepts it.
    await ana.page.reload()
    await expect(ana.page.getByText("Pending review")).toBeVisible()
    await ana.page.getByRole("button", { name: "Accept the measurement of 2025-01-01" }).click()
    await expect(ana.page.getByRole("cell", { name: /Accepted/ })).toBeVisible()
    await expect(ana.page.getByTestId("indicator-status")).not.toContainText("not reviewed yet")

    // The public page, fetched with no session: the public indicator, and nothing else.
    const anonymous = await browser.newContext({ baseURL: server.url })
    await watchCsp(anonymous, cspViolations)
    const visitor = await anonymous.newPage()
    const response = await visitor.goto("/public/demo?lang=en")
    expect(response?.status()).toBe(200)
    await expect(visitor.getByRole("heading", { name: "Ciudad Demo", level: 1 })).toBeVisible()
    const card = visitor.locator("article.indicator").filter({ hasText: "Informe anual de compromisos" })
    await expect(card).toContainText("Compromisos de gestión")
    await expect(card).toContainText("On track")
    await expect(card.locator("svg[role=img]")).toHaveCount(1)
    await expect(visitor.getByRole("heading", { name: "How the status is worked out" })).toBeVisible()
    const html = await visitor.content()
    expect(html).not.toContain("Indicador privado de prueba")
    expect(html).not.toContain("@demo.concerta")
    expect(html).not.toContain("Indicador de otra ciudad")
    expect(html).not.toContain("Otra Ciudad")
    await expectAccessible(visitor, "the public page")
    await visitor.screenshot({ path: "../docs/screenshots/public-page.png", fullPage: true })
    // It needs no JavaScript.
    const noScript = await browser.newContext({ baseURL: server.url, javaScriptEnabled: false })
    const plain = await noScript.newPage()
    await plain.goto("/public/demo")
    await expect(plain.getByRole("heading", { name: "Ciudad Demo", level: 1 })).toBeVisible()
    await expect(plain.locator("article.indicator").filter({ hasText: "Compromisos de gestión" }).first()).toBeVisible()
    await noScript.close()
    await anonymous.close()
  })
})

test.describe("a new indicator from scratch", () => {
  test("the coordinator fills the form; the server's refusals show at their fields, in Spanish", async ({ person }) => {
    const ana = await person(DEMO.coordinator, { language: "es" })
    const api = ana.page.request
    const me = await api.get("/api/me").then((r) => r.json())
    const strategy = await api
      .post(`/api/cities/${me.memberships[0].city_id}/strategies`, { data: { title: "Estrategia con indicador propio", template: "seed" }, headers: csrf })
      .then((r) => r.json())
    await ana.page.goto(`/strategies/${strategy.id}/evaluation`)
    await ana.page.getByRole("link", { name: "Nuevo indicador desde cero" }).click()
    await expect(ana.page.getByRole("heading", { name: "Nuevo indicador", level: 1 })).toBeVisible()

    // No code: refused, and said at the code field.
    await ana.page.getByLabel("Nombre", { exact: true }).fill("Hermanamientos activos")
    await ana.page.getByRole("button", { name: "Crear indicador" }).click()
    const code = ana.page.getByLabel("Código", { exact: true })
    await expect(code).toHaveAccessibleDescription("Use de 1 a 20 letras, dígitos, '.', '_' o '-' (como ORI-1).")
    await expect(code).toHaveAttribute("aria-invalid", "true")
    await expectAccessible(ana.page, "the new indicator form with an error")

    // A percentage over 100: refused at the target's value.
    await code.fill("REL-9")
    const target = ana.page.getByLabel("Valor de la meta", { exact: true })
    await target.fill("120")
    await ana.page.getByLabel("Fecha de la meta", { exact: true }).fill("2030-12-31")
    await ana.page.getByRole("button", { name: "Crear indicador" }).click()
    await expect(target).toHaveAccessibleDescription("Un porcentaje está entre 0 y 100.")
    await expect(code).not.toHaveAttribute("aria-invalid", "true")

    await target.fill("80")
    await ana.page.getByRole("button", { name: "Crear indicador" }).click()
    await expect(ana.page).toHaveURL(/\/indicators\/[^/]+$/)
    await expect(ana.page.getByRole("heading", { name: /Hermanamientos activos/, level: 1 })).toBeVisible()
    const framework = await api.get(`/api/strategies/${strategy.id}/indicators`).then((r) => r.json())
    const made = framework.indicators.find((i: { code: string }) => i.code === "REL-9")
    expect(made?.name).toBe("Hermanamientos activos")
    expect(made?.target).toEqual({ value: 80, date: "2030-12-31" })
  })
})

test.describe("a CSV import", () => {
  test("a bad row is named in the person's language and nothing is imported; the corrected file imports into an empty framework", async ({ person }) => {
    const ana = await person(DEMO.coordinator, { language: "es" })
    const api = ana.page.request
    const me = await api.get("/api/me").then((r) => r.json())
    const strategy = await api
      .post(`/api/cities/${me.memberships[0].city_id}/strategies`, { data: { title: "Estrategia importada", template: "seed" }, headers: csrf })
      .then((r) => r.json())
    await ana.page.goto(`/strategies/${strategy.id}/evaluation`)
    // No framework yet: the import is offered beside the template, with the columns to fill.
    await expect(ana.page.getByRole("button", { name: "Crear el marco a partir de la tabla de la semilla" })).toBeVisible()
    const template = ana.page.getByRole("link", { name: "Descargar las columnas en un CSV vacío" })
    const columns = await api.get((await template.getAttribute("href"))!).then((r) => r.text())
    expect(columns.trim().split(",")).toEqual(expect.arrayContaining(["code", "name", "level", "unit", "direction"]))
    expect(columns.trim().split("\n")).toHaveLength(1)
    const header = "code,name,level,unit,direction,frequency,baseline_value,baseline_date,target_value,target_date\n"
    const row = (level: string) => `IMP-1,Acuerdos importados,${level},count,higher_is_better,annual,2,2024-01-01,6,2027-01-01\n`
    const file = ana.page.getByLabel("Importar indicadores (CSV)")
    const form = ana.page.locator("form.csv-import", { has: ana.page.locator("#csv-indicators") })
    await file.setInputFiles({ name: "indicadores.csv", mimeType: "text/csv", buffer: Buffer.from(header + row("oficina")) })
    await form.getByRole("button", { name: "Importar", exact: true }).click()
    const alert = form.getByRole("alert")
    await expect(alert).toContainText("No se importó nada. Fila 2, columna level: Elija una de las opciones ofrecidas.")
    await expect(alert).toContainText("office")
    await expect(alert).not.toContainText("must be")
    const before = await api.get(`/api/strategies/${strategy.id}/indicators`).then((r) => r.json())
    expect(before.indicators.some((i: { code: string }) => i.code === "IMP-1")).toBe(false)

    await file.setInputFiles({ name: "indicadores.csv", mimeType: "text/csv", buffer: Buffer.from(header + row("office")) })
    await form.getByRole("button", { name: "Importar", exact: true }).click()
    await expect(form.getByRole("status")).toContainText("Importado: 1 nuevos")
    await expect(ana.page.getByRole("link", { name: "Acuerdos importados" })).toBeVisible()
    const after = await api.get(`/api/strategies/${strategy.id}/indicators`).then((r) => r.json())
    expect(after.indicators.find((i: { code: string }) => i.code === "IMP-1")?.name).toBe("Acuerdos importados")
  })
})

/** The editable body of an indicator from its JSON. */
function bodyOf(i: Record<string, unknown> & { baseline: { value: number; date: string } | null; target: { value: number; date: string } | null }) {
  return {
    code: i.code,
    name: i.name,
    level: i.level,
    definition: i.definition,
    method: i.method,
    unit: i.unit,
    unit_label: i.unit_label,
    direction: i.direction,
    data_source: i.data_source,
    frequency: i.frequency,
    area_id: i.area_id,
    baseline_value: i.baseline?.value ?? null,
    baseline_date: i.baseline?.date ?? null,
    target_value: i.target?.value ?? null,
    target_date: i.target?.date ?? null,
    public: i.public,
    section_ids: i.section_ids,
    sdg: i.sdg,
  }
}
