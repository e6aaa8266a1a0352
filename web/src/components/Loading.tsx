import { useTranslation } from "react-i18next"

/** A polite "loading" placeholder. */
export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation()
  return (
    <p className="loading" aria-busy="true">
      {label ?? t("common.loading")}
    </p>
  )
}
