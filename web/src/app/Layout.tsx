import { useEffect } from "react"
import { useTranslation } from "react-i18next"
import { Link, NavLink, Outlet, useNavigate } from "react-router"
import { LanguagePicker } from "../components/LanguagePicker"
import { useLogout } from "../features/auth/api/logout"
import { chooseLanguage, chosenLanguage, isLanguage } from "../lib/i18n"
import { useMe, useSaveMyLanguage } from "../lib/me"

/** The frame of every page after login: skip link, header with navigation, the page. */
export function Layout() {
  const { t } = useTranslation()
  const me = useMe()
  const saveLanguage = useSaveMyLanguage()
  const logout = useLogout()
  const navigate = useNavigate()
  // The language kept on the account is this device's choice too.
  const accountLanguage = me.data?.locale
  useEffect(() => {
    if (isLanguage(accountLanguage) && chosenLanguage() !== accountLanguage) chooseLanguage(accountLanguage)
  }, [accountLanguage])
  // Once the first screen is up, warm the editor (its code and automerge's wasm) while the
  // person reads, so opening a section does not wait for them.
  useEffect(() => {
    const warm = () => void import("../features/editor/components/SectionEditor").then(() => import("../lib/automerge")).then((m) => m.loadAutomerge())
    const idle = window.requestIdleCallback?.(warm, { timeout: 3000 })
    if (idle === undefined) {
      const timer = window.setTimeout(warm, 1500)
      return () => window.clearTimeout(timer)
    }
    return () => window.cancelIdleCallback(idle)
  }, [])
  return (
    <div className="app">
      <a href="#main" className="skip-link">
        {t("common.skipToContent")}
      </a>
      <header className="app-header">
        <Link to="/" className="brand">
          {t("app.name")}
        </Link>
        <nav aria-label={t("nav.label")}>
          <NavLink to="/" end>
            {t("nav.home")}
          </NavLink>
          <NavLink to="/networks">{t("nav.networks")}</NavLink>
          <NavLink to="/account">{t("nav.account")}</NavLink>
        </nav>
        <div className="header-tools">
          <LanguagePicker onChoose={(language) => saveLanguage.mutate(language)} />
          {me.data && <span className="who">{me.data.name}</span>}
          <button type="button" onClick={() => logout.mutate(undefined, { onSettled: () => navigate("/login", { replace: true }) })}>
            {t("nav.logout")}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  )
}
