import { useEffect, useId, useRef, useState, type FormEvent } from "react"
import { useTranslation } from "react-i18next"

interface Props {
  /** The link there now, when editing one. */
  current?: string
  /** The address typed, already checked and normalised by the caller's `check`. */
  onApply: (href: string) => void
  onRemove: () => void
  onClose: () => void
  check: (input: string) => { href: string } | { error: "empty" | "invalid" }
}

/** The link dialog: a modal `<dialog>` (focus moves into it and stays there, Escape closes
 * it), one labelled address field with its error tied to it, and apply, remove and cancel.
 * Shown while mounted. */
export function LinkDialog({ current, onApply, onRemove, onClose, check }: Props) {
  const { t } = useTranslation()
  const dialog = useRef<HTMLDialogElement>(null)
  const [value, setValue] = useState(current ?? "")
  const [error, setError] = useState<string | undefined>()
  const id = useId()

  useEffect(() => {
    const element = dialog.current
    if (!element) return
    if (!element.open) element.showModal()
    return () => {
      if (element.open) element.close()
    }
  }, [])

  const submit = (event: FormEvent) => {
    event.preventDefault()
    const result = check(value)
    if ("error" in result) {
      setError(result.error === "empty" ? t("editor.linkDialog.empty") : t("editor.linkDialog.invalid"))
      return
    }
    onApply(result.href)
  }

  return (
    <dialog
      ref={dialog}
      className="link-dialog"
      aria-labelledby={`${id}-title`}
      onCancel={(event) => {
        event.preventDefault()
        onClose()
      }}
    >
      <form onSubmit={submit} noValidate>
        <h2 id={`${id}-title`}>{current ? t("editor.linkDialog.editTitle") : t("editor.linkDialog.title")}</h2>
        <div className="field">
          <label htmlFor={`${id}-href`}>{t("editor.linkDialog.address")}</label>
          <input
            id={`${id}-href`}
            type="text"
            inputMode="url"
            autoComplete="url"
            spellCheck={false}
            value={value}
            aria-invalid={error ? true : undefined}
            aria-describedby={`${id}-hint${error ? ` ${id}-error` : ""}`}
            onChange={(e) => {
              setValue(e.target.value)
              setError(undefined)
            }}
          />
          <p className="hint" id={`${id}-hint`}>
            {t("editor.linkDialog.hint")}
          </p>
          {error && (
            <p className="field-error" id={`${id}-error`} role="alert">
              {error}
            </p>
          )}
        </div>
        <div className="dialog-actions">
          <button type="submit">{t("editor.linkDialog.apply")}</button>
          {current && (
            <button type="button" onClick={onRemove}>
              {t("editor.linkDialog.remove")}
            </button>
          )}
          <button type="button" onClick={onClose}>
            {t("common.cancel")}
          </button>
        </div>
      </form>
    </dialog>
  )
}
