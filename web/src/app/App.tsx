import { QueryClient, QueryClientProvider } from "@tanstack/react-query"
import { RouterProvider } from "react-router"
import { ApiError, setUnauthorizedHandler } from "../lib/api"
import { fetchMe, meKey } from "../lib/me"
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
