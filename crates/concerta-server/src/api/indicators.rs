//! The evaluation framework over HTTP: indicators, measurements with evidence, reviews,
//! status overrides, and CSV import and export.
//!
//! - `GET|POST /api/strategies/{id}/indicators`, `POST /api/strategies/{id}/indicators/template`
//! - `GET|PUT|DELETE /api/indicators/{id}`, `PUT|DELETE /api/indicators/{id}/status-override`
//! - `GET|POST /api/indicators/{id}/measurements` (JSON, or multipart with an `evidence` file)
//! - `POST /api/measurements/{id}/review`, `DELETE /api/measurements/{id}`
//! - `GET /api/evidence/{id}` (the file, as an attachment)
//! - `GET|POST /api/strategies/{id}/indicators.csv`, `GET|POST /api/strategies/{id}/measurements.csv`

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use concerta_core::{Action, AreaId, CityId, EvidenceId, IndicatorId, MeasurementId, SectionId, StrategyId, validate_name};
use concerta_evaluation::csv_io::{self, INDICATOR_COLUMNS, MEASUREMENT_COLUMNS};
use concerta_evaluation::validate::{check_indicator, check_link, check_measurement, check_sdg, check_text, pair, validate_code};
use concerta_evaluation::{Direction, Frequency, Level, ReviewState, Status, Unit};
use concerta_store::{Indicator, IndicatorFields, Measurement, NewEvidence, NewMeasurement, User};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{authorize, field_enum, field_id, path_id};
use crate::auth::CurrentUser;
use crate::error::{Error, JsonBody, Result, parse_json};
use crate::evaluation::{Counting, IndicatorReading, Summary, read, read_all, summarize, today};
use crate::state::AppState;

/// The largest evidence file accepted.
pub const MAX_EVIDENCE_BYTES: usize = 5 * 1024 * 1024;
/// The largest CSV file accepted.
pub const MAX_CSV_BYTES: usize = 2 * 1024 * 1024;

/// The body of `POST /api/strategies/{id}/indicators` and `PUT /api/indicators/{id}`.
#[derive(Deserialize)]
pub(super) struct IndicatorBody {
    code: String,
    name: String,
    level: String,
    #[serde(default)]
    definition: String,
    #[serde(default)]
    method: String,
    unit: String,
    #[serde(default)]
    unit_label: String,
    direction: String,
    #[serde(default)]
    data_source: String,
    frequency: String,
    area_id: Option<String>,
    baseline_value: Option<f64>,
    baseline_date: Option<String>,
    target_value: Option<f64>,
    target_date: Option<String>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    section_ids: Vec<String>,
    #[serde(default)]
    sdg: Vec<String>,
}

fn optional_date(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => Ok(Some(concerta_evaluation::validate::parse_date(field, t)?)),
    }
}

impl IndicatorBody {
    /// Checks every field, naming the first that is wrong.
    fn validate(self) -> Result<IndicatorFields> {
        let unit: Unit = field_enum("unit", &self.unit)?;
        let direction: Direction = field_enum("direction", &self.direction)?;
        let baseline = pair("baseline_value", "baseline_date", self.baseline_value, optional_date("baseline_date", self.baseline_date.as_deref())?)?;
        let target = pair("target_value", "target_date", self.target_value, optional_date("target_date", self.target_date.as_deref())?)?;
        check_indicator(unit, direction, baseline, target)?;
        Ok(IndicatorFields {
            code: validate_code("code", &self.code)?,
            name: validate_name("name", &self.name)?,
            level: field_enum::<Level>("level", &self.level)?,
            definition: check_text("definition", &self.definition, 4000)?,
            method: check_text("method", &self.method, 4000)?,
            unit,
            unit_label: check_text("unit_label", &self.unit_label, 100)?,
            direction,
            data_source: check_text("data_source", &self.data_source, 1000)?,
            frequency: field_enum::<Frequency>("frequency", &self.frequency)?,
            area_id: self.area_id.as_deref().map(|a| field_id::<AreaId>("area_id", a)).transpose()?,
            baseline,
            target,
            public: self.public,
            section_ids: self.section_ids.iter().map(|s| field_id::<SectionId>("section_ids", s)).collect::<Result<_>>()?,
            sdg: check_sdg("sdg", &self.sdg)?,
        })
    }
}

/// `GET /api/strategies/{id}/indicators` → the framework with statuses and summaries.
#[derive(Serialize)]
pub(super) struct FrameworkView {
    indicators: Vec<IndicatorReading>,
    summary: Summary,
}

/// An indicator with its measurements.
#[derive(Serialize)]
pub(super) struct IndicatorDetail {
    #[serde(flatten)]
    reading: IndicatorReading,
    measurements: Vec<Measurement>,
    reminders: Vec<NaiveDate>,
}

async fn strategy_city(state: &AppState, id: StrategyId) -> Result<CityId> {
    Ok(state.db.get_strategy(id).await?.city_id)
}

async fn detail(state: &AppState, indicator: Indicator) -> Result<IndicatorDetail> {
    let measurements = state.db.list_measurements(indicator.id).await?;
    let reminders = state.db.list_reminders(indicator.id).await?;
    Ok(IndicatorDetail { reading: read(indicator, &measurements, Counting::Reported, today()), measurements, reminders })
}

/// `GET /api/strategies/{id}/indicators`.
#[tracing::instrument(skip_all)]
pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<FrameworkView>> {
    let id: StrategyId = path_id(&id)?;
    let city = strategy_city(&state, id).await?;
    authorize(&state, &user, city, Action::ViewEvaluation, None).await?;
    let indicators = state.db.list_indicators(id).await?;
    let measurements = state.db.list_strategy_measurements(id).await?;
    let areas = state.db.list_areas(city).await?;
    let readings = read_all(indicators, &measurements, Counting::Reported, today());
    let summary = summarize(&readings, &areas);
    Ok(Json(FrameworkView { indicators: readings, summary }))
}

/// `POST /api/strategies/{id}/indicators` → 201 indicator.
#[tracing::instrument(skip_all)]
pub(super) async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<IndicatorBody>,
) -> Result<(StatusCode, Json<IndicatorDetail>)> {
    let id: StrategyId = path_id(&id)?;
    let city = strategy_city(&state, id).await?;
    authorize(&state, &user, city, Action::ManageIndicators, None).await?;
    let indicator = state.db.create_indicator(id, body.validate()?).await?;
    tracing::info!(strategy = %id, indicator = %indicator.id, "indicator created");
    Ok((StatusCode::CREATED, Json(detail(&state, indicator).await?)))
}

/// `POST /api/strategies/{id}/indicators/template` → 201, the seed's indicators (and the
/// capacities checklist, when the strategy has none yet).
#[tracing::instrument(skip_all)]
pub(super) async fn create_from_template(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<FrameworkView>)> {
    let id: StrategyId = path_id(&id)?;
    let city_id = strategy_city(&state, id).await?;
    authorize(&state, &user, city_id, Action::ManageIndicators, None).await?;
    let city = state.db.get_city(city_id).await?;
    state.db.create_indicators_from_template(id, city.locale).await?;
    if state.db.list_capacities(id).await?.is_empty() {
        state.db.create_capacities_from_template(id, city.locale).await?;
    }
    let indicators = state.db.list_indicators(id).await?;
    let areas = state.db.list_areas(city_id).await?;
    let readings = read_all(indicators, &[], Counting::Reported, today());
    let summary = summarize(&readings, &areas);
    tracing::info!(strategy = %id, indicators = readings.len(), "framework created from the seed template");
    Ok((StatusCode::CREATED, Json(FrameworkView { indicators: readings, summary })))
}

async fn load(state: &AppState, user: &User, id: &str, action: Action) -> Result<Indicator> {
    let id: IndicatorId = path_id(id)?;
    let indicator = state.db.get_indicator(id).await?;
    authorize(state, user, indicator.city_id, action, indicator.fields.area_id).await?;
    Ok(indicator)
}

/// `GET /api/indicators/{id}` → the indicator with its measurements.
#[tracing::instrument(skip_all)]
pub(super) async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<IndicatorDetail>> {
    let indicator = load(&state, &user, &id, Action::ViewEvaluation).await?;
    Ok(Json(detail(&state, indicator).await?))
}

/// `PUT /api/indicators/{id}` → the indicator, every field replaced.
#[tracing::instrument(skip_all)]
pub(super) async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<IndicatorBody>,
) -> Result<Json<IndicatorDetail>> {
    let indicator = load(&state, &user, &id, Action::ManageIndicators).await?;
    let fields = body.validate()?;
    // Measurements dated before a moved baseline would no longer make sense.
    if let Some(b) = fields.baseline {
        let measurements = state.db.list_measurements(indicator.id).await?;
        if let Some(m) = measurements.iter().find(|m| m.measured_on < b.date && m.review != ReviewState::Returned) {
            return Err(Error::invalid(
                "baseline_date",
                format!("must not be after a reported measurement (one is dated {})", m.measured_on),
            ));
        }
    }
    let indicator = state.db.update_indicator(indicator.id, fields).await?;
    Ok(Json(detail(&state, indicator).await?))
}

/// `DELETE /api/indicators/{id}` → 204.
#[tracing::instrument(skip_all)]
pub(super) async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let indicator = load(&state, &user, &id, Action::ManageIndicators).await?;
    state.db.delete_indicator(indicator.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(super) struct OverrideBody {
    status: String,
    reason: String,
}

/// `PUT /api/indicators/{id}/status-override` `{"status","reason"}` → the indicator. The
/// reason is required: an override is shown with it, on the page and in exports.
#[tracing::instrument(skip_all)]
pub(super) async fn set_override(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<OverrideBody>,
) -> Result<Json<IndicatorDetail>> {
    let indicator = load(&state, &user, &id, Action::ManageIndicators).await?;
    let status: Status = field_enum("status", &body.status)?;
    let reason = check_text("reason", &body.reason, 2000)?;
    if reason.is_empty() {
        return Err(Error::invalid("reason", "is required: say why the computed status does not apply"));
    }
    let indicator = state.db.set_status_override(indicator.id, Some((status, reason)), user.id).await?;
    Ok(Json(detail(&state, indicator).await?))
}

/// `DELETE /api/indicators/{id}/status-override` → the indicator, back to the computed status.
#[tracing::instrument(skip_all)]
pub(super) async fn clear_override(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<IndicatorDetail>> {
    let indicator = load(&state, &user, &id, Action::ManageIndicators).await?;
    let indicator = state.db.set_status_override(indicator.id, None, user.id).await?;
    Ok(Json(detail(&state, indicator).await?))
}

/// `GET /api/indicators/{id}/measurements`.
#[tracing::instrument(skip_all)]
pub(super) async fn list_measurements(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<Measurement>>> {
    let indicator = load(&state, &user, &id, Action::ViewEvaluation).await?;
    Ok(Json(state.db.list_measurements(indicator.id).await?))
}

#[derive(Deserialize)]
struct MeasurementBody {
    measured_on: String,
    value: f64,
    #[serde(default)]
    note: String,
    link: Option<String>,
}

/// A measurement report: JSON, or a multipart form with the same fields and an optional
/// `evidence` file.
pub(super) struct MeasurementReport {
    body: MeasurementBody,
    evidence: Option<(String, Bytes)>,
}

impl<S: Send + Sync> FromRequest<S> for MeasurementReport {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        if !content_type.starts_with("multipart/form-data") {
            let JsonBody(body) = JsonBody::<MeasurementBody>::from_request(req, state).await?;
            return Ok(Self { body, evidence: None });
        }
        let mut form = Multipart::from_request(req, state).await.map_err(|_| Error::invalid("body", "is not a readable form"))?;
        let mut fields = serde_json::Map::new();
        let mut evidence = None;
        loop {
            let field = match form.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(Error::PayloadTooLarge),
                Err(_) => return Err(Error::invalid("body", "is not a readable form")),
            };
            let name = field.name().unwrap_or_default().to_owned();
            if name == "evidence" {
                let filename = field.file_name().unwrap_or("evidence").to_owned();
                let bytes = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE { Error::PayloadTooLarge } else { Error::invalid("evidence", "could not be read") }
                })?;
                if !bytes.is_empty() {
                    evidence = Some((filename, bytes));
                }
                continue;
            }
            let text = field.text().await.map_err(|_| Error::invalid(&name, "could not be read"))?;
            let value = match name.as_str() {
                "value" => match text.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() => serde_json::json!(v),
                    _ => return Err(Error::invalid("value", "must be a plain number, without a unit or thousands separator (like 12.5)")),
                },
                "link" if text.trim().is_empty() => continue,
                _ => serde_json::json!(text),
            };
            fields.insert(name, value);
        }
        let body = parse_json(serde_json::Value::Object(fields).to_string().as_bytes())?;
        Ok(Self { body, evidence })
    }
}

/// What an evidence file's content is recognised as, or why it is refused.
pub fn recognise_evidence(filename: &str, bytes: &[u8]) -> Result<&'static str> {
    const ALLOWED: &[&str] = &[
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/webp",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
    ];
    if bytes.len() > MAX_EVIDENCE_BYTES {
        return Err(Error::invalid("evidence", format!("must be at most {} MiB", MAX_EVIDENCE_BYTES / (1024 * 1024))));
    }
    if let Some(kind) = infer::get(bytes) {
        return ALLOWED
            .iter()
            .copied()
            .find(|a| *a == kind.mime_type())
            .ok_or_else(|| Error::invalid("evidence", "must be a PDF, an image (PNG, JPEG, WebP), an office document or plain text (CSV)"));
    }
    // Plain text: valid UTF-8 without NUL bytes; CSV when the name says so.
    if std::str::from_utf8(bytes).is_ok_and(|t| !t.contains('\0')) {
        return Ok(if filename.to_ascii_lowercase().ends_with(".csv") { "text/csv" } else { "text/plain" });
    }
    Err(Error::invalid("evidence", "must be a PDF, an image (PNG, JPEG, WebP), an office document or plain text (CSV)"))
}

/// A file name safe to keep and to put in a header: the last path part, printable
/// characters other than quotes and separators, at most 120 characters.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';' | '\\' | '/'))
        .take(120)
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_owned();
    if clean.is_empty() { "evidence".to_owned() } else { clean }
}

/// `POST /api/indicators/{id}/measurements` → 201 measurement, pending review. The
/// indicator's responsible area's editors (and coordinators) may report.
#[tracing::instrument(skip_all)]
pub(super) async fn create_measurement(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    report: MeasurementReport,
) -> Result<(StatusCode, Json<Measurement>)> {
    let indicator = load(&state, &user, &id, Action::ReportMeasurement).await?;
    let MeasurementReport { body, evidence } = report;
    let measured_on = concerta_evaluation::validate::parse_date("measured_on", &body.measured_on)?;
    check_measurement(indicator.fields.unit, indicator.fields.baseline.map(|b| b.date), measured_on, body.value, today())?;
    let note = check_text("note", &body.note, 4000)?;
    let link = body.link.as_deref().filter(|l| !l.trim().is_empty()).map(|l| check_link("link", l)).transpose()?;
    let evidence = match evidence {
        Some((filename, bytes)) => {
            let content_type = recognise_evidence(&filename, &bytes)?;
            Some(NewEvidence {
                filename: sanitize_filename(&filename),
                content_type: content_type.to_owned(),
                sha256: Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect(),
                data: bytes.to_vec(),
            })
        }
        None => None,
    };
    let m = state
        .db
        .create_measurement(NewMeasurement { indicator: indicator.id, measured_on, value: body.value, note, link, evidence, reported_by: user.id })
        .await?;
    tracing::info!(indicator = %indicator.id, measurement = %m.id, "measurement reported");
    Ok((StatusCode::CREATED, Json(m)))
}

#[derive(Deserialize)]
pub(super) struct ReviewBody {
    review: String,
    reason: Option<String>,
}

/// `POST /api/measurements/{id}/review` `{"review":"accepted"|"returned","reason"?}`.
#[tracing::instrument(skip_all)]
pub(super) async fn review(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> Result<Json<Measurement>> {
    let id: MeasurementId = path_id(&id)?;
    let m = state.db.get_measurement(id).await?;
    authorize(&state, &user, m.city_id, Action::ReviewMeasurement, None).await?;
    let review: ReviewState = field_enum("review", &body.review)?;
    if review == ReviewState::Pending {
        return Err(Error::invalid("review", "must be one of: accepted, returned"));
    }
    let reason = body.reason.as_deref().map(|r| check_text("reason", r, 2000)).transpose()?.filter(|r| !r.is_empty());
    Ok(Json(state.db.review_measurement(id, review, reason, user.id).await?))
}

/// `DELETE /api/measurements/{id}` → 204: a coordinator, or its reporter while it is not
/// accepted.
#[tracing::instrument(skip_all)]
pub(super) async fn delete_measurement(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id: MeasurementId = path_id(&id)?;
    let m = state.db.get_measurement(id).await?;
    let indicator = state.db.get_indicator(m.indicator_id).await?;
    let own = m.reported_by == Some(user.id) && m.review != ReviewState::Accepted;
    let action = if own { Action::ReportMeasurement } else { Action::ReviewMeasurement };
    authorize(&state, &user, m.city_id, action, indicator.fields.area_id).await?;
    state.db.delete_measurement(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/evidence/{id}` → the file, as a download that the browser never renders in
/// the app's origin (`Content-Disposition: attachment`, `nosniff`, a sandboxing CSP).
#[tracing::instrument(skip_all)]
pub(super) async fn evidence(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let id: EvidenceId = path_id(&id)?;
    let file = state.db.get_evidence(id).await?;
    authorize(&state, &user, file.city_id, Action::ViewEvaluation, None).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(&file.info.content_type).map_err(|e| anyhow::anyhow!("{e}"))?);
    let ascii: String = file.info.filename.chars().map(|c| if c.is_ascii() { c } else { '_' }).collect();
    let disposition = format!("attachment; filename=\"{ascii}\"");
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok((headers, file.data).into_response())
}

fn csv_response(name: &str, bytes: Vec<u8>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    (headers, bytes).into_response()
}

/// Records a CSV export in the city's audit log (exports are audited, like the strategy's).
async fn audit_export(state: &AppState, user: &User, city: CityId, strategy: StrategyId, file: &str) -> Result<()> {
    let entry = concerta_store::NewAuditEntry::new(concerta_core::AuditAction::Exported, concerta_store::AuditActor::User(user.id))
        .city(city)
        .target("strategy", strategy)
        .details(serde_json::json!({ "file": file }));
    state.db.record_audit(entry).await?;
    Ok(())
}

/// Turns an import's row error into the API's answer: 422 with `row` and `field`.
fn import_error(e: csv_io::CsvError) -> Error {
    Error::Row { row: e.row, field: e.field, message: e.message }
}

/// `GET /api/strategies/{id}/indicators.csv` → the framework as CSV (the import's columns).
#[tracing::instrument(skip_all)]
pub(super) async fn export_indicators(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let id: StrategyId = path_id(&id)?;
    let strategy = state.db.get_strategy(id).await?;
    authorize(&state, &user, strategy.city_id, Action::ViewEvaluation, None).await?;
    let areas = state.db.list_areas(strategy.city_id).await?;
    let rows = state.db.list_indicators(id).await?.into_iter().map(|i| {
        let f = i.fields;
        let area = f.area_id.and_then(|a| areas.iter().find(|x| x.id == a)).map(|a| a.name.clone()).unwrap_or_default();
        let sections: Vec<String> = f
            .section_ids
            .iter()
            .filter_map(|s| strategy.sections.iter().find(|x| x.id == *s))
            .map(|s| if s.key.is_empty() { s.title.clone() } else { s.key.clone() })
            .collect();
        vec![
            f.code,
            csv_io::guard(&f.name),
            f.level.to_string(),
            csv_io::guard(&f.definition),
            csv_io::guard(&f.method),
            f.unit.to_string(),
            csv_io::guard(&f.unit_label),
            f.direction.to_string(),
            csv_io::guard(&f.data_source),
            f.frequency.to_string(),
            csv_io::guard(&area),
            csv_io::number(f.baseline.map(|p| p.value)),
            f.baseline.map(|p| p.date.to_string()).unwrap_or_default(),
            csv_io::number(f.target.map(|p| p.value)),
            f.target.map(|p| p.date.to_string()).unwrap_or_default(),
            sections.join(";"),
            f.sdg.join(";"),
            f.public.to_string(),
        ]
    });
    let body = csv_io::write(INDICATOR_COLUMNS, rows);
    audit_export(&state, &user, strategy.city_id, id, "indicators.csv").await?;
    Ok(csv_response("indicators.csv", body))
}

/// `GET /api/strategies/{id}/measurements.csv` → every measurement of the framework.
#[tracing::instrument(skip_all)]
pub(super) async fn export_measurements(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let id: StrategyId = path_id(&id)?;
    let city = strategy_city(&state, id).await?;
    authorize(&state, &user, city, Action::ViewEvaluation, None).await?;
    let indicators = state.db.list_indicators(id).await?;
    let code = |i: IndicatorId| indicators.iter().find(|x| x.id == i).map(|x| x.fields.code.clone()).unwrap_or_default();
    let rows = state.db.list_strategy_measurements(id).await?.into_iter().map(|m| {
        vec![
            code(m.indicator_id),
            m.measured_on.to_string(),
            m.value.to_string(),
            csv_io::guard(&m.note),
            m.link.clone().unwrap_or_default(),
            m.review.to_string(),
            csv_io::guard(m.review_reason.as_deref().unwrap_or("")),
            m.reported_at.to_rfc3339(),
        ]
    });
    let body = csv_io::write(MEASUREMENT_COLUMNS, rows);
    audit_export(&state, &user, city, id, "measurements.csv").await?;
    Ok(csv_response("measurements.csv", body))
}

async fn csv_body(body: Bytes) -> Result<Bytes> {
    if body.len() > MAX_CSV_BYTES {
        return Err(Error::PayloadTooLarge);
    }
    Ok(body)
}

/// `POST /api/strategies/{id}/indicators.csv` (body: the CSV) → `{"created","updated"}`;
/// a broken row imports nothing: 422 naming `row` and `field`.
#[tracing::instrument(skip_all)]
pub(super) async fn import_indicators(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<concerta_store::ImportSummary>> {
    let id: StrategyId = path_id(&id)?;
    let city = strategy_city(&state, id).await?;
    authorize(&state, &user, city, Action::ManageIndicators, None).await?;
    let rows = csv_io::parse_indicators(&csv_body(body).await?).map_err(import_error)?;
    Ok(Json(state.db.import_indicators(id, rows, user.id).await?))
}

/// `POST /api/strategies/{id}/measurements.csv` → `{"created","updated"}`, all pending
/// review; all or nothing like the indicators.
#[tracing::instrument(skip_all)]
pub(super) async fn import_measurements(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<concerta_store::ImportSummary>> {
    let id: StrategyId = path_id(&id)?;
    let city = strategy_city(&state, id).await?;
    authorize(&state, &user, city, Action::ManageIndicators, None).await?;
    let rows = csv_io::parse_measurements(&csv_body(body).await?).map_err(import_error)?;
    Ok(Json(state.db.import_measurements(id, rows, user.id, today()).await?))
}

/// `GET /api/indicators/{id}/chart.svg` → the indicator's chart as a standalone SVG (the
/// renderer of the public page), for reports and exports; its `<title>` and `<desc>` carry
/// the text alternative. Measurements not reviewed yet are drawn hollow.
#[tracing::instrument(skip_all)]
pub(super) async fn chart_svg(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let indicator = load(&state, &user, &id, Action::ViewEvaluation).await?;
    let measurements = state.db.list_measurements(indicator.id).await?;
    let points = crate::evaluation::chart_points(indicator.id, &measurements, Counting::Reported);
    let city = state.db.get_city(indicator.city_id).await?;
    let labels = crate::public::chart_labels(city.locale);
    let f = &indicator.fields;
    let svg = concerta_evaluation::chart::svg(&concerta_evaluation::chart::Chart {
        id: &format!("chart-{}", indicator.id),
        title: &f.name,
        unit_label: &f.unit_label,
        baseline: f.baseline,
        target: f.target,
        points: &points,
        labels: &labels,
    });
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"));
    Ok((headers, svg).into_response())
}

/// `GET /api/sdg` (no login) → the SDG goals and targets shipped with the product.
pub(super) async fn sdg() -> Response {
    let mut response = Json(concerta_evaluation::sdg::catalogue()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_recognised_by_content() {
        assert_eq!(recognise_evidence("a.pdf", b"%PDF-1.7\n...").unwrap(), "application/pdf");
        assert_eq!(recognise_evidence("a.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap(), "image/png");
        assert_eq!(recognise_evidence("data.csv", b"year,value\n2025,3\n").unwrap(), "text/csv");
        assert_eq!(recognise_evidence("notes.txt", "año".as_bytes()).unwrap(), "text/plain");
        // A PDF name does not make a PDF; an executable or binary junk is refused.
        assert!(matches!(recognise_evidence("a.pdf", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff"), Err(Error::InvalidField { field, .. }) if field == "evidence"));
        assert!(recognise_evidence("a.bin", &[0, 159, 146, 150, 0]).is_err());
        assert!(recognise_evidence("big.txt", &vec![b'a'; MAX_EVIDENCE_BYTES + 1]).is_err());
    }

    #[test]
    fn filenames_are_made_safe() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\x\\informe \"final\".pdf"), "informe final.pdf");
        assert_eq!(sanitize_filename(".hidden"), "hidden");
        assert_eq!(sanitize_filename(""), "evidence");
    }
}
