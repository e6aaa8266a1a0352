import { createBrowserRouter } from "react-router"
import { AuditPage } from "../features/audit/components/AuditPage"
import { AccountPage } from "../features/auth/components/AccountPage"
import { LoginPage } from "../features/auth/components/LoginPage"
import { RequireAuth } from "../features/auth/components/RequireAuth"
import { SetupPage } from "../features/auth/components/SetupPage"
import { CityPage } from "../features/city/components/CityPage"
import { ConsultationPage } from "../features/consultations/components/ConsultationPage"
import { ConsultationsPage } from "../features/consultations/components/ConsultationsPage"
import { HomePage } from "../features/city/components/HomePage"
import { BaselinePage, NetworksPage } from "../features/evaluation/components/BaselinePage"
import { EvaluationPage } from "../features/evaluation/components/EvaluationPage"
import { NewIndicatorPage } from "../features/evaluation/components/NewIndicatorPage"
import { OutlinePage } from "../features/strategy/components/OutlinePage"
import { RoundtablePage } from "../features/roundtables/components/RoundtablePage"
import { RoundtablesPage } from "../features/roundtables/components/RoundtablesPage"
import { SectionPage } from "../features/editor/components/SectionPage"
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
      { path: "cities/:cityId/audit", element: <AuditPage /> },
      { path: "strategies/:strategyId", element: <OutlinePage /> },
      // The page itself is small and asks the server at once; the editor (automerge and its
      // wasm, ProseMirror) loads from it in parallel.
      { path: "strategies/:strategyId/sections/:sectionId", element: <SectionPage /> },
      { path: "strategies/:strategyId/versions", element: <VersionsPage /> },
      { path: "strategies/:strategyId/evaluation", element: <EvaluationPage /> },
      { path: "strategies/:strategyId/evaluation/new", element: <NewIndicatorPage /> },
      {
        // The chart brings Observable Plot (and d3): loaded only when an indicator is opened.
        path: "indicators/:indicatorId",
        lazy: () => import("../features/evaluation/components/IndicatorPage").then((m) => ({ Component: m.IndicatorPage })),
      },
      { path: "cities/:cityId/baseline", element: <BaselinePage /> },
      { path: "cities/:cityId/consultations", element: <ConsultationsPage /> },
      { path: "consultations/:consultationId", element: <ConsultationPage /> },
      { path: "networks", element: <NetworksPage /> },
      { path: "cities/:cityId/roundtables", element: <RoundtablesPage /> },
      { path: "roundtables/:roundtableId", element: <RoundtablePage /> },
      {
        path: "strategies/:strategyId/versions/:versionId",
        lazy: () => import("../features/versions/components/VersionPage").then((m) => ({ Component: m.VersionPage })),
      },
      { path: "*", element: <NotFound /> },
    ],
  },
])
