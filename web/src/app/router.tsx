import { createBrowserRouter } from "react-router"
import { AccountPage } from "../features/auth/components/AccountPage"
import { LoginPage } from "../features/auth/components/LoginPage"
import { RequireAuth } from "../features/auth/components/RequireAuth"
import { SetupPage } from "../features/auth/components/SetupPage"
import { CityPage } from "../features/city/components/CityPage"
import { HomePage } from "../features/city/components/HomePage"
import { OutlinePage } from "../features/strategy/components/OutlinePage"
import { VersionsPage } from "../features/versions/components/VersionsPage"
import { Layout } from "./Layout"
import { NotFound } from "./NotFound"

// Client routes. The server answers every path outside /api, /sync and /assets with the
// app, so each of these can be opened directly or reloaded.
export const router = createBrowserRouter([
  { path: "/login", element: <LoginPage /> },
  { path: "/setup", element: <SetupPage /> },
  {
    element: (
      <RequireAuth>
        <Layout />
      </RequireAuth>
    ),
    children: [
      { index: true, element: <HomePage /> },
      { path: "account", element: <AccountPage /> },
      { path: "cities/:cityId", element: <CityPage /> },
      { path: "strategies/:strategyId", element: <OutlinePage /> },
      {
        // The editor brings automerge (and its wasm): loaded only when a section is opened.
        path: "strategies/:strategyId/sections/:sectionId",
        lazy: () => import("../features/editor/components/SectionPage").then((m) => ({ Component: m.SectionPage })),
      },
      { path: "strategies/:strategyId/versions", element: <VersionsPage /> },
      {
        path: "strategies/:strategyId/versions/:versionId",
        lazy: () => import("../features/versions/components/VersionPage").then((m) => ({ Component: m.VersionPage })),
      },
      { path: "*", element: <NotFound /> },
    ],
  },
])
