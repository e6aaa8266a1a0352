import { useEffect, useRef, useState } from "react"
import { useTranslation } from "react-i18next"
import * as A from "@automerge/automerge/slim"
import type { DocHandle } from "@automerge/automerge-repo/slim"
import { pageRepo, type PageRepo } from "../../../lib/automerge"
import { ErrorMessage } from "../../../components/ErrorMessage"
import { Loading } from "../../../components/Loading"
import { useStrategySections } from "../api/strategies"

/** A roundtable's minutes document (its root, as the server makes it). */
export interface MinutesDoc {
  notes: string
  agreements: { id: string; text: string; section_id: string | null }[]
}

type State = { status: "loading" } | { status: "ready"; handle: DocHandle<MinutesDoc>; page: PageRepo } | { status: "unavailable" }

function useMinutesHandle(user: string, url: string): [State, () => void] {
  const [state, setState] = useState<State>({ status: "loading" })
  const [attempt, setAttempt] = useState(0)
  useEffect(() => {
    let cancelled = false
    const controller = new AbortController()
    setState({ status: "loading" })
    ;(async () => {
      try {
        const page = await pageRepo(user)
        const handle = await page.repo.find<MinutesDoc>(url as never, { signal: controller.signal })
        if (!cancelled) setState({ status: "ready", handle, page })
      } catch {
        if (!cancelled) setState({ status: "unavailable" })
      }
    })()
    return () => {
      cancelled = true
      controller.abort()
    }
  }, [user, url, attempt])
  return [state, () => setAttempt((n) => n + 1)]
}

/** The live minutes: notes and agreements co-edited through the sync engine; each agreement
 * may link to a strategy section (it shows beside that section once the meeting closes). */
export function MinutesEditor({ user, url, city, writable }: { user: string; url: string; city: string; writable: boolean }) {
  const { t } = useTranslation()
  const [state, retry] = useMinutesHandle(user, url)
  if (state.status === "loading") return <Loading />
  if (state.status === "unavailable") {
    return (
      <p role="alert" className="error">
        {t("roundtables.minutesUnavailable")}{" "}
        <button type="button" onClick={retry}>
          {t("roundtables.retry")}
        </button>
      </p>
    )
  }
  return <Minutes handle={state.handle} page={state.page} city={city} writable={writable} />
}

function Minutes({ handle, page, city, writable }: { handle: DocHandle<MinutesDoc>; page: PageRepo; city: string; writable: boolean }) {
  const { t } = useTranslation()
  const [doc, setDoc] = useState<MinutesDoc | undefined>(() => handle.doc())
  const [online, setOnline] = useState(page.connection().online)
  const sections = useStrategySections(city)
  const notes = useRef<HTMLTextAreaElement>(null)
  useEffect(() => {
    const changed = () => setDoc(handle.doc())
    handle.on("change", changed)
    const unsubscribe = page.subscribe((c) => setOnline(c.online))
    return () => {
      handle.off("change", changed)
      unsubscribe()
    }
  }, [handle, page])
  // Keep the notes box in step with the document without moving the caret of the person typing.
  useEffect(() => {
    const box = notes.current
    if (!box || !doc || box.value === (doc.notes ?? "")) return
    const [start, end] = [box.selectionStart, box.selectionEnd]
    box.value = doc.notes ?? ""
    if (document.activeElement === box) box.setSelectionRange(start, end)
  }, [doc])
  if (!doc) return <Loading />
  const change = (fn: (d: MinutesDoc) => void) => {
    if (writable) handle.change(fn)
  }
  const allSections = (sections.data ?? []).flatMap((s) => s.sections.map((section) => ({ ...section, strategy: s.title })))
  return (
    <div className="minutes">
      <p role="status" className="muted">
        {online ? t("roundtables.minutesLive") : t("roundtables.minutesOffline")}
        {!writable && ` ${t("roundtables.minutesReadOnly")}`}
      </p>
      <div className="field">
        <label htmlFor="minutes-notes">{t("roundtables.notes")}</label>
        <textarea
          id="minutes-notes"
          ref={notes}
          rows={8}
          readOnly={!writable}
          defaultValue={doc.notes ?? ""}
          onChange={(e) => {
            const value = e.target.value
            change((d) => A.updateText(d, ["notes"], value))
          }}
        />
      </div>
      <h3>{t("roundtables.agreements")}</h3>
      {(doc.agreements ?? []).length === 0 && <p className="muted">{t("roundtables.noAgreements")}</p>}
      <ol className="agreements">
        {(doc.agreements ?? []).map((a, i) => (
          <li key={a.id}>
            <AgreementText
              label={t("roundtables.agreementText", { n: i + 1 })}
              value={a.text ?? ""}
              readOnly={!writable}
              onChange={(value) => change((d) => A.updateText(d, ["agreements", i, "text"], value))}
            />
            <div className="field">
              <label htmlFor={`agreement-section-${a.id}`}>{t("roundtables.agreementSection", { n: i + 1 })}</label>
              <select
                id={`agreement-section-${a.id}`}
                value={a.section_id ?? ""}
                disabled={!writable}
                onChange={(e) => {
                  const value = e.target.value
                  change((d) => {
                    d.agreements[i].section_id = value || null
                  })
                }}
              >
                <option value="">{t("roundtables.noSection")}</option>
                {allSections.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.strategy}: {s.title}
                  </option>
                ))}
              </select>
            </div>
            {writable && (
              <button type="button" className="danger" onClick={() => change((d) => void d.agreements.splice(i, 1))}>
                {t("roundtables.removeAgreement", { n: i + 1 })}
              </button>
            )}
          </li>
        ))}
      </ol>
      {writable && (
        <button
          type="button"
          onClick={() =>
            change((d) => {
              d.agreements.push({ id: crypto.randomUUID(), text: "", section_id: null })
            })
          }
        >
          {t("roundtables.addAgreement")}
        </button>
      )}
      <ErrorMessage error={sections.error} />
    </div>
  )
}

/** One agreement's text: an uncontrolled box kept in step with the document. */
function AgreementText({ label, value, readOnly, onChange }: { label: string; value: string; readOnly: boolean; onChange: (v: string) => void }) {
  const box = useRef<HTMLInputElement>(null)
  const id = `agreement-${label.replace(/\W+/g, "-")}`
  useEffect(() => {
    const el = box.current
    if (!el || el.value === value) return
    const [start, end] = [el.selectionStart, el.selectionEnd]
    el.value = value
    if (document.activeElement === el && start !== null && end !== null) el.setSelectionRange(start, end)
  }, [value])
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} ref={box} defaultValue={value} readOnly={readOnly} onChange={(e) => onChange(e.target.value)} />
    </div>
  )
}
