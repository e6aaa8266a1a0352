// Reads the `.eml` files the server writes under `<data>/outbox/` when no SMTP server is
// configured: the parts of each message decoded (base64, quoted-printable), so a test can
// follow the links a recipient would click.
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

export interface Mail {
  file: string
  headers: string
  /** Every leaf part, decoded: content type and text. */
  parts: { type: string; text: string }[]
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = []
  const soft = text.replace(/=\r?\n/g, "")
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i]
    if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16))
      i += 2
    } else {
      bytes.push(...Buffer.from(c, "utf8"))
    }
  }
  return Buffer.from(bytes).toString("utf8")
}

function leafParts(raw: string): { type: string; text: string }[] {
  const split = raw.search(/\r?\n\r?\n/)
  const head = split < 0 ? raw : raw.slice(0, split)
  const body = split < 0 ? "" : raw.slice(split).replace(/^\r?\n\r?\n/, "")
  const unfolded = head.replace(/\r?\n[ \t]+/g, " ")
  const type = /^content-type:\s*([^\r\n]+)/im.exec(unfolded)?.[1] ?? "text/plain"
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(type)?.[1]
  if (type.toLowerCase().startsWith("multipart/") && boundary) {
    const pieces = body.split(`--${boundary}`).slice(1)
    return pieces.filter((p) => !p.startsWith("--")).flatMap((p) => leafParts(p.replace(/^\r?\n/, "")))
  }
  const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(unfolded)?.[1]?.toLowerCase()
  const text =
    encoding === "base64" ? Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8") : encoding === "quoted-printable" ? decodeQuotedPrintable(body) : body
  return [{ type, text }]
}

/** Every message written so far. */
export function outbox(data: string): Mail[] {
  const dir = join(data, "outbox")
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith(".eml"))
    .sort()
    .map((file) => {
      const raw = readFileSync(join(dir, file), "utf8")
      const split = raw.search(/\r?\n\r?\n/)
      return { file, headers: raw.slice(0, split), parts: leafParts(raw) }
    })
}

/** The messages to `address`. */
export function mailTo(data: string, address: string): Mail[] {
  return outbox(data).filter((m) => new RegExp(`^to:.*${address.replace(/[.+]/g, "\\$&")}`, "im").test(m.headers.replace(/\r?\n[ \t]+/g, " ")))
}
