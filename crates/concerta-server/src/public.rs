//! The public accountability page of a city: `GET /public/{city_slug}`, no login.
//!
//! Server-rendered HTML that works without JavaScript and prints well (`?lang=es|en|pt`,
//! the city's language by default), the same data as JSON (`?format=json`) and as CSV
//! (`?format=csv`, one row per accepted measurement of a public indicator). It shows the
//! approved strategy versions (each readable at `/public/{city_slug}/strategies/{id}`, the
//! printable export of that version), the indicators marked public with their charts (inline SVG)
//! and statuses counted on accepted measurements only, the consultation reports once
//! closed, the roundtables held with their agreements, and the status rule itself.
//!
//! Invariant: nothing private reaches it. Only indicators marked public, only accepted
//! measurements (no reporter, no evidence file), no member or invitee of any kind, nothing
//! of another city. The data is gathered in [`gather`] from explicitly public queries, and
//! tests check all three.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use concerta_core::Locale;
use concerta_evaluation::chart::{self, Chart, ChartLabels, format_value};
use concerta_evaluation::status::{GROWTH_ACCELERATION, GROWTH_ON_TRACK, RATIO_ACCELERATION, RATIO_ON_TRACK};
use concerta_evaluation::{Direction, Level, Status};
use concerta_store::City;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::evaluation::{Counting, chart_points, read_all, today};
use crate::state::AppState;

const PAGE: &str = include_str!("public/page.html");
const STYLE: &str = include_str!("public/style.css");

#[derive(Deserialize)]
pub(crate) struct PublicQuery {
    format: Option<String>,
    lang: Option<String>,
}

/// What the page shows, also its JSON.
#[derive(Serialize)]
pub struct PublicData {
    /// The city.
    pub city: PublicCity,
    /// The language of the labels.
    pub language: Locale,
    /// When this was put together.
    pub generated_at: String,
    /// Approved strategy versions.
    pub strategies: Vec<PublicStrategy>,
    /// Public indicators.
    pub indicators: Vec<PublicIndicator>,
    /// Closed consultations with their response reports.
    pub consultations: Vec<PublicConsultation>,
    /// Roundtables held, with their agreements.
    pub roundtables: Vec<PublicRoundtable>,
    /// The status rule, in words.
    pub status_rule: Vec<String>,
}

/// The city, as the public sees it.
#[derive(Serialize)]
pub struct PublicCity {
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Its language.
    pub locale: Locale,
}

/// An approved version of a strategy.
#[derive(Serialize)]
pub struct PublicStrategy {
    /// The strategy's title.
    pub title: String,
    /// The approved version's name.
    pub version_name: String,
    /// When it was approved.
    pub approved_at: Option<String>,
    /// Where its text can be read.
    pub html_url: Option<String>,
}

/// A public indicator.
#[derive(Serialize)]
pub struct PublicIndicator {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: Level,
    /// Definition.
    pub definition: String,
    /// Method.
    pub method: String,
    /// Unit.
    pub unit: concerta_evaluation::Unit,
    /// Unit label.
    pub unit_label: String,
    /// Direction.
    pub direction: Direction,
    /// Data source.
    pub data_source: String,
    /// Frequency.
    pub frequency: concerta_evaluation::Frequency,
    /// The responsible area's name.
    pub area: Option<String>,
    /// Baseline.
    pub baseline: Option<concerta_evaluation::Point>,
    /// Target.
    pub target: Option<concerta_evaluation::Point>,
    /// SDG links with their titles.
    pub sdg: Vec<PublicSdg>,
    /// Status (accepted measurements only; an override shows with its reason).
    pub status: Status,
    /// Whether the status is a manual override.
    pub status_overridden: bool,
    /// The override's reason.
    pub override_reason: Option<String>,
    /// Observed compound annual growth.
    pub observed_growth: Option<f64>,
    /// Growth the target needs.
    pub required_growth: Option<f64>,
    /// Accepted measurements.
    pub measurements: Vec<PublicMeasurement>,
    /// The chart in words.
    pub chart_text: String,
}

/// An SDG goal or target an indicator contributes to.
#[derive(Serialize)]
pub struct PublicSdg {
    /// `11.3`.
    pub code: String,
    /// Its text in the page's language.
    pub title: String,
}

/// An accepted measurement.
#[derive(Serialize)]
pub struct PublicMeasurement {
    /// Date.
    pub measured_on: chrono::NaiveDate,
    /// Value.
    pub value: f64,
    /// The reporter's note.
    pub note: String,
    /// Evidence link.
    pub link: Option<String>,
}

/// A closed consultation.
#[derive(Serialize)]
pub struct PublicConsultation {
    /// Title.
    pub title: String,
    /// When it closed.
    pub closed_at: String,
    /// Its response report.
    pub report_url: String,
}

/// A roundtable that took place.
#[derive(Serialize)]
pub struct PublicRoundtable {
    /// Title.
    pub title: String,
    /// When.
    pub date: String,
    /// Where.
    pub location: Option<String>,
    /// What was agreed.
    pub agreements: Vec<String>,
}

// (key, es, en, pt)
#[rustfmt::skip]
const WORDS: &[(&str, &str, &str, &str)] = &[
    ("title", "Rendición de cuentas", "Accountability", "Prestação de contas"),
    ("skip", "Ir al contenido", "Skip to content", "Ir para o conteúdo"),
    ("languages", "Idiomas", "Languages", "Idiomas"),
    ("data", "Datos abiertos", "Open data", "Dados abertos"),
    ("strategy", "Estrategia de acción internacional", "International action strategy", "Estratégia de ação internacional"),
    ("approved_version", "Versión aprobada", "Approved version", "Versão aprovada"),
    ("read_version", "Leer la versión aprobada", "Read the approved version", "Ler a versão aprovada"),
    ("no_strategy", "Todavía no hay una versión aprobada publicada.", "No approved version has been published yet.", "Ainda não há uma versão aprovada publicada."),
    ("indicators", "Indicadores", "Indicators", "Indicadores"),
    ("summary", "Resumen por nivel", "Summary by level", "Resumo por nível"),
    ("no_indicators", "Todavía no hay indicadores publicados.", "No indicators have been published yet.", "Ainda não há indicadores publicados."),
    ("status", "Estado", "Status", "Situação"),
    ("overridden", "fijado a mano", "set by hand", "definido manualmente"),
    ("level", "Nivel", "Level", "Nível"),
    ("definition", "Definición", "Definition", "Definição"),
    ("method", "Método de cálculo", "Method of calculation", "Método de cálculo"),
    ("data_source", "Fuente de datos", "Data source", "Fonte de dados"),
    ("direction", "Sentido", "Direction", "Sentido"),
    ("area", "Área responsable", "Responsible area", "Área responsável"),
    ("baseline", "Línea de base", "Baseline", "Linha de base"),
    ("target", "Meta", "Target", "Meta"),
    ("growth", "Crecimiento anual", "Annual growth", "Crescimento anual"),
    ("sdg", "Agendas globales (ODS)", "Global agendas (SDGs)", "Agendas globais (ODS)"),
    ("measurements", "Mediciones", "Measurements", "Medições"),
    ("date", "Fecha", "Date", "Data"),
    ("value", "Valor", "Value", "Valor"),
    ("evidence", "Evidencia", "Evidence", "Evidência"),
    ("link", "enlace", "link", "link"),
    ("consultations", "Consultas", "Consultations", "Consultas"),
    ("closed", "cerrada el", "closed on", "encerrada em"),
    ("no_consultations", "Todavía no hay consultas cerradas.", "No consultation has closed yet.", "Ainda não há consultas encerradas."),
    ("roundtables", "Mesas multiactor", "Multi-actor roundtables", "Mesas multiatores"),
    ("agreements", "Acuerdos", "Agreements", "Acordos"),
    ("no_roundtables", "Todavía no se celebraron mesas.", "No roundtable has been held yet.", "Ainda não foram realizadas mesas."),
    ("rule_title", "Cómo se calcula el estado", "How the status is worked out", "Como a situação é calculada"),
    ("rule_thresholds", "Umbrales", "Thresholds", "Limiares"),
    ("with_target", "Con meta: crecimiento observado / necesario", "With a target: observed / needed growth", "Com meta: crescimento observado / necessário"),
    ("without_target", "Sin meta: crecimiento anual observado", "Without a target: observed annual growth", "Sem meta: crescimento anual observado"),
    ("generated", "Datos al", "Data as of", "Dados de"),
    ("no_measurements", "Todavía no hay mediciones aceptadas.", "No accepted measurements yet.", "Ainda não há medições aceitas."),
    ("not_reviewed", "sin revisar", "not reviewed yet", "não revisada"),
    ("higher_is_better", "más es mejor", "higher is better", "mais é melhor"),
    ("lower_is_better", "menos es mejor", "lower is better", "menos é melhor"),
    ("none", "sin definir", "not set", "não definida"),
    ("office", "Oficina de Relaciones Internacionales", "International Relations Office", "Escritório de Relações Internacionais"),
    ("local_government", "Gobierno local", "Local government", "Governo local"),
    ("territory", "Territorio", "Territory", "Território"),
    ("target_achieved", "Meta alcanzada", "Target achieved", "Meta alcançada"),
    ("on_track", "En camino", "On track", "No caminho certo"),
    ("acceleration_needed", "Avance, se necesita acelerar", "Progress made, acceleration needed", "Avanço, é preciso acelerar"),
    ("limited_progress", "Avance limitado", "Limited progress", "Avanço limitado"),
    ("deterioration", "Retroceso", "Deterioration", "Retrocesso"),
    ("no_data", "Sin datos suficientes", "Not enough data", "Dados insuficientes"),
    ("rule_1", "El estado sigue el método de medición del progreso de Open SDG (Statistics Canada, a partir de Eurostat): se compara la tasa de crecimiento anual compuesta observada desde la línea de base con la que haría falta para alcanzar la meta a tiempo.", "The status follows Open SDG's progress measure (developed by Statistics Canada after Eurostat): the compound annual growth rate observed since the baseline is compared with the rate needed to reach the target on time.", "A situação segue a medida de progresso do Open SDG (Statistics Canada, a partir do Eurostat): compara-se a taxa de crescimento anual composta observada desde a linha de base com a necessária para alcançar a meta a tempo."),
    ("rule_2", "Crecimiento anual compuesto = (valor más reciente / línea de base)^(1 / años transcurridos) − 1. Con meta, R = crecimiento observado / crecimiento necesario; si el valor ya alcanzó la meta, «meta alcanzada». Sin meta, se juzga el crecimiento observado en el sentido deseado.", "Compound annual growth = (latest value / baseline)^(1 / years elapsed) − 1. With a target, R = observed growth / needed growth; a value that reached the target is \"target achieved\". Without a target, the observed growth in the desired direction is judged.", "Crescimento anual composto = (valor mais recente / linha de base)^(1 / anos decorridos) − 1. Com meta, R = crescimento observado / necessário; um valor que alcançou a meta é «meta alcançada». Sem meta, julga-se o crescimento observado no sentido desejado."),
    ("rule_3", "Se necesitan una línea de base y al menos una medición aceptada posterior; una línea de base o meta de cero se sustituye por 0,001. Solo cuentan aquí las mediciones aceptadas por la coordinación. La coordinación puede fijar un estado a mano, siempre con una razón que se publica junto a él.", "A baseline and at least one later accepted measurement are needed; a baseline or target of zero is replaced by 0.001. Only measurements accepted by the coordination count here. The coordination may set a status by hand, always with a reason published beside it.", "São necessárias uma linha de base e ao menos uma medição aceita posterior; uma linha de base ou meta zero é substituída por 0,001. Só contam aqui as medições aceitas pela coordenação. A coordenação pode definir uma situação manualmente, sempre com uma razão publicada ao lado."),
];

fn word(lang: Locale, key: &str) -> &'static str {
    WORDS
        .iter()
        .find(|(k, ..)| *k == key)
        .map(|(_, es, en, pt)| match lang {
            Locale::Es => *es,
            Locale::En => *en,
            Locale::Pt => *pt,
        })
        .unwrap_or("")
}

fn words(lang: Locale) -> std::collections::BTreeMap<&'static str, &'static str> {
    WORDS.iter().map(|(k, ..)| (*k, word(lang, k))).collect()
}

/// The chart's words in `lang`.
pub(crate) fn chart_labels(lang: Locale) -> ChartLabels {
    ChartLabels {
        baseline: word(lang, "baseline").to_owned(),
        target: word(lang, "target").to_owned(),
        measurements: word(lang, "measurements").to_owned(),
        provisional: word(lang, "not_reviewed").to_owned(),
        empty: word(lang, "no_measurements").to_owned(),
    }
}

fn percent(v: f64) -> String {
    format!("{}%", format_value(v * 100.0))
}

/// The threshold rows of the rule, as the page's table shows them.
fn rule_rows(lang: Locale) -> Vec<serde_json::Value> {
    let row = |status: Status, with_target: String, without_target: String| {
        serde_json::json!({ "label": word(lang, status.as_str()), "with_target": with_target, "without_target": without_target })
    };
    vec![
        row(Status::TargetAchieved, word(lang, "target_achieved").to_owned(), "—".to_owned()),
        row(Status::OnTrack, format!("R ≥ {}", percent(RATIO_ON_TRACK)), format!("≥ {}", percent(GROWTH_ON_TRACK))),
        row(
            Status::AccelerationNeeded,
            format!("{} ≤ R < {}", percent(RATIO_ACCELERATION), percent(RATIO_ON_TRACK)),
            format!("{} – {}", percent(GROWTH_ACCELERATION), percent(GROWTH_ON_TRACK)),
        ),
        row(Status::LimitedProgress, format!("0% ≤ R < {}", percent(RATIO_ACCELERATION)), format!("0% – {}", percent(GROWTH_ACCELERATION))),
        row(Status::Deterioration, "R < 0%".to_owned(), "< 0%".to_owned()),
    ]
}

/// Gathers what the public may see of `city`, labelled in `lang`.
pub async fn gather(state: &AppState, city: &City, lang: Locale) -> Result<PublicData> {
    let areas = state.db.list_areas(city.id).await?;
    let mut indicators = Vec::new();
    let labels = chart_labels(lang);
    let mut strategies = Vec::new();
    for strategy in state.db.list_strategies(city.id).await? {
        if let Some(version) = state.db.get_approved_version(strategy.id).await? {
            strategies.push(PublicStrategy {
                title: strategy.title.clone(),
                version_name: version.name.clone(),
                approved_at: version.approved_at.map(|d| d.format("%Y-%m-%d").to_string()),
                html_url: Some(format!("/public/{}/strategies/{}", city.slug, strategy.id)),
            });
        }
        let public: Vec<_> = state.db.list_indicators(strategy.id).await?.into_iter().filter(|i| i.fields.public).collect();
        if public.is_empty() {
            continue;
        }
        let measurements = state.db.list_strategy_measurements(strategy.id).await?;
        for reading in read_all(public, &measurements, Counting::Accepted, today()) {
            let i = &reading.indicator;
            let f = &i.fields;
            let points = chart_points(i.id, &measurements, Counting::Accepted);
            let chart = Chart {
                id: &format!("chart-{}", i.id),
                title: &f.name,
                unit_label: &f.unit_label,
                baseline: f.baseline,
                target: f.target,
                points: &points,
                labels: &labels,
            };
            let chart_text = chart::text_alternative(&chart);
            let sdg = f
                .sdg
                .iter()
                .map(|code| {
                    let title = match code.parse::<u8>() {
                        Ok(n) => concerta_evaluation::sdg::goal(n).map(|g| g.title.get(lang).to_owned()),
                        Err(_) => concerta_evaluation::sdg::target(code).map(|t| t.title.get(lang).to_owned()),
                    };
                    PublicSdg { code: code.clone(), title: title.unwrap_or_default() }
                })
                .collect();
            indicators.push(PublicIndicator {
                code: f.code.clone(),
                name: f.name.clone(),
                level: f.level,
                definition: f.definition.clone(),
                method: f.method.clone(),
                unit: f.unit,
                unit_label: f.unit_label.clone(),
                direction: f.direction,
                data_source: f.data_source.clone(),
                frequency: f.frequency,
                area: f.area_id.and_then(|a| areas.iter().find(|x| x.id == a)).map(|a| a.name.clone()),
                baseline: f.baseline,
                target: f.target,
                sdg,
                status: reading.status,
                status_overridden: reading.status_overridden,
                override_reason: i.status_override.as_ref().map(|o| o.reason.clone()),
                observed_growth: reading.assessment.observed_growth,
                required_growth: reading.assessment.required_growth,
                measurements: measurements
                    .iter()
                    .filter(|m| m.indicator_id == i.id && m.review == concerta_evaluation::ReviewState::Accepted)
                    .map(|m| PublicMeasurement { measured_on: m.measured_on, value: m.value, note: m.note.clone(), link: m.link.clone() })
                    .collect(),
                chart_text,
            });
        }
    }
    // Roundtables held (closed), newest first, with the agreements of their minutes: titles,
    // dates, places and agreements only, never who was invited or answered.
    let mut roundtables = Vec::new();
    let mut held: Vec<_> =
        state.db.list_roundtables(city.id).await?.into_iter().filter(|r| r.status == concerta_roundtable::Status::Closed).collect();
    held.sort_by(|a, b| b.details.schedule.starts_at.cmp(&a.details.schedule.starts_at));
    for rt in held {
        let agreements = state.db.list_roundtable_agreements(rt.id).await?.into_iter().map(|a| a.text).collect();
        let s = &rt.details.schedule;
        roundtables.push(PublicRoundtable {
            title: rt.details.title.clone(),
            date: format!("{} ({})", concerta_roundtable::validate::local_time(s.starts_at, &s.timezone).strftime("%Y-%m-%d %H:%M"), s.timezone),
            location: Some(rt.details.location.clone()).filter(|l| !l.is_empty()),
            agreements,
        });
    }
    Ok(PublicData {
        city: PublicCity { name: city.name.clone(), slug: city.slug.clone(), locale: city.locale },
        language: lang,
        generated_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        strategies,
        indicators,
        consultations: closed_consultations(state, city).await?,
        roundtables,
        status_rule: ["rule_1", "rule_2", "rule_3"].iter().map(|k| word(lang, k).to_owned()).collect(),
    })
}

/// The city's consultations that have closed, newest first, each with its public report.
async fn closed_consultations(state: &AppState, city: &City) -> Result<Vec<PublicConsultation>> {
    let now = Utc::now();
    Ok(state
        .db
        .list_consultations(city.id)
        .await?
        .into_iter()
        .filter(|c| c.closes_at <= now)
        .map(|c| PublicConsultation {
            title: c.title,
            // The day it closed in the city's own time.
            closed_at: concerta_roundtable::validate::local_time(c.closes_at, &city.timezone).date().to_string(),
            report_url: format!("/public/{}/consultations/{}", city.slug, c.id),
        })
        .collect())
}

fn point_text(lang: Locale, p: Option<concerta_evaluation::Point>, unit_label: &str) -> String {
    match p {
        Some(p) => format!("{} {} ({})", format_value(p.value), unit_label, p.date).replace("  ", " "),
        None => word(lang, "none").to_owned(),
    }
}

/// Renders the page.
fn render(data: &PublicData, lang: Locale) -> Result<String> {
    let labels = chart_labels(lang);
    let statuses: Vec<_> = Status::ALL.iter().map(|s| serde_json::json!({ "label": word(lang, s.as_str()) })).collect();
    let indicators: Vec<serde_json::Value> = data
        .indicators
        .iter()
        .enumerate()
        .map(|(n, i)| {
            let points: Vec<_> = i
                .measurements
                .iter()
                .map(|m| chart::ChartPoint { point: concerta_evaluation::Point::new(m.measured_on, m.value), provisional: false })
                .collect();
            let svg = chart::svg(&Chart {
                id: &format!("chart-{n}"),
                title: &i.name,
                unit_label: &i.unit_label,
                baseline: i.baseline,
                target: i.target,
                points: &points,
                labels: &labels,
            });
            let growth_text = i.observed_growth.map(|g| match i.required_growth {
                Some(r) => format!("{} / {}", percent(g), percent(r)),
                None => percent(g),
            });
            serde_json::json!({
                "code": i.code,
                "name": i.name,
                "status": i.status.as_str(),
                "status_label": word(lang, i.status.as_str()),
                "status_overridden": i.status_overridden,
                "override_reason": i.override_reason,
                "level_label": word(lang, i.level.as_str()),
                "definition": i.definition,
                "method": i.method,
                "data_source": i.data_source,
                "direction_label": word(lang, i.direction.as_str()),
                "area": i.area,
                "baseline_text": point_text(lang, i.baseline, &i.unit_label),
                "target_text": point_text(lang, i.target, &i.unit_label),
                "growth_text": growth_text,
                "sdg": i.sdg,
                "chart_svg": svg,
                "chart_text": i.chart_text,
                "measurements": i.measurements.iter().map(|m| serde_json::json!({
                    "measured_on": m.measured_on.to_string(),
                    "value": format!("{} {}", format_value(m.value), i.unit_label).trim().to_owned(),
                    "note": m.note,
                    "link": m.link,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut by_level: std::collections::BTreeMap<Level, concerta_evaluation::status::StatusCounts> = Default::default();
    for i in &data.indicators {
        by_level.entry(i.level).or_default().add(i.status);
    }
    let summary: Vec<_> = Level::ALL
        .iter()
        .filter_map(|l| {
            by_level.get(l).map(|c| {
                serde_json::json!({ "label": word(lang, l.as_str()), "counts": Status::ALL.iter().map(|s| c.get(*s)).collect::<Vec<_>>() })
            })
        })
        .collect();
    let languages: Vec<_> = [(Locale::Es, "Español"), (Locale::En, "English"), (Locale::Pt, "Português")]
        .iter()
        .map(|(l, name)| serde_json::json!({ "code": l.as_str(), "name": name }))
        .collect();
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("page.html", PAGE).map_err(|e| anyhow::anyhow!("public page template: {e}"))?;
    let context = serde_json::json!({
        "lang": lang.as_str(),
        "t": words(lang),
        "city": data.city,
        "languages": languages,
        "strategies": data.strategies,
        "indicators": indicators,
        "statuses": statuses,
        "summary": summary,
        "consultations": data.consultations,
        "roundtables": data.roundtables,
        "rule": data.status_rule,
        "rule_rows": rule_rows(lang),
        "generated_at": data.generated_at,
    });
    env.get_template("page.html")
        .and_then(|t| t.render(context))
        .map_err(|e| Error::Internal(anyhow::anyhow!("rendering the public page: {e}")))
}

/// One CSV row per accepted measurement of a public indicator (an indicator without any
/// has one row with empty date and value).
fn csv(data: &PublicData) -> Vec<u8> {
    use concerta_evaluation::csv_io::{guard, number, write};
    const COLUMNS: &[&str] = &[
        "indicator_code",
        "indicator_name",
        "level",
        "unit",
        "unit_label",
        "direction",
        "baseline_value",
        "baseline_date",
        "target_value",
        "target_date",
        "status",
        "measured_on",
        "value",
    ];
    let mut rows = Vec::new();
    for i in &data.indicators {
        let head = vec![
            i.code.clone(),
            guard(&i.name),
            i.level.to_string(),
            i.unit.to_string(),
            guard(&i.unit_label),
            i.direction.to_string(),
            number(i.baseline.map(|p| p.value)),
            i.baseline.map(|p| p.date.to_string()).unwrap_or_default(),
            number(i.target.map(|p| p.value)),
            i.target.map(|p| p.date.to_string()).unwrap_or_default(),
            i.status.to_string(),
        ];
        if i.measurements.is_empty() {
            let mut row = head.clone();
            row.extend([String::new(), String::new()]);
            rows.push(row);
        }
        for m in &i.measurements {
            let mut row = head.clone();
            row.extend([m.measured_on.to_string(), m.value.to_string()]);
            rows.push(row);
        }
    }
    write(COLUMNS, rows)
}

/// `GET /public/{city_slug}[?format=json|csv][&lang=es|en|pt]`.
#[tracing::instrument(skip_all)]
pub(crate) async fn page(State(state): State<AppState>, Path(slug): Path<String>, Query(query): Query<PublicQuery>) -> Result<Response> {
    let city = state.db.get_city_by_slug(&slug).await?;
    let lang = match query.lang.as_deref() {
        None | Some("") => city.locale,
        Some(l) => l.parse().map_err(|_| Error::invalid("lang", "must be one of: es, en, pt"))?,
    };
    let data = gather(&state, &city, lang).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    match query.format.as_deref() {
        None | Some("html") => {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
            );
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            Ok((headers, render(&data, lang)?).into_response())
        }
        Some("json") => Ok((headers, axum::Json(data)).into_response()),
        Some("csv") => {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            let name = format!("attachment; filename=\"{}-indicators.csv\"", city.slug);
            if let Ok(v) = HeaderValue::from_str(&name) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok((headers, csv(&data)).into_response())
        }
        Some(_) => Err(Error::invalid("format", "must be one of: html, json, csv")),
    }
}

/// `GET /public/{city_slug}/strategies/{id}`: the approved version of one of the city's
/// strategies as the printable HTML export, no login; 404 when it has none approved.
#[tracing::instrument(skip_all)]
pub(crate) async fn approved_version(State(state): State<AppState>, Path((slug, id)): Path<(String, String)>) -> Result<Response> {
    let city = state.db.get_city_by_slug(&slug).await?;
    let id: concerta_core::StrategyId = id.parse().map_err(|_| Error::NotFound)?;
    let strategy = state.db.get_strategy(id).await?;
    if strategy.city_id != city.id {
        return Err(Error::NotFound);
    }
    let version = state.db.get_approved_version(id).await?.ok_or(Error::NotFound)?;
    let export = crate::api::exports::build_export(&state, &strategy, Some(&version)).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&crate::api::exports::export_csp()).map_err(|e| Error::Internal(e.into()))?,
    );
    Ok((headers, concerta_content::export::to_html(&export)).into_response())
}

/// `GET /public/{city_slug}/consultations/{id}[?format=html|md|csv|json][&lang=]`: the
/// response report of one of the city's consultations, no login, once it closed (404 before).
#[tracing::instrument(skip_all)]
pub(crate) async fn consultation_report(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    Query(query): Query<PublicQuery>,
) -> Result<Response> {
    let city = state.db.get_city_by_slug(&slug).await?;
    let id: concerta_core::ConsultationId = id.parse().map_err(|_| Error::NotFound)?;
    let consultation = state.db.get_consultation(id).await?;
    if consultation.city_id != city.id || consultation.closes_at > Utc::now() {
        return Err(Error::NotFound);
    }
    let lang = crate::api::consultations::report_lang(query.lang.as_deref(), city.locale)?;
    let report = crate::api::consultations::build_report(&state, &consultation, lang).await?;
    let mut response = crate::api::consultations::render_report(&report, query.format.as_deref(), Some("/public/_/style.css"))?;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(response)
}

/// `GET /public/_/style.css`: the page's stylesheet (screen and print).
pub(crate) async fn style() -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    (headers, STYLE).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_in_three_languages() {
        for (key, es, en, pt) in WORDS {
            assert!(!es.is_empty() && !en.is_empty() && !pt.is_empty(), "{key}");
        }
        for s in Status::ALL {
            assert!(!word(Locale::Pt, s.as_str()).is_empty(), "{s}");
        }
        for l in Level::ALL {
            assert!(!word(Locale::Es, l.as_str()).is_empty(), "{l}");
        }
        assert_eq!(rule_rows(Locale::En)[1]["with_target"], "R ≥ 95%");
        assert_eq!(rule_rows(Locale::En)[2]["without_target"], "0.5% – 1.5%");
    }
}
