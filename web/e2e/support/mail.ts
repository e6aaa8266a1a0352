// Reads the `.eml` files the server writes under `<data>/outbox/` when no SMTP server is
// configured: the parts of each message decoded (base64, quoted-printable), so a test can
// follow the links a recipient would click.
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

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

/** A message as Python's `email` package reads it (`tests/smtp/sink.py --parse`): subject
 * decoded, parts decoded. */
export interface ParsedMail {
  file: string
  subject: string
  text: string
  html: string
}

const sinkScript = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../tests/smtp/sink.py")

/** The messages to `address`, oldest first, parsed by Python's standard library. */
export function parsedMailTo(data: string, address: string): ParsedMail[] {
  const dir = join(data, "outbox")
  if (!existsSync(dir)) return []
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".eml"))
    .sort()
    .map((f) => join(dir, f))
  if (files.length === 0) return []
  const out = execFileSync("python3", [sinkScript, "--parse", ...files], { encoding: "utf8" })
  return out
    .trim()
    .split("\n")
    .map((line, i) => ({ line: JSON.parse(line) as { to_addr: string; subject: string; parts: { content_type: string; content?: string }[] }, file: files[i] }))
    .filter(({ line }) => line.to_addr === address)
    .map(({ line, file }) => ({
      file,
      subject: line.subject,
      text: line.parts.find((p) => p.content_type === "text/plain")?.content ?? "",
      html: line.parts.find((p) => p.content_type === "text/html")?.content ?? "",
    }))
}
