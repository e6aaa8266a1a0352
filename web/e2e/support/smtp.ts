// A real SMTP server for the browser tests: tests/smtp/sink.py (aiosmtpd), the same one the
// Rust e2e mail tests use. It keeps each message it accepts as `<dir>/<n>.eml`; pointed at a
// server's `<data>/outbox`, the `mail.ts` readers find the messages where they find the
// files a server without SMTP writes.
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import { existsSync } from "node:fs"
import { createServer } from "node:net"
import { homedir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const sinkScript = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../tests/smtp/sink.py")

/** A Python with aiosmtpd (`CONCERTA_SMTP_PYTHON`, the venv `cargo xtask ci` makes, or
 * `python3`); `undefined` when there is none, which CI does not accept. */
export function smtpPython(): string | undefined {
  const candidates = [process.env.CONCERTA_SMTP_PYTHON, join(homedir(), ".cache/concerta-smtp-venv/bin/python"), "python3"]
  for (const python of candidates) {
    if (!python || (python.includes("/") && !existsSync(python))) continue
    try {
      execFileSync(python, ["-c", "import aiosmtpd"], { stdio: "ignore" })
      return python
    } catch {
      // not this one
    }
  }
  if (process.env.CI) throw new Error("no Python with aiosmtpd under CI: `cargo xtask ci` installs it (set CONCERTA_SMTP_PYTHON)")
  return undefined
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      const port = typeof address === "object" && address ? address.port : 0
      probe.close(() => resolvePort(port))
    })
  })
}

export interface SmtpSink {
  /** `smtp://127.0.0.1:<port>`, for `CONCERTA_SMTP_URL`. */
  url: string
  stop(): void
}

/** Starts the sink with `python`, keeping messages in `dir`; resolves once it listens. */
export async function startSmtpSink(python: string, dir: string): Promise<SmtpSink> {
  const port = await freePort()
  const child: ChildProcess = spawn(python, [sinkScript, "--port", String(port), "--dir", dir], { stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`the SMTP sink did not listen within 30 s:\n${output}`)), 30_000)
    const seen = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('"listening"')) {
        clearTimeout(timer)
        resolveReady()
      }
    }
    child.stdout!.on("data", seen)
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the SMTP sink exited (${code}):\n${output}`))
    })
  })
  // Keep draining its report lines so it never blocks on a full pipe.
  child.stdout!.on("data", () => {})
  return { url: `smtp://127.0.0.1:${port}`, stop: () => child.kill() }
}
