import { defineConfig } from "@playwright/test"

// The web benchmark (`cargo xtask bench-web`): not a test suite, one long measuring run.
export default defineConfig({
  testDir: ".",
  testMatch: "*.bench.ts",
  outputDir: "../test-results/bench",
  workers: 1,
  retries: 0,
  timeout: 60 * 60_000,
  expect: { timeout: 120_000 },
  reporter: [["list"]],
  use: {
    actionTimeout: 120_000,
    navigationTimeout: 120_000,
    launchOptions: {
      executablePath: process.env.CONCERTA_CHROMIUM || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
    },
  },
})
