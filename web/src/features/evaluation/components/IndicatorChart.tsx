import * as Plot from "@observablehq/plot"
import { useEffect, useRef } from "react"
import { useTranslation } from "react-i18next"
import type { IndicatorDetail } from "../api/indicators"

/**
 * The indicator's series against its baseline and target, drawn with Observable Plot, with a
 * text alternative (the figure's caption) and the values in a table. Plot adds a `<style>`
 * element to its SVG; it is removed before the SVG enters the page (the app's
 * Content-Security-Policy allows no inline style) and its two rules live in styles.css.
 */
export function IndicatorChart({ indicator }: { indicator: IndicatorDetail }) {
  const { t } = useTranslation()
  const ref = useRef<HTMLDivElement>(null)
  const counted = indicator.measurements.filter((m) => m.review !== "returned")
  const points = counted.map((m) => ({ date: new Date(m.measured_on), value: m.value, pending: m.review === "pending" }))
  const baseline = indicator.baseline ? { date: new Date(indicator.baseline.date), value: indicator.baseline.value } : null
  const target = indicator.target ? { date: new Date(indicator.target.date), value: indicator.target.value } : null
  const series = [...(baseline ? [{ ...baseline, pending: false }] : []), ...points].sort((a, b) => a.date.getTime() - b.date.getTime())
  const unit = indicator.unit_label ? ` ${indicator.unit_label}` : ""
  const words = [
    indicator.baseline ? `${t("evaluation.baseline")}: ${indicator.baseline.value}${unit} (${indicator.baseline.date})` : null,
    indicator.target ? `${t("evaluation.target")}: ${indicator.target.value}${unit} (${indicator.target.date})` : null,
    counted.length
      ? `${t("evaluation.measurements")}: ` +
        counted
          .map((m) => `${m.measured_on} ${m.value}${unit}${m.review === "pending" ? ` (${t("evaluation.provisional")})` : ""}`)
          .join("; ")
      : t("evaluation.noMeasurements"),
  ]
    .filter(Boolean)
    .join(". ")

  useEffect(() => {
    const host = ref.current
    if (!host) return
    const marks: Plot.Markish[] = [Plot.ruleY([0], { stroke: "#bbb" })]
    if (baseline && target) marks.push(Plot.link([{ x1: baseline.date, y1: baseline.value, x2: target.date, y2: target.value }], { x1: "x1", y1: "y1", x2: "x2", y2: "y2", stroke: "#767676", strokeDasharray: "6 4" }))
    if (series.length > 1) marks.push(Plot.line(series, { x: "date", y: "value", stroke: "#1f5fa8", strokeWidth: 2.5 }))
    marks.push(Plot.dot(points, { x: "date", y: "value", stroke: "#1f5fa8", fill: (d: { pending: boolean }) => (d.pending ? "#fff" : "#1f5fa8"), r: 4.5 }))
    if (baseline) marks.push(Plot.dot([baseline], { x: "date", y: "value", symbol: "square", fill: "#333", r: 5 }), Plot.text([baseline], { x: "date", y: "value", text: () => t("evaluation.baseline"), dy: -12 }))
    if (target) marks.push(Plot.dot([target], { x: "date", y: "value", symbol: "diamond", fill: "#b35900", r: 6 }), Plot.text([target], { x: "date", y: "value", text: () => t("evaluation.target"), dy: -12 }))
    const svg = Plot.plot({
      width: Math.max(320, Math.min(720, host.clientWidth || 640)),
      height: 260,
      marginLeft: 56,
      x: { type: "utc", label: null },
      y: { label: indicator.unit_label || null, grid: true, zero: true },
      ariaLabel: indicator.name,
      ariaDescription: words,
      marks,
    })
    svg.querySelectorAll("style").forEach((s) => s.remove())
    // The wrapper is the image, named with the text alternative; Plot's per-mark labels on
    // <g> elements are not allowed there, and the drawing itself is hidden from assistive
    // technology (the caption and the measurements table say the same in words).
    svg.querySelectorAll("[aria-label], [aria-description]").forEach((e) => {
      e.removeAttribute("aria-label")
      e.removeAttribute("aria-description")
    })
    svg.setAttribute("aria-hidden", "true")
    host.replaceChildren(svg)
    return () => host.replaceChildren()
    // The chart depends on the indicator's data only; `words` is derived from it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [indicator])

  return (
    <figure className="indicator-plot">
      <div ref={ref} data-testid="indicator-chart" role="img" aria-label={`${indicator.name}. ${words}`} />
      <figcaption>{words}</figcaption>
    </figure>
  )
}
