import type { ReactNode } from "react"
import { Navigate, useLocation } from "react-router"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Loading } from "../../../components/Loading"
import { useMe } from "../../../lib/me"

/** Renders its children for a logged-in user; sends anyone else to the login page. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const me = useMe()
  const location = useLocation()
  if (me.isPending) return <Loading />
  if (me.isError) return <ErrorMessage error={me.error} />
  if (!me.data) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />
  return <>{children}</>
}
