//! Server-side charts: an indicator's series against its baseline and target as inline SVG,
//! for the public page and exports (no JavaScript needed), with a text alternative.
//!
//! The SVG uses presentation attributes only (no `style` attribute, no script), so it passes
//! a strict Content-Security-Policy, and carries `role="img"` with a `<title>` and a `<desc>`
//! that says in words what the chart shows.

use std::fmt::Write;

use chrono::NaiveDate;

use crate::Point;

/// One plotted measurement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChartPoint {
    /// The dated value.
    pub point: Point,
    /// Not reviewed yet (drawn hollow).
    pub provisional: bool,
}

/// The words a chart needs, in the reader's language.
#[derive(Clone, Debug)]
pub struct ChartLabels {
    /// "Baseline".
    pub baseline: String,
    /// "Target".
    pub target: String,
    /// "Measurements".
    pub measurements: String,
    /// "not reviewed yet".
    pub provisional: String,
    /// "No measurements yet."
    pub empty: String,
}

impl ChartLabels {
    /// English labels.
    pub fn english() -> Self {
        Self {
            baseline: "Baseline".into(),
            target: "Target".into(),
            measurements: "Measurements".into(),
            provisional: "not reviewed yet".into(),
            empty: "No measurements yet.".into(),
        }
    }
}

/// What to draw.
#[derive(Clone, Debug)]
pub struct Chart<'a> {
    /// A unique id prefix for the SVG's `<title>`/`<desc>` ids (several charts on one page).
    pub id: &'a str,
    /// The indicator's name.
    pub title: &'a str,
    /// What values count (`% of staff`).
    pub unit_label: &'a str,
    /// The baseline.
    pub baseline: Option<Point>,
    /// The target.
    pub target: Option<Point>,
    /// The measurements, any order.
    pub points: &'a [ChartPoint],
    /// The words.
    pub labels: &'a ChartLabels,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// Escapes text for XML and HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A value as people write it: up to two decimals, no trailing zeros.
pub fn format_value(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_owned() } else { text.to_owned() }
}

/// The chart in words: baseline, target, every measurement in date order.
pub fn text_alternative(chart: &Chart<'_>) -> String {
    let l = chart.labels;
    let unit = if chart.unit_label.is_empty() { String::new() } else { format!(" {}", chart.unit_label) };
    let mut parts = Vec::new();
    if let Some(b) = chart.baseline {
        parts.push(format!("{}: {}{unit} ({})", l.baseline, format_value(b.value), b.date));
    }
    if let Some(t) = chart.target {
        parts.push(format!("{}: {}{unit} ({})", l.target, format_value(t.value), t.date));
    }
    let mut points = chart.points.to_vec();
    points.sort_by_key(|p| p.point.date);
    if points.is_empty() {
        parts.push(l.empty.clone());
    } else {
        let list: Vec<String> = points
            .iter()
            .map(|p| {
                let flag = if p.provisional { format!(" ({})", l.provisional) } else { String::new() };
                format!("{} {}{unit}{flag}", p.point.date, format_value(p.point.value))
            })
            .collect();
        parts.push(format!("{}: {}", l.measurements, list.join("; ")));
    }
    format!("{}. {}.", chart.title, parts.join(". ")).replace("..", ".")
}

/// "Nice" tick values covering `lo..=hi` (about four of them).
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(f64::EPSILON);
    let raw = span / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(raw);
    let first = (lo / step).ceil() * step;
    (0..)
        .map(|i| first + step * i as f64)
        .take_while(|v| *v <= hi + step * 1e-9)
        .take(12)
        .collect()
}

/// The chart as an SVG element.
pub fn svg(chart: &Chart<'_>) -> String {
    let title_id = format!("{}-title", chart.id);
    let desc_id = format!("{}-desc", chart.id);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-labelledby="{t} {d}" class="indicator-chart"><title id="{t}">{title}</title><desc id="{d}">{desc}</desc>"#,
        t = escape(&title_id),
        d = escape(&desc_id),
        title = escape(chart.title),
        desc = escape(&text_alternative(chart)),
    );
    let mut all: Vec<Point> = chart.points.iter().map(|p| p.point).collect();
    all.extend(chart.baseline);
    all.extend(chart.target);
    if all.is_empty() {
        let _ = write!(
            out,
            r##"<text x="{x}" y="{y}" text-anchor="middle" fill="#555" font-size="14">{empty}</text></svg>"##,
            x = WIDTH / 2.0,
            y = HEIGHT / 2.0,
            empty = escape(&chart.labels.empty)
        );
        return out;
    }
    let first = all.iter().map(|p| p.date).min().unwrap_or_default();
    let last = all.iter().map(|p| p.date).max().unwrap_or_default();
    let (mut lo, mut hi) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.value), hi.max(p.value)));
    if lo > 0.0 && lo < hi * 0.5 {
        lo = 0.0;
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.05).max(1e-9);
    hi += pad;
    lo = if lo >= 0.0 { (lo - pad).max(0.0) } else { lo - pad };
    let days = (last - first).num_days().max(1) as f64;
    let x = |d: NaiveDate| LEFT + (d - first).num_days() as f64 / days * (WIDTH - LEFT - RIGHT);
    let y = |v: f64| TOP + (hi - v) / (hi - lo) * (HEIGHT - TOP - BOTTOM);
    // Grid and y axis.
    for v in ticks(lo, hi) {
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd" stroke-width="1"/><text x="{tx}" y="{ty:.1}" text-anchor="end" fill="#444" font-size="12">{label}</text>"##,
            x2 = WIDTH - RIGHT,
            y = y(v),
            tx = LEFT - 6.0,
            ty = y(v) + 4.0,
            label = escape(&format_value(v)),
        );
    }
    // X axis: the first and last dates, and the years in between when few.
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" x2="{x2}" y1="{yb}" y2="{yb}" stroke="#888" stroke-width="1"/>"##,
        x2 = WIDTH - RIGHT,
        yb = HEIGHT - BOTTOM
    );
    let mut x_labels = vec![first, last];
    let (y0, y1) = (chrono::Datelike::year(&first), chrono::Datelike::year(&last));
    if y1 - y0 <= 12 {
        for year in (y0 + 1)..=y1 {
            if let Some(d) = NaiveDate::from_ymd_opt(year, 1, 1) {
                if (d - first).num_days() as f64 > days * 0.08 && (last - d).num_days() as f64 > days * 0.08 {
                    x_labels.push(d);
                }
            }
        }
    }
    x_labels.sort();
    x_labels.dedup();
    for d in x_labels {
        let anchor = if d == first { "start" } else if d == last { "end" } else { "middle" };
        let label = if d == first || d == last { d.to_string() } else { chrono::Datelike::year(&d).to_string() };
        let _ = write!(
            out,
            r##"<text x="{x:.1}" y="{y}" text-anchor="{anchor}" fill="#444" font-size="12">{label}</text>"##,
            x = x(d),
            y = HEIGHT - BOTTOM + 18.0,
        );
    }
    // The path to the target.
    if let (Some(b), Some(t)) = (chart.baseline, chart.target) {
        let _ = write!(
            out,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#767676" stroke-width="2" stroke-dasharray="6 4"/>"##,
            x(b.date),
            y(b.value),
            x(t.date),
            y(t.value)
        );
    }
    // The series: baseline, then measurements in date order.
    let mut points = chart.points.to_vec();
    points.sort_by_key(|p| p.point.date);
    let mut path: Vec<Point> = chart.baseline.into_iter().collect();
    path.extend(points.iter().map(|p| p.point));
    if path.len() > 1 {
        let coords: Vec<String> = path.iter().map(|p| format!("{:.1},{:.1}", x(p.date), y(p.value))).collect();
        let _ = write!(out, r##"<polyline points="{}" fill="none" stroke="#1f5fa8" stroke-width="2.5"/>"##, coords.join(" "));
    }
    for p in &points {
        let fill = if p.provisional { "#fff" } else { "#1f5fa8" };
        let _ = write!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4.5" fill="{fill}" stroke="#1f5fa8" stroke-width="2"/>"##,
            x(p.point.date),
            y(p.point.value)
        );
    }
    if let Some(b) = chart.baseline {
        let (cx, cy) = (x(b.date), y(b.value));
        let _ = write!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="#333"/><text x="{:.1}" y="{:.1}" fill="#333" font-size="12">{}</text>"##,
            cx - 5.0,
            cy - 5.0,
            cx + 8.0,
            cy - 8.0,
            escape(&chart.labels.baseline)
        );
    }
    if let Some(t) = chart.target {
        let (cx, cy) = (x(t.date), y(t.value));
        let _ = write!(
            out,
            r##"<path d="M{:.1} {:.1} l7 7 l-7 7 l-7 -7 z" fill="#b35900"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#8a4500" font-size="12">{}</text>"##,
            cx,
            cy - 7.0,
            cx - 10.0,
            cy - 8.0,
            escape(&chart.labels.target)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(date: &str, value: f64) -> Point {
        Point::new(date.parse().unwrap(), value)
    }

    #[test]
    fn draws_the_series_with_words() {
        let labels = ChartLabels::english();
        let points = [
            ChartPoint { point: p("2022-01-01", 115.0), provisional: true },
            ChartPoint { point: p("2021-01-01", 108.0), provisional: false },
        ];
        let chart = Chart {
            id: "ind-1",
            title: "Cooperation <projects>",
            unit_label: "projects",
            baseline: Some(p("2020-01-01", 100.0)),
            target: Some(p("2030-01-01", 200.0)),
            points: &points,
            labels: &labels,
        };
        let svg = svg(&chart);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#) && svg.contains(r#"aria-labelledby="ind-1-title ind-1-desc""#));
        assert!(svg.contains("Cooperation &lt;projects&gt;"), "titles are escaped");
        assert!(!svg.contains("<projects>"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert_eq!(svg.matches(r##"fill="#fff""##).count(), 1, "the provisional point is hollow");
        assert!(svg.contains("stroke-dasharray"), "the path to the target");
        assert!(!svg.contains("style=") && !svg.contains("<script"));
        let words = text_alternative(&chart);
        assert_eq!(
            words,
            "Cooperation <projects>. Baseline: 100 projects (2020-01-01). Target: 200 projects (2030-01-01). \
             Measurements: 2021-01-01 108 projects; 2022-01-01 115 projects (not reviewed yet)."
        );
    }

    #[test]
    fn empty_and_flat_charts_draw() {
        let labels = ChartLabels::english();
        let chart = Chart { id: "x", title: "T", unit_label: "", baseline: None, target: None, points: &[], labels: &labels };
        assert!(svg(&chart).contains("No measurements yet."));
        let chart = Chart { baseline: Some(p("2020-01-01", 5.0)), ..chart };
        let out = svg(&chart);
        assert!(!out.contains("NaN") && !out.contains("inf"), "{out}");
    }

    #[test]
    fn values_and_ticks() {
        assert_eq!(format_value(12.0), "12");
        assert_eq!(format_value(12.345), "12.35");
        assert_eq!(format_value(-0.001), "0");
        assert_eq!(ticks(0.0, 100.0), [0.0, 25.0, 50.0, 75.0, 100.0]);
        assert!(ticks(3.0, 3.0 + 1e-9).len() <= 12);
    }
}
