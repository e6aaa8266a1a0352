import { QueryClient, QueryClientProvider } from "@tanstack/react-query"
import { RouterProvider } from "react-router"
import { api, ApiError, setUnauthorizedHandler } from "../lib/api"
import { fetchMe, meKey } from "../lib/me"
import type { Strategy } from "../lib/strategy"
import { automergeWasm, needsAutomerge } from "../lib/wasm"
import { router } from "./router"

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 4xx will not get better by asking again; a network error might.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
})

// Who is logged in is the first question of every page: ask it while the route loads.
void queryClient.prefetchQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 60_000 })

// A page opened straight onto automerge documents (a link to a section, a reload) starts what
// its editor waits for now rather than after the first render: automerge's wasm and code,
// and for a section its strategy (for the document's URL), then the connection and the
// document itself. The page's own requests find them under way.
if (needsAutomerge(location.pathname)) {
  void automergeWasm()
  void import("../lib/automerge").then((m) => m.loadAutomerge())
}
const opening = /^\/strategies\/([^/]+)\/sections\/([^/]+)\/?$/.exec(location.pathname)
if (opening) {
  const [strategyId, sectionId] = [opening[1], opening[2]].map(decodeURIComponent)
  const path = `/api/strategies/${encodeURIComponent(strategyId)}`
  // The connection opens as soon as we know who is asking (while the strategy is on its way
  // and the wasm compiles); the document is asked for once its URL is known.
  const page = Promise.all([queryClient.fetchQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 60_000 }), import("../lib/automerge")]).then(
    ([me, automerge]) => (me ? automerge.pageRepo(me.id) : undefined),
  )
  void Promise.all([
    page,
    queryClient.fetchQuery({ queryKey: ["strategies", strategyId], queryFn: () => api<Strategy>("GET", path, undefined, { quiet401: true }) }),
  ])
    .then(async ([page, strategy]) => {
      const url = strategy.sections.find((s) => s.id === sectionId)?.doc_url
      if (!page || !url) return
      await page.repo.find(url as never)
    })
    // Whatever fails here, the page asks again itself and shows the error.
    .catch(() => {})
}

// A 401 anywhere means the session ended: forget the user, and the routes send them to log in.
setUnauthorizedHandler(() => {
  queryClient.setQueryData(meKey, null)
})

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  )
}
