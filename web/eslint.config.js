// Lint rules that keep the app's shape (STYLE.md §16–21): imports go shared → features → app,
// never sideways between features; no literal UI text in components (i18next); accessible
// JSX (jsx-a11y); React hooks used correctly.
import js from "@eslint/js"
import tseslint from "typescript-eslint"
import jsxA11y from "eslint-plugin-jsx-a11y"
import reactHooks from "eslint-plugin-react-hooks"
import i18next from "eslint-plugin-i18next"
import importX from "eslint-plugin-import-x"
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const features = readdirSync(join(dirname(fileURLToPath(import.meta.url)), "src", "features"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)

export default tseslint.config(
  { ignores: ["dist", "node_modules", "test-results"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.{ts,tsx}"],
    plugins: { "jsx-a11y": jsxA11y, "react-hooks": reactHooks, i18next, "import-x": importX },
    settings: { "import-x/resolver": { node: { extensions: [".ts", ".tsx", ".js"] } } },
    rules: {
      ...jsxA11y.flatConfigs.recommended.rules,
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "warn",
      "i18next/no-literal-string": ["error", { mode: "jsx-only", "jsx-attributes": { include: ["aria-label", "title", "alt", "placeholder"] } }],
      "import-x/no-restricted-paths": [
        "error",
        {
          zones: [
            // Shared code never reaches into features or the app.
            { target: ["./src/lib", "./src/components"], from: ["./src/features", "./src/app"] },
            // Features never reach into the app, nor sideways into each other.
            { target: "./src/features", from: "./src/app" },
            ...features.map((name) => ({ target: `./src/features/${name}`, from: "./src/features", except: [`./${name}`] })),
          ],
        },
      ],
    },
  },
  {
    files: ["src/**/*.test.{ts,tsx}", "e2e/**/*.ts", "bench/**/*.ts"],
    rules: { "i18next/no-literal-string": "off" },
  },
)
