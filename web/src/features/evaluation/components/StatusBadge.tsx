import { useTranslation } from "react-i18next"
import type { Status } from "../api/indicators"

/** An indicator's status as a labelled badge (colour is never the only cue: the text says it). */
export function StatusBadge({ status, overridden, provisional }: { status: Status; overridden?: boolean; provisional?: boolean }) {
  const { t } = useTranslation()
  return (
    <span className={`badge status-${status}`} data-status={status}>
      {t(`evaluation.status.${status}`)}
      {overridden ? ` · ${t("evaluation.overridden")}` : ""}
      {provisional ? ` · ${t("evaluation.provisional")}` : ""}
    </span>
  )
}
