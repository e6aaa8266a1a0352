import { useTranslation } from "react-i18next"
import type { DiffOp } from "../api/diff"

/** A word-level diff: insertions and deletions marked for eyes and for screen readers. */
export function DiffView({ ops, label }: { ops: DiffOp[]; label: string }) {
  const { t } = useTranslation()
  return (
    <div className="diff" role="region" aria-label={label} data-testid="diff">
      {ops.map((op, i) =>
        op.op === "equal" ? (
          <span key={i}>{op.text}</span>
        ) : op.op === "insert" ? (
          <ins key={i}>
            <span className="visually-hidden">{t("versions.inserted")} </span>
            {op.text}
          </ins>
        ) : (
          <del key={i}>
            <span className="visually-hidden">{t("versions.deleted")} </span>
            {op.text}
          </del>
        ),
      )}
    </div>
  )
}
