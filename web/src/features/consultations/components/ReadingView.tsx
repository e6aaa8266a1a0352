import { useEffect, useRef } from "react"
import { useTranslation } from "react-i18next"
import type { SectionText } from "../api/consultations"

/** A passage the reader selected: its words and which occurrence of them in the text it is. */
export interface Selected {
  quote: string
  occurrence: number
}

type Kind = string | { Heading?: number; Image?: { src: string; alt: string }; Other?: string }

function blockText(block: SectionText["blocks"][number]): string {
  return block.inlines.map((i) => i.text).join("")
}

/** Where each block's text starts in the section's plain text (markers are line breaks). */
export function blockOffsets(text: string, blocks: string[]): number[] {
  const out: number[] = []
  let at = 0
  for (const b of blocks) {
    const found = b === "" ? at : text.indexOf(b, at)
    const start = found < 0 ? at : found
    out.push(start)
    at = start + b.length
  }
  return out
}

/** How many times `quote` starts in `text` before `position`. */
export function occurrenceAt(text: string, quote: string, position: number): number {
  let count = 0
  let at = text.indexOf(quote)
  while (at >= 0 && at < position) {
    count += 1
    at = text.indexOf(quote, at + 1)
  }
  return count
}

/** The consulted text, read-only; selecting words inside one block offers them as a passage. */
export function ReadingView({ section, onSelect }: { section: SectionText; onSelect: (selected: Selected | null) => void }) {
  const { t } = useTranslation()
  const root = useRef<HTMLDivElement>(null)
  const texts = section.blocks.map(blockText)
  const offsets = blockOffsets(section.text, texts)
  // A selection inside the text offers a passage; one elsewhere (the comment form) leaves the
  // chosen passage alone.
  const pick = () => {
    const selection = window.getSelection()
    if (!selection || selection.isCollapsed || selection.rangeCount === 0 || !root.current) return
    const range = selection.getRangeAt(0)
    if (!root.current.contains(range.startContainer)) return
    const raw = selection.toString()
    const quote = raw.trim()
    if (!quote) return
    const blockEl = (range.startContainer.nodeType === Node.ELEMENT_NODE ? (range.startContainer as Element) : range.startContainer.parentElement)?.closest(
      "[data-block]",
    )
    const index = Number(blockEl?.getAttribute("data-block") ?? "0")
    let within = 0
    if (blockEl) {
      const walker = document.createTreeWalker(blockEl, NodeFilter.SHOW_TEXT)
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node === range.startContainer) break
        within += node.textContent?.length ?? 0
      }
      within += range.startContainer.nodeType === Node.TEXT_NODE ? range.startOffset : 0
    }
    const leading = raw.length - raw.trimStart().length
    const start = (offsets[index] ?? 0) + within + leading
    onSelect({ quote, occurrence: occurrenceAt(section.text, quote, start) })
  }
  const latest = useRef(pick)
  latest.current = pick
  useEffect(() => {
    const listener = () => latest.current()
    document.addEventListener("selectionchange", listener)
    return () => document.removeEventListener("selectionchange", listener)
  }, [])
  return (
    <div ref={root} className="section-body reading-view" role="document" aria-label={t("consultations.readingLabel", { title: section.title })}>
      {section.blocks.map((block, i) => {
        const kind = block.kind as Kind
        const text = texts[i]
        if (typeof kind === "object" && kind.Heading !== undefined) {
          return (
            <h3 key={i} data-block={i}>
              {text}
            </h3>
          )
        }
        const list = kind === "BulletItem" || kind === "NumberedItem"
        return (
          <p key={i} data-block={i} className={list ? "list-item" : undefined}>
            {text}
          </p>
        )
      })}
    </div>
  )
}
