import { useTranslation } from "react-i18next"
import { toggleMark } from "prosemirror-commands"
import type { EditorView } from "prosemirror-view"
import type { Command, EditorState } from "prosemirror-state"
import { blockActive, headingCommand, inList, markActive, toggleList } from "../commands"
import { linkRange } from "../link"

/** Formatting controls; every one is a labelled button (or select) usable by keyboard.
 * `onLink` opens the link dialog. */
export function Toolbar({ view, state, disabled, onLink }: { view: EditorView | null; state: EditorState | null; disabled: boolean; onLink: () => void }) {
  const { t } = useTranslation()
  if (!view || !state) return null
  const schema = state.schema
  const run = (command: Command) => {
    command(view.state, view.dispatch, view)
    view.focus()
  }
  const level = blockActive(state, schema.nodes.heading)
    ? String(state.selection.$from.parent.attrs.level)
    : blockActive(state, schema.nodes.paragraph)
      ? "0"
      : ""
  return (
    <div role="toolbar" aria-label={t("editor.toolbar")} aria-controls="section-body" className="toolbar">
      <label className="visually-hidden" htmlFor="block-type">
        {t("editor.blockType")}
      </label>
      <select
        id="block-type"
        disabled={disabled}
        value={level}
        onChange={(e) => run(headingCommand(schema, e.target.value === "0" ? null : Number(e.target.value)))}
      >
        <option value="" disabled>
          {t("editor.mixed")}
        </option>
        <option value="0">{t("editor.paragraph")}</option>
        <option value="1">{t("editor.heading", { level: 1 })}</option>
        <option value="2">{t("editor.heading", { level: 2 })}</option>
        <option value="3">{t("editor.heading", { level: 3 })}</option>
      </select>
      <button type="button" disabled={disabled} aria-pressed={markActive(state, schema.marks.strong)} onClick={() => run(toggleMark(schema.marks.strong))} title={t("editor.boldKey")}>
        <strong aria-hidden="true">B</strong>
        <span className="visually-hidden">{t("editor.bold")}</span>
      </button>
      <button type="button" disabled={disabled} aria-pressed={markActive(state, schema.marks.em)} onClick={() => run(toggleMark(schema.marks.em))} title={t("editor.italicKey")}>
        <em aria-hidden="true">I</em>
        <span className="visually-hidden">{t("editor.italic")}</span>
      </button>
      <button type="button" disabled={disabled} aria-pressed={inList(state, schema.nodes.bullet_list)} onClick={() => run(toggleList(schema, schema.nodes.bullet_list))}>
        {t("editor.bulletList")}
      </button>
      <button type="button" disabled={disabled} aria-pressed={inList(state, schema.nodes.ordered_list)} onClick={() => run(toggleList(schema, schema.nodes.ordered_list))}>
        {t("editor.numberedList")}
      </button>
      <button
        type="button"
        disabled={disabled || !linkRange(state)}
        aria-pressed={markActive(state, schema.marks.link)}
        aria-haspopup="dialog"
        title={t("editor.linkKey")}
        onClick={onLink}
      >
        {t("editor.link")}
      </button>
    </div>
  )
}
