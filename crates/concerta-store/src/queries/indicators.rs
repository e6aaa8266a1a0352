//! The evaluation framework: indicators (with the sections they measure and their SDG
//! links), their measurements with evidence and reviews, and the reminders of measurements
//! that are due and missing.
//!
//! Validation of values (units, directions, dates) lives in `concerta-evaluation`; the
//! server checks single writes before calling in, and the imports here check every row
//! again inside the transaction (a broken row rolls the whole file back).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use concerta_core::{AreaId, CityId, EvidenceId, IndicatorId, MeasurementId, Role, SectionId, StrategyId, UserId};
use concerta_evaluation::csv_io::{IndicatorRow, MeasurementRow};
use concerta_evaluation::{Direction, Frequency, Level, Point, ReviewState, Status, Unit};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use crate::error::{conflict_on, parse_stored};
use crate::queries::audit::{AuditActor, NewAuditEntry, append};
use crate::queries::areas::check_area;
use crate::queries::outbox::{self, NewMessage, Recipient, Subject};
use crate::tables::{
    area, evidence_file, indicator, indicator_sdg, indicator_section, measurement, measurement_reminder, member, section,
    strategy, user,
};
use crate::{Database, Error, Result};

/// A manual override of an indicator's computed status.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatusOverride {
    /// The status shown instead of the computed one.
    pub status: Status,
    /// Why (required).
    pub reason: String,
    /// Who set it.
    pub by: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// An indicator of a strategy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Indicator {
    /// Its id.
    pub id: IndicatorId,
    /// The city.
    pub city_id: CityId,
    /// The strategy whose framework it belongs to.
    pub strategy_id: StrategyId,
    /// The template key it was made from (empty for indicators made by hand).
    pub key: String,
    /// What a coordinator edits (code, name, level, baseline, target…).
    #[serde(flatten)]
    pub fields: IndicatorFields,
    /// Its place in the framework.
    pub position: i32,
    /// A manual status override, if any.
    pub status_override: Option<StatusOverride>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Everything about an indicator a coordinator edits (already validated).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IndicatorFields {
    /// Short code, unique in the strategy.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: Level,
    /// What it measures.
    pub definition: String,
    /// How it is calculated.
    pub method: String,
    /// Kind of number.
    pub unit: Unit,
    /// What is counted.
    pub unit_label: String,
    /// Which way is progress.
    pub direction: Direction,
    /// Where the data comes from.
    pub data_source: String,
    /// How often it is measured.
    pub frequency: Frequency,
    /// The responsible government area.
    pub area_id: Option<AreaId>,
    /// The baseline (value and date).
    pub baseline: Option<Point>,
    /// The target (value and date).
    pub target: Option<Point>,
    /// Shown on the city's public page.
    pub public: bool,
    /// The strategy sections it measures.
    pub section_ids: Vec<SectionId>,
    /// SDG goals and targets it links to.
    pub sdg: Vec<String>,
}

/// A file kept as a measurement's evidence (the bytes are fetched separately).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EvidenceInfo {
    /// Its id.
    pub id: EvidenceId,
    /// The name it was uploaded with (sanitised).
    pub filename: String,
    /// The type its content was recognised as.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
}

/// An evidence file with its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceFile {
    /// What it is.
    pub info: EvidenceInfo,
    /// The city it belongs to.
    pub city_id: CityId,
    /// The bytes.
    pub data: Vec<u8>,
}

/// A file to keep as evidence (already checked: size, type recognised from the content).
#[derive(Clone, Debug)]
pub struct NewEvidence {
    /// Sanitised file name.
    pub filename: String,
    /// The recognised type.
    pub content_type: String,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// A measurement of an indicator.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measurement {
    /// Its id.
    pub id: MeasurementId,
    /// The indicator.
    pub indicator_id: IndicatorId,
    /// The city.
    pub city_id: CityId,
    /// The date the value refers to.
    pub measured_on: NaiveDate,
    /// The value.
    pub value: f64,
    /// A note (evidence in words).
    pub note: String,
    /// An evidence link.
    pub link: Option<String>,
    /// An evidence file.
    pub evidence: Option<EvidenceInfo>,
    /// Who reported it.
    pub reported_by: Option<UserId>,
    /// Their name.
    pub reporter_name: Option<String>,
    /// When.
    pub reported_at: DateTime<Utc>,
    /// The coordinator's review.
    pub review: ReviewState,
    /// Why it was returned.
    pub review_reason: Option<String>,
    /// Who reviewed it.
    pub reviewed_by: Option<UserId>,
    /// When.
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// Input for [`Database::create_measurement`] (already validated against the indicator).
#[derive(Clone, Debug)]
pub struct NewMeasurement {
    /// The indicator.
    pub indicator: IndicatorId,
    /// The date the value refers to.
    pub measured_on: NaiveDate,
    /// The value.
    pub value: f64,
    /// A note.
    pub note: String,
    /// An evidence link.
    pub link: Option<String>,
    /// An evidence file.
    pub evidence: Option<NewEvidence>,
    /// Who reports it.
    pub reported_by: UserId,
}

/// A reminder written by [`Database::queue_measurement_reminders`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueuedReminder {
    /// The indicator.
    pub indicator_id: IndicatorId,
    /// The due date that passed unmet.
    pub due_on: NaiveDate,
    /// Who it goes to.
    pub recipients: Vec<String>,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Rows that made something new.
    pub created: usize,
    /// Rows that changed something that was there (an indicator with the same code).
    pub updated: usize,
}

fn point(value: Option<f64>, date: Option<NaiveDate>) -> Option<Point> {
    Some(Point::new(date?, value?))
}

fn indicator_from(m: indicator::Model, sections: Vec<SectionId>, sdg: Vec<String>) -> Result<Indicator> {
    let status_override = match (m.status_override.as_deref(), m.override_at) {
        (Some(status), Some(at)) => Some(StatusOverride {
            status: parse_stored("status", status)?,
            reason: m.override_reason.clone().unwrap_or_default(),
            by: m.override_by.map(UserId::from),
            at,
        }),
        _ => None,
    };
    Ok(Indicator {
        id: m.id.into(),
        city_id: m.city_id.into(),
        strategy_id: m.strategy_id.into(),
        key: m.key,
        fields: IndicatorFields {
            code: m.code,
            name: m.name,
            level: parse_stored("level", &m.level)?,
            definition: m.definition,
            method: m.method,
            unit: parse_stored("unit", &m.unit)?,
            unit_label: m.unit_label,
            direction: parse_stored("direction", &m.direction)?,
            data_source: m.data_source,
            frequency: parse_stored("frequency", &m.frequency)?,
            area_id: m.area_id.map(AreaId::from),
            baseline: point(m.baseline_value, m.baseline_date),
            target: point(m.target_value, m.target_date),
            public: m.public,
            section_ids: sections,
            sdg,
        },
        position: m.position,
        status_override,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Loads the sections and SDG links of `models` and builds the indicators, in order.
async fn with_links(conn: &impl ConnectionTrait, models: Vec<indicator::Model>) -> Result<Vec<Indicator>> {
    let ids: Vec<uuid::Uuid> = models.iter().map(|m| m.id).collect();
    let mut sections: HashMap<uuid::Uuid, Vec<SectionId>> = HashMap::new();
    let mut sdg: HashMap<uuid::Uuid, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for row in indicator_section::Entity::find()
            .filter(indicator_section::Column::IndicatorId.is_in(chunk.to_vec()))
            .all(conn)
            .await?
        {
            sections.entry(row.indicator_id).or_default().push(row.section_id.into());
        }
        for row in indicator_sdg::Entity::find().filter(indicator_sdg::Column::IndicatorId.is_in(chunk.to_vec())).all(conn).await? {
            sdg.entry(row.indicator_id).or_default().push(row.code);
        }
    }
    models
        .into_iter()
        .map(|m| {
            let mut codes = sdg.remove(&m.id).unwrap_or_default();
            codes.sort_by(|a, b| concerta_evaluation::validate::sdg_order(a).cmp(&concerta_evaluation::validate::sdg_order(b)));
            let mut secs = sections.remove(&m.id).unwrap_or_default();
            secs.sort();
            indicator_from(m, secs, codes)
        })
        .collect()
}

/// Checks that every section belongs to `strategy`.
async fn check_sections(conn: &impl ConnectionTrait, strategy: StrategyId, sections: &[SectionId]) -> Result<()> {
    if sections.is_empty() {
        return Ok(());
    }
    let ids: Vec<uuid::Uuid> = sections.iter().map(|s| s.uuid()).collect();
    let found = section::Entity::find()
        .filter(section::Column::Id.is_in(ids))
        .filter(section::Column::StrategyId.eq(strategy.uuid()))
        .all(conn)
        .await?;
    let found: HashSet<uuid::Uuid> = found.into_iter().map(|s| s.id).collect();
    if sections.iter().any(|s| !found.contains(&s.uuid())) {
        return Err(Error::invalid("section_ids", "lists a section that is not part of this strategy"));
    }
    Ok(())
}

/// Replaces the section and SDG links of `id`.
async fn write_links(conn: &impl ConnectionTrait, id: IndicatorId, fields: &IndicatorFields) -> Result<()> {
    indicator_section::Entity::delete_many().filter(indicator_section::Column::IndicatorId.eq(id.uuid())).exec(conn).await?;
    indicator_sdg::Entity::delete_many().filter(indicator_sdg::Column::IndicatorId.eq(id.uuid())).exec(conn).await?;
    let mut sections = fields.section_ids.clone();
    sections.sort();
    sections.dedup();
    if !sections.is_empty() {
        indicator_section::Entity::insert_many(sections.iter().map(|s| indicator_section::ActiveModel {
            indicator_id: Set(id.uuid()),
            section_id: Set(s.uuid()),
        }))
        .exec_without_returning(conn)
        .await?;
    }
    let mut codes = fields.sdg.clone();
    codes.sort();
    codes.dedup();
    if !codes.is_empty() {
        indicator_sdg::Entity::insert_many(codes.iter().map(|c| indicator_sdg::ActiveModel {
            indicator_id: Set(id.uuid()),
            code: Set(c.clone()),
        }))
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

fn set_fields(model: &mut indicator::ActiveModel, f: &IndicatorFields) {
    model.code = Set(f.code.clone());
    model.name = Set(f.name.clone());
    model.level = Set(f.level.as_str().to_owned());
    model.definition = Set(f.definition.clone());
    model.method = Set(f.method.clone());
    model.unit = Set(f.unit.as_str().to_owned());
    model.unit_label = Set(f.unit_label.clone());
    model.direction = Set(f.direction.as_str().to_owned());
    model.data_source = Set(f.data_source.clone());
    model.frequency = Set(f.frequency.as_str().to_owned());
    model.area_id = Set(f.area_id.map(AreaId::uuid));
    model.baseline_value = Set(f.baseline.map(|p| p.value));
    model.baseline_date = Set(f.baseline.map(|p| p.date));
    model.target_value = Set(f.target.map(|p| p.value));
    model.target_date = Set(f.target.map(|p| p.date));
    model.public = Set(f.public);
}

async fn next_position(conn: &impl ConnectionTrait, strategy: StrategyId) -> Result<i32> {
    Ok(indicator::Entity::find()
        .filter(indicator::Column::StrategyId.eq(strategy.uuid()))
        .order_by_desc(indicator::Column::Position)
        .one(conn)
        .await?
        .map(|m| m.position + 1)
        .unwrap_or(0))
}

/// Inserts an indicator (links included) in the caller's transaction.
async fn insert_indicator(
    conn: &impl ConnectionTrait,
    city: CityId,
    strategy: StrategyId,
    key: &str,
    fields: &IndicatorFields,
    position: i32,
) -> Result<indicator::Model> {
    let now = crate::now();
    let id = IndicatorId::new();
    let mut model = indicator::ActiveModel {
        id: Set(id.uuid()),
        city_id: Set(city.uuid()),
        strategy_id: Set(strategy.uuid()),
        key: Set(key.to_owned()),
        position: Set(position),
        status_override: Set(None),
        override_reason: Set(None),
        override_by: Set(None),
        override_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    set_fields(&mut model, fields);
    let model = model.insert(conn).await.map_err(conflict_on("code"))?;
    write_links(conn, id, fields).await?;
    Ok(model)
}

async fn strategy_city(conn: &impl ConnectionTrait, strategy: StrategyId) -> Result<CityId> {
    Ok(strategy::Entity::find_by_id(strategy.uuid()).one(conn).await?.ok_or(Error::NotFound)?.city_id.into())
}

fn measurement_from(m: measurement::Model, evidence: Option<EvidenceInfo>, reporter: Option<String>) -> Result<Measurement> {
    Ok(Measurement {
        id: m.id.into(),
        indicator_id: m.indicator_id.into(),
        city_id: m.city_id.into(),
        measured_on: m.measured_on,
        value: m.value,
        note: m.note,
        link: m.link,
        evidence,
        reported_by: m.reported_by.map(UserId::from),
        reporter_name: reporter,
        reported_at: m.reported_at,
        review: parse_stored("review", &m.review)?,
        review_reason: m.review_reason,
        reviewed_by: m.reviewed_by.map(UserId::from),
        reviewed_at: m.reviewed_at,
    })
}

/// Loads evidence infos and reporter names for `models`.
async fn measurements_with_details(conn: &impl ConnectionTrait, models: Vec<measurement::Model>) -> Result<Vec<Measurement>> {
    let evidence_ids: Vec<uuid::Uuid> = models.iter().filter_map(|m| m.evidence_id).collect();
    let user_ids: Vec<uuid::Uuid> = models.iter().filter_map(|m| m.reported_by).collect();
    let mut evidence: HashMap<uuid::Uuid, EvidenceInfo> = HashMap::new();
    for chunk in evidence_ids.chunks(500) {
        use sea_orm::QuerySelect;
        let rows: Vec<(uuid::Uuid, String, String, i64)> = evidence_file::Entity::find()
            .select_only()
            .column(evidence_file::Column::Id)
            .column(evidence_file::Column::Filename)
            .column(evidence_file::Column::ContentType)
            .column(evidence_file::Column::Size)
            .filter(evidence_file::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(conn)
            .await?;
        for (id, filename, content_type, size) in rows {
            evidence.insert(id, EvidenceInfo { id: id.into(), filename, content_type, size });
        }
    }
    let mut names: HashMap<uuid::Uuid, String> = HashMap::new();
    for chunk in user_ids.chunks(500) {
        for u in user::Entity::find().filter(user::Column::Id.is_in(chunk.to_vec())).all(conn).await? {
            names.insert(u.id, u.name);
        }
    }
    models
        .into_iter()
        .map(|m| {
            let e = m.evidence_id.and_then(|id| evidence.get(&id).cloned());
            let n = m.reported_by.and_then(|id| names.get(&id).cloned());
            measurement_from(m, e, n)
        })
        .collect()
}

impl Database {
    /// Creates an indicator in `strategy`'s framework, at the end. [`Error::Conflict`] on
    /// `code` when the strategy has one with that code; [`Error::Invalid`] on `area_id` or
    /// `section_ids` for an area or section that is not the strategy's city's.
    #[tracing::instrument(skip_all)]
    pub async fn create_indicator(&self, strategy: StrategyId, fields: IndicatorFields) -> Result<Indicator> {
        let fields = &fields;
        self.transaction(|tx| async move {
            let city = strategy_city(&*tx, strategy).await?;
            check_area(&*tx, city, fields.area_id).await?;
            check_sections(&*tx, strategy, &fields.section_ids).await?;
            let position = next_position(&*tx, strategy).await?;
            let model = insert_indicator(&*tx, city, strategy, "", fields, position).await?;
            Ok(with_links(&*tx, vec![model]).await?.remove(0))
        })
        .await
    }

    /// Makes the seed's indicator table (16 indicators at three levels, named in `locale`)
    /// the framework of `strategy`, each linked to the strategy's sections of its template
    /// keys. [`Error::Conflict`] on `code` when the strategy already has one of the codes.
    #[tracing::instrument(skip_all)]
    pub async fn create_indicators_from_template(&self, strategy: StrategyId, locale: concerta_core::Locale) -> Result<Vec<Indicator>> {
        self.transaction(|tx| async move {
            let city = strategy_city(&*tx, strategy).await?;
            let sections: HashMap<String, SectionId> = section::Entity::find()
                .filter(section::Column::StrategyId.eq(strategy.uuid()))
                .all(&*tx)
                .await?
                .into_iter()
                .map(|s| (s.key, s.id.into()))
                .collect();
            let mut position = next_position(&*tx, strategy).await?;
            let mut models = Vec::new();
            for t in concerta_evaluation::template::indicators() {
                let fields = IndicatorFields {
                    code: t.code.to_owned(),
                    name: t.name.get(locale).to_owned(),
                    level: t.level,
                    definition: t.definition.get(locale).to_owned(),
                    method: t.method.get(locale).to_owned(),
                    unit: t.unit,
                    unit_label: t.unit_label.get(locale).to_owned(),
                    direction: t.direction,
                    data_source: t.data_source.get(locale).to_owned(),
                    frequency: t.frequency,
                    area_id: None,
                    baseline: None,
                    target: None,
                    public: false,
                    section_ids: t.sections.iter().filter_map(|k| sections.get(*k).copied()).collect(),
                    sdg: t.sdg.iter().map(|c| (*c).to_owned()).collect(),
                };
                models.push(insert_indicator(&*tx, city, strategy, t.key, &fields, position).await?);
                position += 1;
            }
            with_links(&*tx, models).await
        })
        .await
    }

    /// The indicator `id`.
    #[tracing::instrument(skip_all)]
    pub async fn get_indicator(&self, id: IndicatorId) -> Result<Indicator> {
        let model = indicator::Entity::find_by_id(id.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?;
        Ok(with_links(&self.conn, vec![model]).await?.remove(0))
    }

    /// The indicators of `strategy`, in framework order.
    #[tracing::instrument(skip_all)]
    pub async fn list_indicators(&self, strategy: StrategyId) -> Result<Vec<Indicator>> {
        let models = indicator::Entity::find()
            .filter(indicator::Column::StrategyId.eq(strategy.uuid()))
            .order_by_asc(indicator::Column::Position)
            .order_by_asc(indicator::Column::Id)
            .all(&self.conn)
            .await?;
        with_links(&self.conn, models).await
    }

    /// Replaces every editable field of indicator `id`. Same checks as
    /// [`Database::create_indicator`].
    #[tracing::instrument(skip_all)]
    pub async fn update_indicator(&self, id: IndicatorId, fields: IndicatorFields) -> Result<Indicator> {
        let fields = &fields;
        self.transaction(|tx| async move {
            let found = indicator::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            check_area(&*tx, found.city_id.into(), fields.area_id).await?;
            check_sections(&*tx, found.strategy_id.into(), &fields.section_ids).await?;
            let mut model: indicator::ActiveModel = found.into();
            set_fields(&mut model, fields);
            model.updated_at = Set(crate::now());
            let model = model.update(&*tx).await.map_err(conflict_on("code"))?;
            write_links(&*tx, id, fields).await?;
            Ok(with_links(&*tx, vec![model]).await?.remove(0))
        })
        .await
    }

    /// Sets (or with `None` clears) the manual status override of indicator `id`, by `by`;
    /// the city's audit log records it in the same transaction.
    #[tracing::instrument(skip_all)]
    pub async fn set_status_override(&self, id: IndicatorId, over: Option<(Status, String)>, by: UserId) -> Result<Indicator> {
        let over = &over;
        self.transaction(|tx| async move {
            let found = indicator::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let entry = NewAuditEntry::new(concerta_core::AuditAction::IndicatorStatusSet, AuditActor::User(by))
                .city(found.city_id.into())
                .target("indicator", id)
                .details(serde_json::json!({
                    "code": found.code,
                    "status": over.as_ref().map(|(s, _)| s.as_str()),
                    "reason": over.as_ref().map(|(_, r)| r),
                    "previous": found.status_override,
                }));
            append(&*tx, &entry).await?;
            let mut model: indicator::ActiveModel = found.into();
            let now = crate::now();
            match over {
                Some((status, reason)) => {
                    model.status_override = Set(Some(status.as_str().to_owned()));
                    model.override_reason = Set(Some(reason.clone()));
                    model.override_by = Set(Some(by.uuid()));
                    model.override_at = Set(Some(now));
                }
                None => {
                    model.status_override = Set(None);
                    model.override_reason = Set(None);
                    model.override_by = Set(None);
                    model.override_at = Set(None);
                }
            }
            model.updated_at = Set(now);
            let model = model.update(&*tx).await?;
            Ok(with_links(&*tx, vec![model]).await?.remove(0))
        })
        .await
    }

    /// Deletes indicator `id` with its measurements and their evidence files.
    #[tracing::instrument(skip_all)]
    pub async fn delete_indicator(&self, id: IndicatorId) -> Result<()> {
        self.transaction(|tx| async move {
            let evidence: Vec<uuid::Uuid> = measurement::Entity::find()
                .filter(measurement::Column::IndicatorId.eq(id.uuid()))
                .all(&*tx)
                .await?
                .into_iter()
                .filter_map(|m| m.evidence_id)
                .collect();
            let deleted = indicator::Entity::delete_by_id(id.uuid()).exec(&*tx).await?;
            if deleted.rows_affected == 0 {
                return Err(Error::NotFound);
            }
            if !evidence.is_empty() {
                evidence_file::Entity::delete_many().filter(evidence_file::Column::Id.is_in(evidence)).exec(&*tx).await?;
            }
            Ok(())
        })
        .await
    }

    /// Records a measurement (and its evidence file, in the same transaction), pending
    /// review.
    #[tracing::instrument(skip_all)]
    pub async fn create_measurement(&self, new: NewMeasurement) -> Result<Measurement> {
        let new = &new;
        self.transaction(|tx| async move {
            let found = indicator::Entity::find_by_id(new.indicator.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let now = crate::now();
            let evidence_id = match &new.evidence {
                Some(e) => {
                    let id = EvidenceId::new();
                    evidence_file::ActiveModel {
                        id: Set(id.uuid()),
                        city_id: Set(found.city_id),
                        filename: Set(e.filename.clone()),
                        content_type: Set(e.content_type.clone()),
                        size: Set(e.data.len() as i64),
                        sha256: Set(e.sha256.clone()),
                        data: Set(e.data.clone()),
                        uploaded_by: Set(Some(new.reported_by.uuid())),
                        created_at: Set(now),
                    }
                    .insert(&*tx)
                    .await?;
                    Some(id)
                }
                None => None,
            };
            let model = measurement::ActiveModel {
                id: Set(MeasurementId::new().uuid()),
                indicator_id: Set(found.id),
                city_id: Set(found.city_id),
                measured_on: Set(new.measured_on),
                value: Set(new.value),
                note: Set(new.note.clone()),
                link: Set(new.link.clone()),
                evidence_id: Set(evidence_id.map(EvidenceId::uuid)),
                reported_by: Set(Some(new.reported_by.uuid())),
                reported_at: Set(now),
                review: Set(ReviewState::Pending.as_str().to_owned()),
                review_reason: Set(None),
                reviewed_by: Set(None),
                reviewed_at: Set(None),
            }
            .insert(&*tx)
            .await?;
            Ok(measurements_with_details(&*tx, vec![model]).await?.remove(0))
        })
        .await
    }

    /// The measurement `id`.
    #[tracing::instrument(skip_all)]
    pub async fn get_measurement(&self, id: MeasurementId) -> Result<Measurement> {
        let model = measurement::Entity::find_by_id(id.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?;
        Ok(measurements_with_details(&self.conn, vec![model]).await?.remove(0))
    }

    /// The measurements of the indicators of `strategy`, by indicator then date.
    #[tracing::instrument(skip_all)]
    pub async fn list_strategy_measurements(&self, strategy: StrategyId) -> Result<Vec<Measurement>> {
        let ids: Vec<uuid::Uuid> = indicator::Entity::find()
            .filter(indicator::Column::StrategyId.eq(strategy.uuid()))
            .all(&self.conn)
            .await?
            .into_iter()
            .map(|m| m.id)
            .collect();
        let mut models = Vec::new();
        for chunk in ids.chunks(500) {
            models.extend(
                measurement::Entity::find()
                    .filter(measurement::Column::IndicatorId.is_in(chunk.to_vec()))
                    .order_by_asc(measurement::Column::MeasuredOn)
                    .order_by_asc(measurement::Column::ReportedAt)
                    .all(&self.conn)
                    .await?,
            );
        }
        measurements_with_details(&self.conn, models).await
    }

    /// The measurements of indicator `id`, oldest date first.
    #[tracing::instrument(skip_all)]
    pub async fn list_measurements(&self, id: IndicatorId) -> Result<Vec<Measurement>> {
        let models = measurement::Entity::find()
            .filter(measurement::Column::IndicatorId.eq(id.uuid()))
            .order_by_asc(measurement::Column::MeasuredOn)
            .order_by_asc(measurement::Column::ReportedAt)
            .all(&self.conn)
            .await?;
        measurements_with_details(&self.conn, models).await
    }

    /// Records the coordinator's review of measurement `id`: accepted, or returned with a
    /// reason (required then).
    #[tracing::instrument(skip_all)]
    pub async fn review_measurement(&self, id: MeasurementId, review: ReviewState, reason: Option<String>, by: UserId) -> Result<Measurement> {
        if review == ReviewState::Returned && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(Error::invalid("reason", "a returned measurement needs a reason"));
        }
        if review == ReviewState::Pending {
            return Err(Error::invalid("review", "must be accepted or returned"));
        }
        let reason = &reason;
        self.transaction(|tx| async move {
            let found = measurement::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let entry = NewAuditEntry::new(concerta_core::AuditAction::MeasurementReviewed, AuditActor::User(by))
                .city(found.city_id.into())
                .target("measurement", id)
                .details(serde_json::json!({
                    "indicator_id": found.indicator_id,
                    "measured_on": found.measured_on,
                    "value": found.value,
                    "review": review.as_str(),
                    "reason": reason,
                }));
            append(&*tx, &entry).await?;
            let mut model: measurement::ActiveModel = found.into();
            model.review = Set(review.as_str().to_owned());
            model.review_reason = Set(if review == ReviewState::Returned { reason.clone() } else { None });
            model.reviewed_by = Set(Some(by.uuid()));
            model.reviewed_at = Set(Some(crate::now()));
            let model = model.update(&*tx).await?;
            Ok(measurements_with_details(&*tx, vec![model]).await?.remove(0))
        })
        .await
    }

    /// Deletes measurement `id` (and its evidence file).
    #[tracing::instrument(skip_all)]
    pub async fn delete_measurement(&self, id: MeasurementId) -> Result<()> {
        self.transaction(|tx| async move {
            let found = measurement::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            measurement::Entity::delete_by_id(found.id).exec(&*tx).await?;
            if let Some(e) = found.evidence_id {
                evidence_file::Entity::delete_by_id(e).exec(&*tx).await?;
            }
            Ok(())
        })
        .await
    }

    /// The evidence file `id` with its bytes.
    #[tracing::instrument(skip_all)]
    pub async fn get_evidence(&self, id: EvidenceId) -> Result<EvidenceFile> {
        let m = evidence_file::Entity::find_by_id(id.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?;
        Ok(EvidenceFile {
            info: EvidenceInfo { id: m.id.into(), filename: m.filename, content_type: m.content_type, size: m.size },
            city_id: m.city_id.into(),
            data: m.data,
        })
    }

    /// Imports indicators into `strategy` from checked CSV rows: a row whose code exists
    /// updates that indicator, others are created. Areas are matched by name and sections by
    /// template key or title (both ignoring case). All or nothing: the first row that does
    /// not fit is [`Error::Row`] and nothing is written.
    #[tracing::instrument(skip_all)]
    pub async fn import_indicators(&self, strategy: StrategyId, rows: Vec<IndicatorRow>, by: UserId) -> Result<ImportSummary> {
        let rows = &rows;
        self.transaction(|tx| async move {
            let city = strategy_city(&*tx, strategy).await?;
            let areas: HashMap<String, AreaId> = area::Entity::find()
                .filter(area::Column::CityId.eq(city.uuid()))
                .all(&*tx)
                .await?
                .into_iter()
                .map(|a| (a.name.to_lowercase(), a.id.into()))
                .collect();
            let sections: Vec<section::Model> =
                section::Entity::find().filter(section::Column::StrategyId.eq(strategy.uuid())).all(&*tx).await?;
            let existing: HashMap<String, indicator::Model> = indicator::Entity::find()
                .filter(indicator::Column::StrategyId.eq(strategy.uuid()))
                .all(&*tx)
                .await?
                .into_iter()
                .map(|m| (m.code.to_lowercase(), m))
                .collect();
            let mut position = next_position(&*tx, strategy).await?;
            let mut summary = ImportSummary::default();
            for r in rows {
                let row_error = |field: &str, message: String| Error::Row { row: r.row, field: field.to_owned(), message };
                let area_id = if r.area.is_empty() {
                    None
                } else {
                    Some(*areas.get(&r.area.to_lowercase()).ok_or_else(|| row_error("area", format!("`{}` is not an area of this city", r.area)))?)
                };
                let mut section_ids = Vec::new();
                for s in &r.sections {
                    let found = sections
                        .iter()
                        .find(|x| x.key.eq_ignore_ascii_case(s) || x.title.to_lowercase() == s.to_lowercase())
                        .ok_or_else(|| row_error("sections", format!("`{s}` is not a section of this strategy")))?;
                    section_ids.push(SectionId::from(found.id));
                }
                let fields = IndicatorFields {
                    code: r.code.clone(),
                    name: r.name.clone(),
                    level: r.level,
                    definition: r.definition.clone(),
                    method: r.method.clone(),
                    unit: r.unit,
                    unit_label: r.unit_label.clone(),
                    direction: r.direction,
                    data_source: r.data_source.clone(),
                    frequency: r.frequency,
                    area_id,
                    baseline: r.baseline,
                    target: r.target,
                    public: r.public,
                    section_ids,
                    sdg: r.sdg.clone(),
                };
                match existing.get(&r.code.to_lowercase()) {
                    Some(found) => {
                        let id = IndicatorId::from(found.id);
                        let mut model: indicator::ActiveModel = found.clone().into();
                        set_fields(&mut model, &fields);
                        model.updated_at = Set(crate::now());
                        model.update(&*tx).await?;
                        write_links(&*tx, id, &fields).await?;
                        summary.updated += 1;
                    }
                    None => {
                        insert_indicator(&*tx, city, strategy, "", &fields, position).await.map_err(|e| match e {
                            Error::Conflict { field } => row_error(&field, "is already taken".to_owned()),
                            e => e,
                        })?;
                        position += 1;
                        summary.created += 1;
                    }
                }
            }
            let entry = NewAuditEntry::new(concerta_core::AuditAction::Imported, AuditActor::User(by))
                .city(city)
                .target("strategy", strategy)
                .details(serde_json::json!({ "kind": "indicators", "created": summary.created, "updated": summary.updated }));
            append(&*tx, &entry).await?;
            Ok(summary)
        })
        .await
    }

    /// Imports measurements into `strategy`'s indicators (matched by code) from checked CSV
    /// rows, each reported by `by` and pending review. Values are checked against their
    /// indicator's unit and baseline date (and not after `today`). All or nothing, like
    /// [`Database::import_indicators`].
    #[tracing::instrument(skip_all)]
    pub async fn import_measurements(&self, strategy: StrategyId, rows: Vec<MeasurementRow>, by: UserId, today: NaiveDate) -> Result<ImportSummary> {
        let rows = &rows;
        self.transaction(|tx| async move {
            let indicators: HashMap<String, indicator::Model> = indicator::Entity::find()
                .filter(indicator::Column::StrategyId.eq(strategy.uuid()))
                .all(&*tx)
                .await?
                .into_iter()
                .map(|m| (m.code.to_lowercase(), m))
                .collect();
            let now = crate::now();
            let mut models = Vec::with_capacity(rows.len());
            for r in rows {
                let found = indicators.get(&r.indicator_code.to_lowercase()).ok_or_else(|| Error::Row {
                    row: r.row,
                    field: "indicator_code".to_owned(),
                    message: format!("`{}` is not an indicator of this strategy", r.indicator_code),
                })?;
                let unit: Unit = parse_stored("unit", &found.unit)?;
                concerta_evaluation::csv_io::check_measurement_row(r, unit, found.baseline_date, today)
                    .map_err(|e| Error::Row { row: e.row, field: e.field, message: e.message })?;
                models.push(measurement::ActiveModel {
                    id: Set(MeasurementId::new().uuid()),
                    indicator_id: Set(found.id),
                    city_id: Set(found.city_id),
                    measured_on: Set(r.measured_on),
                    value: Set(r.value),
                    note: Set(r.note.clone()),
                    link: Set(r.link.clone()),
                    evidence_id: Set(None),
                    reported_by: Set(Some(by.uuid())),
                    reported_at: Set(now),
                    review: Set(ReviewState::Pending.as_str().to_owned()),
                    review_reason: Set(None),
                    reviewed_by: Set(None),
                    reviewed_at: Set(None),
                });
            }
            let created = models.len();
            for chunk in models.chunks(200) {
                measurement::Entity::insert_many(chunk.to_vec()).exec_without_returning(&*tx).await?;
            }
            let city = strategy_city(&*tx, strategy).await?;
            let entry = NewAuditEntry::new(concerta_core::AuditAction::Imported, AuditActor::User(by))
                .city(city)
                .target("strategy", strategy)
                .details(serde_json::json!({ "kind": "measurements", "created": created }));
            append(&*tx, &entry).await?;
            Ok(ImportSummary { created, updated: 0 })
        })
        .await
    }

    /// Writes one reminder for every indicator whose latest due date passed with no
    /// measurement (see `concerta_evaluation::schedule`), once per indicator and due date:
    /// the unique index on `(indicator_id, due_on)` turns a second attempt (another node,
    /// a restart) into nothing. Recipients are the editors of the indicator's area, or the
    /// city's coordinators when it has no area or the area no editor. Returns the reminders
    /// written now.
    #[tracing::instrument(skip_all)]
    pub async fn queue_measurement_reminders(&self, today: NaiveDate) -> Result<Vec<QueuedReminder>> {
        let candidates = indicator::Entity::find()
            .filter(indicator::Column::BaselineDate.is_not_null())
            .filter(indicator::Column::BaselineDate.lt(today))
            .all(&self.conn)
            .await?;
        // The dates of every counting measurement of the candidates, a few queries in all.
        let mut dates: HashMap<uuid::Uuid, Vec<NaiveDate>> = HashMap::new();
        let ids: Vec<uuid::Uuid> = candidates.iter().map(|i| i.id).collect();
        for chunk in ids.chunks(500) {
            use sea_orm::QuerySelect;
            let rows: Vec<(uuid::Uuid, NaiveDate)> = measurement::Entity::find()
                .select_only()
                .column(measurement::Column::IndicatorId)
                .column(measurement::Column::MeasuredOn)
                .filter(measurement::Column::IndicatorId.is_in(chunk.to_vec()))
                .filter(measurement::Column::Review.ne(ReviewState::Returned.as_str()))
                .into_tuple()
                .all(&self.conn)
                .await?;
            for (id, on) in rows {
                dates.entry(id).or_default().push(on);
            }
        }
        let mut queued = Vec::new();
        for ind in candidates {
            let (Some(baseline), Ok(frequency)) = (ind.baseline_date, ind.frequency.parse::<Frequency>()) else { continue };
            let measured = dates.get(&ind.id).map(Vec::as_slice).unwrap_or_default();
            let schedule = concerta_evaluation::schedule::schedule(baseline, frequency, ind.target_date, measured, today);
            let (Some(due_on), true) = (schedule.last_due, schedule.missing) else { continue };
            let ind = &ind;
            let written = self
                .transaction(|tx| async move {
                    let people = reminder_recipients(&*tx, ind.city_id.into(), ind.area_id.map(AreaId::from)).await?;
                    let recipients: Vec<String> = people.iter().map(|u| u.email.clone()).collect();
                    let inserted = measurement_reminder::Entity::insert(measurement_reminder::ActiveModel {
                        id: Set(uuid::Uuid::now_v7()),
                        indicator_id: Set(ind.id),
                        due_on: Set(due_on),
                        recipients: Set(recipients.len() as i32),
                        created_at: Set(crate::now()),
                    })
                    .on_conflict(
                        OnConflict::columns([measurement_reminder::Column::IndicatorId, measurement_reminder::Column::DueOn])
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(&*tx)
                    .await?;
                    if inserted != 1 {
                        return Ok(None);
                    }
                    // The emails commit with the reminder row: once per due date, none lost.
                    for person in &people {
                        let message = NewMessage {
                            kind: MEASUREMENT_REMINDER_KIND.to_owned(),
                            city: Some(ind.city_id.into()),
                            recipient: Recipient { email: person.email.clone(), name: person.name.clone(), locale: None },
                            payload: serde_json::json!({
                                "indicator": ind.name,
                                "code": ind.code,
                                "due_on": due_on.to_string(),
                                "path": format!("/indicators/{}", ind.id),
                            }),
                            parts: Vec::new(),
                            subject: Some(Subject { kind: "indicator".to_owned(), id: ind.id }),
                        };
                        outbox::enqueue(&tx, &message).await?;
                    }
                    Ok(Some(recipients))
                })
                .await?;
            if let Some(recipients) = written {
                queued.push(QueuedReminder { indicator_id: ind.id.into(), due_on, recipients });
            }
        }
        Ok(queued)
    }

    /// The due dates already reminded for indicator `id`, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn list_reminders(&self, id: IndicatorId) -> Result<Vec<NaiveDate>> {
        Ok(measurement_reminder::Entity::find()
            .filter(measurement_reminder::Column::IndicatorId.eq(id.uuid()))
            .order_by_asc(measurement_reminder::Column::DueOn)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(|r| r.due_on)
            .collect())
    }
}

/// The email addresses a reminder about an indicator of `city` with `area` goes to.
/// The message kind of a measurement reminder (templates in `concerta-notify`).
pub const MEASUREMENT_REMINDER_KIND: &str = "measurement_reminder";

async fn reminder_recipients(conn: &impl ConnectionTrait, city: CityId, area: Option<AreaId>) -> Result<Vec<user::Model>> {
    let members = member::Entity::find().filter(member::Column::CityId.eq(city.uuid())).all(conn).await?;
    let editors: Vec<uuid::Uuid> = members
        .iter()
        .filter(|m| area.is_some_and(|a| m.area_id == Some(a.uuid())) && m.role == Role::Editor.as_str())
        .map(|m| m.user_id)
        .collect();
    let chosen = if editors.is_empty() {
        members.iter().filter(|m| m.role == Role::Coordinator.as_str()).map(|m| m.user_id).collect()
    } else {
        editors
    };
    let mut people = user::Entity::find().filter(user::Column::Id.is_in(chosen)).all(conn).await?;
    people.sort_by(|a, b| a.email.cmp(&b.email));
    Ok(people)
}
