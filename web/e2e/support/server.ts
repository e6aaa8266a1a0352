// Starts the real `concerta` binary for browser tests: `concerta serve --addr 127.0.0.1:0`
// on a throw-away data directory (SQLite) or a throw-away Postgres database, and reads the
// bound address (and the first-run setup token) from its log.
import { spawn, execFileSync, type ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { randomUUID } from "node:crypto"

export type Backend = "sqlite" | "postgres"

export interface ServerOptions {
  demo?: boolean
  /** The data directory to use (a new temporary one by default). */
  data?: string
  backend?: Backend
  env?: Record<string, string>
  /** Postgres: join this database (another node of the same city) instead of a new one. */
  databaseUrl?: string
}

export interface Server {
  url: string
  backend: Backend
  /** Postgres: the database, for a second node ([`ServerOptions.databaseUrl`]). */
  databaseUrl?: string
  /** The data directory (`<data>/outbox/*.eml` holds the mail when no SMTP server is set). */
  data: string
  log(): string
  setupToken(): string | undefined
  stop(): Promise<void>
  /** Runs `concerta <args>` against the same data (CLI subcommands). */
  cli(args: string[], input?: string): string
}

export function concertaBin(): string {
  const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..")
  const bin = process.env.CONCERTA_BIN || join(process.env.CARGO_TARGET_DIR || join(root, "target"), "debug", "concerta")
  if (!existsSync(bin)) throw new Error(`the concerta binary is missing at ${bin}: build it (cargo build -p concerta-server) or set CONCERTA_BIN`)
  return bin
}

export function postgresAvailable(): boolean {
  return !!process.env.DATABASE_URL_TEST
}

function adminUrlWithDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = "/" + database
  return parsed.toString()
}

export async function startServer(options: ServerOptions = {}): Promise<Server> {
  const backend = options.backend ?? "sqlite"
  const data = options.data ?? mkdtempSync(join(tmpdir(), "concerta-web-e2e-"))
  // Every browser logs in from 127.0.0.1, and some tests log one account in several times:
  // the login allowances are raised so that throttling (tested through the router and the
  // binary in Rust) does not get in the way of the screens under test.
  const env: Record<string, string> = {
    ...process.env,
    RUST_LOG: "info",
    CONCERTA_LOGIN_LIMIT_ACCOUNT: "100/1",
    CONCERTA_LOGIN_LIMIT_ADDRESS: "1000/1",
    ...options.env,
  } as Record<string, string>
  delete env.DATABASE_URL
  let dropDatabase: (() => void) | undefined
  if (backend === "postgres" && options.databaseUrl) {
    env.DATABASE_URL = options.databaseUrl
  } else if (backend === "postgres") {
    const admin = process.env.DATABASE_URL_TEST
    if (!admin) throw new Error("DATABASE_URL_TEST is not set")
    const name = "concerta_web_" + randomUUID().replace(/-/g, "").slice(0, 16)
    execFileSync("psql", [admin, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", `CREATE DATABASE ${name}`])
    env.DATABASE_URL = adminUrlWithDatabase(admin, name)
    dropDatabase = () => {
      try {
        execFileSync("psql", [admin, "-X", "-q", "-c", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`])
      } catch (error) {
        console.error(`could not drop ${name}: ${error}`)
      }
    }
  }
  const args = ["serve", "--addr", "127.0.0.1:0", "--data", data]
  if (options.demo) args.push("--demo")
  const child: ChildProcess = spawn(concertaBin(), args, { env, stdio: ["ignore", "ignore", "pipe"] })
  const lines: string[] = []
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error("the server did not log `listening` within 60 s:\n" + lines.slice(-40).join("\n"))), 60_000)
    let buffer = ""
    child.stderr!.setEncoding("utf8")
    child.stderr!.on("data", (chunk: string) => {
      buffer += chunk
      let newline
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        lines.push(line)
        const match = /listening addr=(\S+)/.exec(stripAnsi(line))
        if (match) {
          clearTimeout(timer)
          resolvePromise(`http://${match[1]}`)
        }
      }
    })
    child.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the server exited (${code}) before listening:\n` + lines.slice(-40).join("\n")))
    })
  })
  return {
    url,
    backend,
    databaseUrl: env.DATABASE_URL,
    data,
    log: () => lines.join("\n"),
    setupToken: () => {
      for (const line of lines) {
        const match = /setup_token=(\S+)/.exec(stripAnsi(line))
        if (match) return match[1]
      }
      return undefined
    },
    cli: (cliArgs, input) =>
      execFileSync(concertaBin(), [...cliArgs, "--data", data], { env, input, encoding: "utf8" }),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r))
        child.kill("SIGTERM")
        const timeout = new Promise((r) => setTimeout(r, 10_000))
        await Promise.race([exited, timeout])
        if (child.exitCode === null) child.kill("SIGKILL")
      }
      dropDatabase?.()
      rmSync(data, { recursive: true, force: true })
    },
  }
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "")
}
