//! How the server reads an evaluation framework: each indicator with its status (the Open
//! SDG rule of `concerta-evaluation`, or the manual override), its schedule, and the
//! summaries per level and per responsible area. Shared by the API and the public page.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use concerta_core::{AreaId, IndicatorId};
use concerta_evaluation::status::{Assessment, StatusCounts, assess};
use concerta_evaluation::schedule::{Schedule, schedule};
use concerta_evaluation::{Level, Point, ReviewState, Status};
use concerta_store::{Area, Indicator, Measurement};
use serde::Serialize;

/// Which measurements count for a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counting {
    /// Accepted and pending ones (the city's own view: pending ones are provisional).
    Reported,
    /// Accepted ones only (the public page).
    Accepted,
}

impl Counting {
    fn counts(self, review: ReviewState) -> bool {
        match self {
            Counting::Reported => review != ReviewState::Returned,
            Counting::Accepted => review == ReviewState::Accepted,
        }
    }
}

/// An indicator as read: the stored fields plus what follows from its measurements.
#[derive(Clone, Debug, Serialize)]
pub struct IndicatorReading {
    /// The indicator.
    #[serde(flatten)]
    pub indicator: Indicator,
    /// The status shown: the override when there is one, else the computed one.
    pub status: Status,
    /// Whether `status` is a manual override.
    pub status_overridden: bool,
    /// The rule's result, with its figures.
    pub assessment: Assessment,
    /// Whether the latest value counted is not reviewed yet.
    pub provisional: bool,
    /// Due dates (when the indicator has a baseline date).
    pub schedule: Option<Schedule>,
    /// Measurements by review state.
    pub measurement_counts: MeasurementCounts,
}

/// How many measurements an indicator has in each review state.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct MeasurementCounts {
    /// Pending review.
    pub pending: u32,
    /// Accepted.
    pub accepted: u32,
    /// Returned.
    pub returned: u32,
}

/// Reads `indicator` with its `measurements` (any order; others' are ignored).
pub fn read(indicator: Indicator, measurements: &[Measurement], counting: Counting, today: NaiveDate) -> IndicatorReading {
    let mine: Vec<&Measurement> = measurements.iter().filter(|m| m.indicator_id == indicator.id).collect();
    let mut counts = MeasurementCounts::default();
    for m in &mine {
        match m.review {
            ReviewState::Pending => counts.pending += 1,
            ReviewState::Accepted => counts.accepted += 1,
            ReviewState::Returned => counts.returned += 1,
        }
    }
    let counted: Vec<&Measurement> = mine.iter().copied().filter(|m| counting.counts(m.review)).collect();
    let points: Vec<Point> = counted.iter().map(|m| Point::new(m.measured_on, m.value)).collect();
    let f = &indicator.fields;
    let assessment = assess(f.direction, f.baseline, f.target, &points);
    let provisional = assessment
        .latest
        .is_some_and(|latest| counted.iter().any(|m| m.measured_on == latest.date && m.review == ReviewState::Pending));
    let dates: Vec<NaiveDate> = mine.iter().filter(|m| m.review != ReviewState::Returned).map(|m| m.measured_on).collect();
    let schedule = f.baseline.map(|b| schedule(b.date, f.frequency, f.target.map(|t| t.date), &dates, today));
    let (status, status_overridden) = match &indicator.status_override {
        Some(o) => (o.status, true),
        None => (assessment.status, false),
    };
    IndicatorReading { indicator, status, status_overridden, assessment, provisional, schedule, measurement_counts: counts }
}

/// Reads every indicator of a framework.
pub fn read_all(indicators: Vec<Indicator>, measurements: &[Measurement], counting: Counting, today: NaiveDate) -> Vec<IndicatorReading> {
    indicators.into_iter().map(|i| read(i, measurements, counting, today)).collect()
}

/// The status counts of a framework, overall, per level and per responsible area.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Every indicator.
    pub overall: StatusCounts,
    /// Per level, in the seed's order.
    pub by_level: Vec<LevelSummary>,
    /// Per responsible area (by name; indicators without area last).
    pub by_area: Vec<AreaSummary>,
}

/// One level's counts.
#[derive(Clone, Debug, Serialize)]
pub struct LevelSummary {
    /// The level.
    pub level: Level,
    /// Its counts.
    pub counts: StatusCounts,
}

/// One area's counts.
#[derive(Clone, Debug, Serialize)]
pub struct AreaSummary {
    /// The area (none: indicators without a responsible area).
    pub area_id: Option<AreaId>,
    /// Its name.
    pub area_name: Option<String>,
    /// Its counts.
    pub counts: StatusCounts,
}

/// Summarises `readings` (statuses as shown, overrides included).
pub fn summarize(readings: &[IndicatorReading], areas: &[Area]) -> Summary {
    let mut overall = StatusCounts::default();
    let mut by_level: BTreeMap<Level, StatusCounts> = BTreeMap::new();
    let mut by_area: BTreeMap<Option<AreaId>, StatusCounts> = BTreeMap::new();
    for r in readings {
        overall.add(r.status);
        by_level.entry(r.indicator.fields.level).or_default().add(r.status);
        by_area.entry(r.indicator.fields.area_id).or_default().add(r.status);
    }
    let name = |id: Option<AreaId>| id.and_then(|id| areas.iter().find(|a| a.id == id)).map(|a| a.name.clone());
    let mut by_area: Vec<AreaSummary> =
        by_area.into_iter().map(|(area_id, counts)| AreaSummary { area_id, area_name: name(area_id), counts }).collect();
    by_area.sort_by(|a, b| match (&a.area_name, &b.area_name) {
        (Some(x), Some(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    Summary {
        overall,
        by_level: Level::ALL
            .iter()
            .filter_map(|l| by_level.remove(l).map(|counts| LevelSummary { level: *l, counts }))
            .collect(),
        by_area,
    }
}

/// Today's date (UTC), what schedules and "not in the future" checks use.
pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// The measurements of one indicator, for its chart.
pub fn chart_points(id: IndicatorId, measurements: &[Measurement], counting: Counting) -> Vec<concerta_evaluation::chart::ChartPoint> {
    measurements
        .iter()
        .filter(|m| m.indicator_id == id && counting.counts(m.review))
        .map(|m| concerta_evaluation::chart::ChartPoint {
            point: Point::new(m.measured_on, m.value),
            provisional: m.review == ReviewState::Pending,
        })
        .collect()
}
