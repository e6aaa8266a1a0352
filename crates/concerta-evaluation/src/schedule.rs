//! When measurements fall due.
//!
//! An indicator measured at a [`Frequency`] from its baseline date falls due at every
//! period's end: baseline + 1 period, + 2 periods… A due date D is **met** by a measurement
//! (pending or accepted; a returned one does not count) dated after the previous due date
//! and no later than D. A due date that has passed unmet is **missing**: its reminder goes
//! out once, the day after. Only the latest due date is ever reminded (a framework created
//! with a baseline years ago does not send a reminder for every year since), and none after
//! the period that contains the target date.

use chrono::{Months, NaiveDate};
use serde::Serialize;

use crate::Frequency;

/// The `k`-th due date (k ≥ 1) after `baseline`, if it exists.
pub fn due_date(baseline: NaiveDate, frequency: Frequency, k: u32) -> Option<NaiveDate> {
    baseline.checked_add_months(Months::new(frequency.months().checked_mul(k)?))
}

/// Where an indicator stands on its schedule on `today`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Schedule {
    /// The latest due date before `today`, if one has passed.
    pub last_due: Option<NaiveDate>,
    /// Whether that due date is missing (passed with no measurement in its period).
    pub missing: bool,
    /// The next due date on or after `today` (none past the target period).
    pub next_due: Option<NaiveDate>,
}

/// The schedule of an indicator with `baseline` date, `frequency` and optional
/// `target_date`, given the dates of its counting measurements, on `today`.
pub fn schedule(
    baseline: NaiveDate,
    frequency: Frequency,
    target_date: Option<NaiveDate>,
    measured: &[NaiveDate],
    today: NaiveDate,
) -> Schedule {
    // The last due date worth reminding: the one that closes the period holding the target.
    let end = target_date.and_then(|t| {
        (1..=2000).map(|k| due_date(baseline, frequency, k)).find_map(|d| d.filter(|d| *d >= t))
    });
    let mut previous = baseline;
    let mut last_due = None;
    let mut next_due = None;
    for k in 1.. {
        let Some(due) = due_date(baseline, frequency, k) else { break };
        if end.is_some_and(|end| due > end) {
            break;
        }
        if due >= today {
            next_due = Some(due);
            break;
        }
        last_due = Some((previous, due));
        previous = due;
        if k > 10_000 {
            break;
        }
    }
    let missing = last_due.is_some_and(|(from, to)| !measured.iter().any(|m| *m > from && *m <= to));
    Schedule { last_due: last_due.map(|(_, due)| due), missing, next_due }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn due_dates_step_by_the_frequency() {
        assert_eq!(due_date(d("2024-01-31"), Frequency::Monthly, 1), Some(d("2024-02-29")));
        assert_eq!(due_date(d("2024-01-01"), Frequency::Quarterly, 2), Some(d("2024-07-01")));
        assert_eq!(due_date(d("2024-01-01"), Frequency::Biennial, 1), Some(d("2026-01-01")));
    }

    #[test]
    fn missing_until_measured() {
        let base = d("2024-01-01");
        // Before the first due date nothing is missing.
        let s = schedule(base, Frequency::Annual, None, &[], d("2024-06-01"));
        assert_eq!(s, Schedule { last_due: None, missing: false, next_due: Some(d("2025-01-01")) });
        // On the due date itself it is due, not yet missing.
        let s = schedule(base, Frequency::Annual, None, &[], d("2025-01-01"));
        assert_eq!((s.last_due, s.missing), (None, false));
        // The day after, it is missing.
        let s = schedule(base, Frequency::Annual, None, &[], d("2025-01-02"));
        assert_eq!((s.last_due, s.missing, s.next_due), (Some(d("2025-01-01")), true, Some(d("2026-01-01"))));
        // A measurement in the period meets it; one dated in the previous period does not.
        assert!(!schedule(base, Frequency::Annual, None, &[d("2024-12-15")], d("2025-01-02")).missing);
        assert!(schedule(base, Frequency::Annual, None, &[d("2024-01-01")], d("2025-01-02")).missing);
        // Years later only the latest due date counts.
        let s = schedule(base, Frequency::Annual, None, &[], d("2027-03-01"));
        assert_eq!((s.last_due, s.missing), (Some(d("2027-01-01")), true));
    }

    #[test]
    fn nothing_due_past_the_target_period() {
        let base = d("2024-01-01");
        let s = schedule(base, Frequency::Annual, Some(d("2025-06-30")), &[], d("2030-01-01"));
        assert_eq!((s.last_due, s.missing, s.next_due), (Some(d("2026-01-01")), true, None));
    }
}
