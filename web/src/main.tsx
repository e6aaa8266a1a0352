import { StrictMode } from "react"
import { createRoot } from "react-dom/client"
import "./lib/i18n"
import "./styles.css"
import { App } from "./app/App"
import { registerServiceWorker } from "./lib/offline"

registerServiceWorker()

const root = document.getElementById("root")
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  )
}
