import { useTranslation } from "react-i18next"
import type { DocHandle } from "@automerge/automerge-repo/slim"
import type { PageRepo } from "../../../lib/automerge"
import { useSyncStatus } from "../hooks/useSyncStatus"

/** Connection and "saved to server", in one status region (announced politely). */
export function SyncIndicator({ handle, page }: { handle: DocHandle<unknown>; page: PageRepo }) {
  const { t } = useTranslation()
  const { online, saved } = useSyncStatus(handle, page)
  return (
    <div role="status" className="sync-status" data-testid="sync-status" data-online={online} data-saved={saved}>
      <span className={online ? "dot online" : "dot offline"} aria-hidden="true" />
      <span>{online ? t("editor.online") : t("editor.offline")}</span>
      <span className="sep" aria-hidden="true">
        ·
      </span>
      <span className={saved ? "saved" : "unsaved"}>{saved ? t("editor.saved") : online ? t("editor.saving") : t("editor.notSaved")}</span>
    </div>
  )
}
