import { createBrowserRouter } from "react-router"
import { InvitePage } from "../features/auth/components/InvitePage"
import { LoginPage } from "../features/auth/components/LoginPage"
import { RequireAuth } from "../features/auth/components/RequireAuth"
import { SetupPage } from "../features/auth/components/SetupPage"
import { CityPage } from "../features/city/components/CityPage"
import { HomePage } from "../features/city/components/HomePage"
import { OutlinePage } from "../features/strategy/components/OutlinePage"
import { SectionPage } from "../features/editor/components/SectionPage"
import { Layout } from "./Layout"
import { NotFound } from "./NotFound"

// Client routes. The server answers every path outside /api, /sync and /assets with the
// app, so each of these can be opened directly or reloaded. The daily path (login, home,
// city, outline, section) is in the entry chunk; the other screens load when first opened.
export const router = createBrowserRouter([
  { path: "/login", element: <LoginPage /> },
  { path: "/setup", element: <SetupPage /> },
  // An account invitation's link: set a password, land on the city's home (no login needed).
  { path: "/invite/:token", element: <InvitePage /> },
  {
    element: (
      <RequireAuth>
        <Layout />
      </RequireAuth>
    ),
    children: [
      { index: true, element: <HomePage /> },
      { path: "account", lazy: () => import("../features/auth/components/AccountPage").then((m) => ({ Component: m.AccountPage })) },
      { path: "cities/:cityId", element: <CityPage /> },
      { path: "cities/:cityId/audit", lazy: () => import("../features/audit/components/AuditPage").then((m) => ({ Component: m.AuditPage })) },
      { path: "strategies/:strategyId", element: <OutlinePage /> },
      // The page itself is small and asks the server at once; the editor (automerge and its
      // wasm, ProseMirror) loads from it in parallel.
      { path: "strategies/:strategyId/sections/:sectionId", element: <SectionPage /> },
      { path: "strategies/:strategyId/versions", lazy: () => import("../features/versions/components/VersionsPage").then((m) => ({ Component: m.VersionsPage })) },
      { path: "strategies/:strategyId/evaluation", lazy: () => import("../features/evaluation/components/EvaluationPage").then((m) => ({ Component: m.EvaluationPage })) },
      { path: "strategies/:strategyId/evaluation/new", lazy: () => import("../features/evaluation/components/NewIndicatorPage").then((m) => ({ Component: m.NewIndicatorPage })) },
      {
        // The chart brings Observable Plot (and d3): loaded only when an indicator is opened.
        path: "indicators/:indicatorId",
        lazy: () => import("../features/evaluation/components/IndicatorPage").then((m) => ({ Component: m.IndicatorPage })),
      },
      { path: "cities/:cityId/baseline", lazy: () => import("../features/evaluation/components/BaselinePage").then((m) => ({ Component: m.BaselinePage })) },
      { path: "cities/:cityId/consultations", lazy: () => import("../features/consultations/components/ConsultationsPage").then((m) => ({ Component: m.ConsultationsPage })) },
      { path: "consultations/:consultationId", lazy: () => import("../features/consultations/components/ConsultationPage").then((m) => ({ Component: m.ConsultationPage })) },
      { path: "networks", lazy: () => import("../features/evaluation/components/BaselinePage").then((m) => ({ Component: m.NetworksPage })) },
      { path: "cities/:cityId/roundtables", lazy: () => import("../features/roundtables/components/RoundtablesPage").then((m) => ({ Component: m.RoundtablesPage })) },
      { path: "roundtables/:roundtableId", lazy: () => import("../features/roundtables/components/RoundtablePage").then((m) => ({ Component: m.RoundtablePage })) },
      {
        path: "strategies/:strategyId/versions/:versionId",
        lazy: () => import("../features/versions/components/VersionPage").then((m) => ({ Component: m.VersionPage })),
      },
      { path: "*", element: <NotFound /> },
    ],
  },
])
