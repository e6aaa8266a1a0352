// Helpers to open the demo strategy's sections and read editors.
import { expect, type Page } from "@playwright/test"
import type { Person } from "./fixtures"

interface SectionInfo {
  id: string
  key: string
  doc_url: string
  strategy_id: string
}

/** The demo strategy's section with this template key. */
export async function demoSection(page: Page, baseUrl: string, key: string): Promise<SectionInfo> {
  const cities = await page.request.get(baseUrl + "/api/cities").then((r) => r.json())
  const list = await page.request.get(`${baseUrl}/api/cities/${cities[0].id}/strategies`).then((r) => r.json())
  const section = list[0].sections.find((s: SectionInfo) => s.key === key)
  expect(section, `the demo strategy has a section ${key}`).toBeTruthy()
  return section
}

/** Opens a section's editor and waits until it is connected. */
export async function openSection(person: Person, baseUrl: string, key: string): Promise<SectionInfo> {
  const section = await demoSection(person.page, baseUrl, key)
  await person.page.goto(`/strategies/${section.strategy_id}/sections/${section.id}`)
  await expect(person.page.getByTestId("sync-status")).toHaveAttribute("data-online", "true")
  return section
}

export function editorBody(person: Person) {
  return person.page.getByRole("textbox", { name: /^(Text of|Texto de) / })
}

/** The editor's content as structure: block tags, list nesting and text, without other
 * people's carets or the binding's attributes. */
export async function structure(person: Person): Promise<string> {
  return editorBody(person).evaluate((root) => {
    const walk = (node: Node): string => {
      if (node.nodeType === Node.TEXT_NODE) return node.textContent ?? ""
      if (!(node instanceof HTMLElement)) return ""
      // Other people's carets, and what ProseMirror adds around widgets, are not content.
      if (node.classList.contains("remote-caret") || [...node.classList].some((c) => c.startsWith("ProseMirror-"))) return ""
      const inner = [...node.childNodes].map(walk).join("")
      const tag = node.tagName.toLowerCase()
      if (tag === "span") return inner
      if (tag === "br") return ""
      return `<${tag}>${inner}</${tag}>`
    }
    return [...root.childNodes].map(walk).join("")
  })
}

/** Empties the editor (select all, delete) and waits until it is empty. */
export async function clear(person: Person): Promise<void> {
  await editorBody(person).click()
  await person.page.keyboard.press("Control+a")
  await person.page.keyboard.press("Backspace")
  await expect.poll(async () => (await structure(person)).replace(/<[^>]+>/g, "")).toBe("")
}
