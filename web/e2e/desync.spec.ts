// The binding's known desync cases (automerge/automerge-prosemirror#42, #43, #44), browser to
// browser through our server: after each, both editors and a fresh reader show the same
// structure. `data-heals` on the editor counts the repairs of plugins/heal.ts.
import { DEMO, expect, test, type Person } from "./support/fixtures"
import { clear, openSection, structure } from "./support/sections"

/** How many times plugins/heal.ts repaired this person's editor. */
async function heals(person: Person): Promise<string | null> {
  return person.page.getByTestId("editor").getAttribute("data-heals")
}

async function converged(a: Person, b: Person) {
  await expect.poll(async () => (await structure(a)) === (await structure(b)), { timeout: 15_000 }).toBe(true)
  return structure(a)
}

test.describe("binding desync cases", () => {
  test("merging the last two blocks (#43) and deleting across blocks (#44) reach the other peer whole", async ({ person, server }) => {
    const one = await person(DEMO.coordinator)
    const two = await person(DEMO.coordinator)
    await openSection(one, server.url, "risks_challenges")
    await openSection(two, server.url, "risks_challenges")
    await clear(one)

    // #43: "Hello world", Enter between the words, then Backspace: one block again.
    await one.page.keyboard.type("Hello world")
    for (let i = 0; i < 6; i++) await one.page.keyboard.press("ArrowLeft")
    await one.page.keyboard.press("Enter")
    await expect.poll(() => structure(two)).toBe("<p>Hello</p><p> world</p>")
    await one.page.keyboard.press("Backspace")
    expect(await converged(one, two)).toBe("<p>Hello world</p>")

    // #44: "hello" / "world" as two blocks; select all but the first "h" from the end; delete.
    await clear(one)
    await one.page.keyboard.type("hello")
    await one.page.keyboard.press("Enter")
    await one.page.keyboard.type("world")
    await expect.poll(() => structure(two)).toBe("<p>hello</p><p>world</p>")
    for (let i = 0; i < 10; i++) await one.page.keyboard.press("Shift+ArrowLeft")
    await one.page.keyboard.press("Delete")
    expect(await converged(one, two)).toBe("<p>h</p>")

    // A reader arriving now loads the same from the server.
    const fresh = await person(DEMO.observer)
    await openSection(fresh, server.url, "risks_challenges")
    await expect.poll(() => structure(fresh)).toBe("<p>h</p>")
    console.log(`#43/#44: repairs on the typing peer ${await heals(one)}, on the other ${await heals(two)}`)
  })

  test("adjacent lists of one type (#42) show the same on both peers", async ({ person, server }) => {
    const one = await person(DEMO.coordinator)
    const two = await person(DEMO.coordinator)
    await openSection(one, server.url, "benchmarks")
    await openSection(two, server.url, "benchmarks")
    await clear(one)
    await one.page.keyboard.type("uno")
    await one.page.getByRole("button", { name: "Numbered list" }).click()
    await one.page.keyboard.press("Enter")
    await one.page.keyboard.press("Enter") // an empty item lifts out of the list
    await one.page.keyboard.type("dos")
    await one.page.getByRole("button", { name: "Numbered list" }).click()
    const shown = await converged(one, two)
    expect(shown).toContain("uno")
    expect(shown).toContain("dos")
    expect(shown).toMatch(/^<ol>/)
    const fresh = await person(DEMO.observer)
    await openSection(fresh, server.url, "benchmarks")
    await expect.poll(() => structure(fresh)).toBe(shown)
    console.log(`#42: both peers show ${shown}; repairs on the typing peer ${await heals(one)}, on the other ${await heals(two)}`)
  })
})
