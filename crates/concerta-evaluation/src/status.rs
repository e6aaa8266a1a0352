//! The status rule: Open SDG's progress measure.
//!
//! Open SDG (the open-source platform many national and local SDG reporting sites run on)
//! measures progress with a method developed by Statistics Canada after Eurostat's: compare
//! the compound annual growth rate (CAGR) observed since the baseline with the growth rate
//! the target needs. Sources: the Open SDG documentation, "Progress Measurement Methodology
//! for the Sustainable Development Goals" (`docs/progress-methodology.md` of
//! `open-sdg/open-sdg`), and its reference implementation in `sdg-build`
//! (`measure_indicator_progress`, `methodology_1`, `methodology_2`, `get_progress_status`).
//!
//! ```text
//! CAGR(a → b over t years) = (b / a)^(1 / t) − 1
//! observed  = CAGR(baseline → latest value)
//! required  = CAGR(baseline → target, over the years from baseline to target date)
//!
//! with a target:   target reached (in the desired direction)  → target achieved
//!                  R = observed / required
//!                  R ≥ 0.95 on track · 0.60 ≤ R < 0.95 acceleration needed
//!                  0 ≤ R < 0.60 limited progress · R < 0 deterioration
//! without target:  g = observed, negated when lower is better
//!                  g ≥ 1.5% on track · 0.5% ≤ g < 1.5% acceleration needed
//!                  0 ≤ g < 0.5% limited progress · g < 0 deterioration
//! ```
//!
//! Open SDG's details kept here: a baseline or target of zero is replaced by 0.001 (an
//! exponential model cannot start from zero); at least two data points are needed (the
//! baseline and a later measurement), else "no data" (Open SDG says "unable to assess");
//! values must all be positive or all negative (when all are negative the desired direction
//! is flipped), else "no data". Where we differ: Open SDG counts whole years between
//! reference years; a city reports dated measurements, so time is counted in days / 365.25
//! (an annual series dated one year apart gives the same result).

use chrono::NaiveDate;
use serde::Serialize;

use crate::{Direction, Status};

/// The thresholds on R = observed / required growth, for an indicator with a target.
pub const RATIO_ON_TRACK: f64 = 0.95;
/// R at or above which progress was made but acceleration is needed.
pub const RATIO_ACCELERATION: f64 = 0.60;
/// Observed annual growth (in the desired direction) that is on track without a target.
pub const GROWTH_ON_TRACK: f64 = 0.015;
/// Observed annual growth at or above which progress was made without a target.
pub const GROWTH_ACCELERATION: f64 = 0.005;
/// What a zero baseline or target is replaced by.
pub const ZERO_REPLACEMENT: f64 = 0.001;

const DAYS_PER_YEAR: f64 = 365.25;

/// A dated value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Point {
    /// When.
    pub date: NaiveDate,
    /// The value.
    pub value: f64,
}

impl Point {
    /// A point.
    pub fn new(date: NaiveDate, value: f64) -> Self {
        Self { date, value }
    }
}

/// Why an indicator has no status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDataReason {
    /// The indicator has no baseline.
    NoBaseline,
    /// No measurement is dated after the baseline.
    NoMeasurement,
    /// The values change sign (an exponential model cannot follow them).
    MixedSigns,
    /// The target date is not after the baseline date.
    TargetDate,
}

/// The result of the rule, with the figures behind it (the page shows them).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Assessment {
    /// The status.
    pub status: Status,
    /// The latest value used.
    pub latest: Option<Point>,
    /// Observed compound annual growth since the baseline (a fraction: 0.02 = 2% a year).
    pub observed_growth: Option<f64>,
    /// Compound annual growth the target needs, if there is a target.
    pub required_growth: Option<f64>,
    /// observed / required, if there is a target and it is not reached yet.
    pub ratio: Option<f64>,
    /// Why there is no status, when there is none.
    pub no_data: Option<NoDataReason>,
}

impl Assessment {
    fn no_data(reason: NoDataReason, latest: Option<Point>) -> Self {
        Self { status: Status::NoData, latest, observed_growth: None, required_growth: None, ratio: None, no_data: Some(reason) }
    }
}

/// Compound annual growth from `from` to `to` over `years`.
pub fn cagr(from: f64, to: f64, years: f64) -> f64 {
    (to / from).powf(1.0 / years) - 1.0
}

fn years_between(a: NaiveDate, b: NaiveDate) -> f64 {
    (b - a).num_days() as f64 / DAYS_PER_YEAR
}

fn nonzero(v: f64) -> f64 {
    if v == 0.0 { ZERO_REPLACEMENT } else { v }
}

/// The category of a ratio or growth against the (on track, acceleration) thresholds.
fn categorize(value: f64, on_track: f64, acceleration: f64) -> Status {
    if value >= on_track {
        Status::OnTrack
    } else if value >= acceleration {
        Status::AccelerationNeeded
    } else if value >= 0.0 {
        Status::LimitedProgress
    } else {
        Status::Deterioration
    }
}

/// Applies the rule to an indicator: its desired `direction`, its `baseline` and `target`
/// (value and date), and its measurements (any order; the latest one dated after the
/// baseline is used).
pub fn assess(direction: Direction, baseline: Option<Point>, target: Option<Point>, measurements: &[Point]) -> Assessment {
    let latest = measurements
        .iter()
        .copied()
        .filter(|m| m.value.is_finite())
        .max_by(|a, b| a.date.cmp(&b.date));
    let Some(baseline) = baseline.filter(|b| b.value.is_finite()) else {
        return Assessment::no_data(NoDataReason::NoBaseline, latest);
    };
    let Some(latest) = latest.filter(|m| m.date > baseline.date) else {
        return Assessment::no_data(NoDataReason::NoMeasurement, latest);
    };
    if let Some(target) = target {
        if target.date <= baseline.date {
            return Assessment::no_data(NoDataReason::TargetDate, Some(latest));
        }
    }
    // All values on one side of zero; all negative flips the desired direction.
    let values = [Some(baseline.value), Some(latest.value), target.map(|t| t.value)];
    let positive = values.iter().flatten().all(|v| *v >= 0.0);
    let negative = values.iter().flatten().all(|v| *v <= 0.0);
    if !positive && !negative {
        return Assessment::no_data(NoDataReason::MixedSigns, Some(latest));
    }
    let higher_is_better = (direction == Direction::HigherIsBetter) == positive;
    let (base, current) = (nonzero(baseline.value.abs()), latest.value.abs());
    let observed = cagr(base, current, years_between(baseline.date, latest.date));
    match target {
        Some(target) => {
            let goal = nonzero(target.value.abs());
            let reached = if higher_is_better { current >= goal } else { current <= goal };
            let required = cagr(base, goal, years_between(baseline.date, target.date));
            if reached {
                return Assessment {
                    status: Status::TargetAchieved,
                    latest: Some(latest),
                    observed_growth: Some(observed),
                    required_growth: Some(required),
                    ratio: None,
                    no_data: None,
                };
            }
            // A target equal to the baseline needs no growth; not reached means it slipped.
            let ratio = if required == 0.0 { -1.0 } else { observed / required };
            Assessment {
                status: categorize(ratio, RATIO_ON_TRACK, RATIO_ACCELERATION),
                latest: Some(latest),
                observed_growth: Some(observed),
                required_growth: Some(required),
                ratio: Some(ratio),
                no_data: None,
            }
        }
        None => {
            let growth = if higher_is_better { observed } else { -observed };
            Assessment {
                status: categorize(growth, GROWTH_ON_TRACK, GROWTH_ACCELERATION),
                latest: Some(latest),
                observed_growth: Some(observed),
                required_growth: None,
                ratio: None,
                no_data: None,
            }
        }
    }
}

/// How many indicators are in each status; the summary per level and per area.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    /// Indicators counted.
    pub total: u32,
    /// Target achieved.
    pub target_achieved: u32,
    /// On track.
    pub on_track: u32,
    /// Acceleration needed.
    pub acceleration_needed: u32,
    /// Limited progress.
    pub limited_progress: u32,
    /// Deterioration.
    pub deterioration: u32,
    /// No data.
    pub no_data: u32,
}

impl StatusCounts {
    /// Counts one more indicator in `status`.
    pub fn add(&mut self, status: Status) {
        self.total += 1;
        *match status {
            Status::TargetAchieved => &mut self.target_achieved,
            Status::OnTrack => &mut self.on_track,
            Status::AccelerationNeeded => &mut self.acceleration_needed,
            Status::LimitedProgress => &mut self.limited_progress,
            Status::Deterioration => &mut self.deterioration,
            Status::NoData => &mut self.no_data,
        } += 1;
    }

    /// The count of `status`.
    pub fn get(&self, status: Status) -> u32 {
        match status {
            Status::TargetAchieved => self.target_achieved,
            Status::OnTrack => self.on_track,
            Status::AccelerationNeeded => self.acceleration_needed,
            Status::LimitedProgress => self.limited_progress,
            Status::Deterioration => self.deterioration,
            Status::NoData => self.no_data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn p(date: &str, value: f64) -> Point {
        Point::new(d(date), value)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    // Worked example 1, higher is better with a target: international cooperation projects
    // 100 on 2020-01-01, target 200 on 2030-01-01: the target needs 2^(1/10) − 1 ≈ 7.18% a
    // year. Two years later (2022-01-01, 731 days):
    #[test]
    fn higher_is_better_with_a_target() {
        let base = Some(p("2020-01-01", 100.0));
        let target = Some(p("2030-01-01", 200.0));
        let at = |v| assess(HigherIsBetter, base, target, &[p("2022-01-01", v)]);

        // 115: 1.15^(1/2.0014) − 1 ≈ 7.23% a year, R ≈ 1.008 → on track.
        let a = at(115.0);
        assert_eq!(a.status, Status::OnTrack);
        assert!(close(a.required_growth.unwrap(), 0.07177), "{a:?}");
        assert!(close(a.observed_growth.unwrap(), 0.07233), "{a:?}");
        assert!(close(a.ratio.unwrap(), 1.0079), "{a:?}");
        // 110: ≈ 4.88% a year, R ≈ 0.68 → acceleration needed.
        let a = at(110.0);
        assert_eq!(a.status, Status::AccelerationNeeded);
        assert!(close(a.ratio.unwrap(), 0.680), "{a:?}");
        // 108: ≈ 3.92% a year, R ≈ 0.546 → limited progress.
        let a = at(108.0);
        assert_eq!(a.status, Status::LimitedProgress);
        assert!(close(a.ratio.unwrap(), 0.546), "{a:?}");
        // 95: fell → deterioration.
        assert_eq!(at(95.0).status, Status::Deterioration);
        // 210: past the target → target achieved.
        assert_eq!(at(210.0).status, Status::TargetAchieved);
        // Exactly the baseline: no growth at all → limited progress (R = 0).
        assert_eq!(at(100.0).status, Status::LimitedProgress);
    }

    // Worked example 2, lower is better: days to answer a cooperation request, 1,000 on
    // 2018-01-01, target 500 on 2030-01-01: the target needs 0.5^(1/12) − 1 ≈ −5.61% a
    // year. Three years later (2021-01-01, 1,096 days):
    #[test]
    fn lower_is_better_with_a_target() {
        let base = Some(p("2018-01-01", 1000.0));
        let target = Some(p("2030-01-01", 500.0));
        let at = |v| assess(LowerIsBetter, base, target, &[p("2021-01-01", v)]);

        // 840: ≈ −5.65% a year, R ≈ 1.006 → on track.
        let a = at(840.0);
        assert_eq!(a.status, Status::OnTrack, "{a:?}");
        assert!(close(a.required_growth.unwrap(), -0.05613), "{a:?}");
        // 850: ≈ −5.27% a year, R ≈ 0.94 → acceleration needed.
        let a = at(850.0);
        assert_eq!(a.status, Status::AccelerationNeeded, "{a:?}");
        assert!(close(a.ratio.unwrap(), 0.939), "{a:?}");
        // 960: ≈ −1.35% a year, R ≈ 0.24 → limited progress.
        assert_eq!(at(960.0).status, Status::LimitedProgress);
        // 1,050: it got worse → deterioration.
        assert_eq!(at(1050.0).status, Status::Deterioration);
        // 480: below the target → target achieved.
        assert_eq!(at(480.0).status, Status::TargetAchieved);
    }

    // Worked example 3, no target: the growth itself is judged (1.5% and 0.5% a year).
    // Baseline 100 on 2020-01-01, measured on 2023-01-01 (1,096 days ≈ 3.0007 years).
    #[test]
    fn without_a_target() {
        let base = Some(p("2020-01-01", 100.0));
        let up = |v| assess(HigherIsBetter, base, None, &[p("2023-01-01", v)]).status;
        assert_eq!(up(106.0), Status::OnTrack); // ≈ 1.96% a year
        assert_eq!(up(103.0), Status::AccelerationNeeded); // ≈ 0.99%
        assert_eq!(up(101.0), Status::LimitedProgress); // ≈ 0.33%
        assert_eq!(up(99.0), Status::Deterioration);
        let down = |v| assess(LowerIsBetter, base, None, &[p("2023-01-01", v)]).status;
        assert_eq!(down(94.0), Status::OnTrack); // ≈ −2.04% a year
        assert_eq!(down(98.0), Status::AccelerationNeeded); // ≈ −0.67%
        assert_eq!(down(106.0), Status::Deterioration);
    }

    // Worked example 4, no data: the rule needs a baseline and a later measurement.
    #[test]
    fn no_data() {
        let base = Some(p("2020-01-01", 100.0));
        let target = Some(p("2030-01-01", 200.0));
        let a = assess(HigherIsBetter, base, target, &[]);
        assert_eq!((a.status, a.no_data), (Status::NoData, Some(NoDataReason::NoMeasurement)));
        // A measurement on (or before) the baseline date is not progress.
        let a = assess(HigherIsBetter, base, target, &[p("2020-01-01", 150.0)]);
        assert_eq!(a.no_data, Some(NoDataReason::NoMeasurement));
        let a = assess(HigherIsBetter, None, target, &[p("2022-01-01", 150.0)]);
        assert_eq!((a.status, a.no_data), (Status::NoData, Some(NoDataReason::NoBaseline)));
        assert_eq!(a.latest, Some(p("2022-01-01", 150.0)), "the latest value is still shown");
        // Values of both signs cannot be followed by an exponential model.
        let a = assess(HigherIsBetter, Some(p("2020-01-01", -5.0)), None, &[p("2022-01-01", 5.0)]);
        assert_eq!(a.no_data, Some(NoDataReason::MixedSigns));
    }

    #[test]
    fn the_latest_measurement_counts_whatever_the_order() {
        let base = Some(p("2020-01-01", 100.0));
        let target = Some(p("2030-01-01", 200.0));
        let a = assess(HigherIsBetter, base, target, &[p("2022-01-01", 115.0), p("2021-01-01", 90.0)]);
        assert_eq!(a.latest, Some(p("2022-01-01", 115.0)));
        assert_eq!(a.status, Status::OnTrack);
    }

    // Open SDG replaces a zero baseline (or target) by 0.001.
    #[test]
    fn zero_baseline_is_replaced() {
        let a = assess(HigherIsBetter, Some(p("2020-01-01", 0.0)), Some(p("2030-01-01", 10.0)), &[p("2025-01-01", 1.0)]);
        // observed: (1/0.001)^(1/5) − 1 ≈ 2.98; required: (10/0.001)^(1/10) − 1 ≈ 1.51; R ≈ 1.97.
        assert_eq!(a.status, Status::OnTrack, "{a:?}");
        let a = assess(LowerIsBetter, Some(p("2020-01-01", 10.0)), Some(p("2030-01-01", 0.0)), &[p("2025-01-01", 9.0)]);
        assert_eq!(a.status, Status::LimitedProgress, "{a:?}");
    }

    // All negative values: the direction flips (a net balance of −50 growing to −100 is
    // worse when higher is better).
    #[test]
    fn all_negative_values_flip_the_direction() {
        let a = assess(HigherIsBetter, Some(p("2020-01-01", -100.0)), None, &[p("2022-01-01", -50.0)]);
        assert_eq!(a.status, Status::OnTrack, "{a:?}");
        let a = assess(HigherIsBetter, Some(p("2020-01-01", -50.0)), None, &[p("2022-01-01", -100.0)]);
        assert_eq!(a.status, Status::Deterioration, "{a:?}");
    }

    #[test]
    fn counts() {
        let mut c = StatusCounts::default();
        for s in [Status::OnTrack, Status::OnTrack, Status::NoData] {
            c.add(s);
        }
        assert_eq!((c.total, c.get(Status::OnTrack), c.get(Status::NoData), c.get(Status::Deterioration)), (3, 2, 1, 0));
    }
}
