//! Validation of indicators and measurements. Every error names the field as the API (and
//! the CSV header) spells it, so the answer is a 422 that says what to fix.

use chrono::NaiveDate;
use concerta_core::FieldError;

use crate::{Direction, Point, Unit};

/// Checks an indicator's short code: 1 to 20 characters of letters, digits, `.`, `_`, `-`,
/// starting with a letter or digit. Returns it trimmed.
pub fn validate_code(field: &str, code: &str) -> Result<String, FieldError> {
    let code = code.trim();
    let ok = (1..=20).contains(&code.len())
        && code.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && code.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(code.to_owned())
    } else {
        Err(FieldError::new(field, "must be 1 to 20 letters, digits, '.', '_' or '-' (like ORI-1)"))
    }
}

/// Parses an ISO date (`2026-03-31`).
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate, FieldError> {
    text.trim()
        .parse()
        .map_err(|_| FieldError::new(field, "must be a date written YYYY-MM-DD"))
}

/// Parses a number written plainly (`12.5`, `-3`, `1e6`); a unit or a thousands separator
/// in the text (`12%`, `1,000`) is refused, naming the field.
pub fn parse_number(field: &str, text: &str) -> Result<f64, FieldError> {
    let text = text.trim();
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(FieldError::new(field, "must be a plain number, without a unit or thousands separator (like 12.5)")),
    }
}

/// Checks that `value` is a possible value of `unit`: a percentage between 0 and 100, a
/// count that is a whole number of 0 or more, an amount of 0 or more, any finite number.
pub fn check_value(field: &str, unit: Unit, value: f64) -> Result<f64, FieldError> {
    if !value.is_finite() {
        return Err(FieldError::new(field, "must be a finite number"));
    }
    match unit {
        Unit::Percent if !(0.0..=100.0).contains(&value) => {
            Err(FieldError::new(field, "is a percentage: it must be between 0 and 100"))
        }
        Unit::Count if value < 0.0 || value.fract() != 0.0 => {
            Err(FieldError::new(field, "is a count: it must be a whole number of 0 or more"))
        }
        Unit::Currency if value < 0.0 => Err(FieldError::new(field, "is an amount: it must be 0 or more")),
        _ => Ok(value),
    }
}

/// Checks an answer to a baseline question: a level is a whole number from 0 to 4, a
/// percentage lies between 0 and 100, a number is 0 or more.
pub fn check_answer(field: &str, kind: crate::QuestionKind, value: f64) -> Result<f64, FieldError> {
    use crate::QuestionKind;
    let ok = value.is_finite()
        && match kind {
            QuestionKind::Scale => (0.0..=4.0).contains(&value) && value.fract() == 0.0,
            QuestionKind::Percent => (0.0..=100.0).contains(&value),
            QuestionKind::Number => value >= 0.0,
        };
    if ok {
        return Ok(value);
    }
    Err(FieldError::new(
        field,
        match kind {
            QuestionKind::Scale => "must be a level from 0 to 4",
            QuestionKind::Percent => "must be a percentage between 0 and 100",
            QuestionKind::Number => "must be a number of 0 or more",
        },
    ))
}

/// Checks an optional value/date pair: both or neither.
pub fn pair(value_field: &str, date_field: &str, value: Option<f64>, date: Option<NaiveDate>) -> Result<Option<Point>, FieldError> {
    match (value, date) {
        (Some(value), Some(date)) => Ok(Some(Point::new(date, value))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(FieldError::new(date_field, "is required with a value")),
        (None, Some(_)) => Err(FieldError::new(value_field, "is required with a date")),
    }
}

/// Checks an indicator's baseline and target against its unit and direction: values fit
/// the unit, the target comes after the baseline, and the target lies in the desired
/// direction from the baseline (above it when higher is better, below it when lower is).
pub fn check_indicator(unit: Unit, direction: Direction, baseline: Option<Point>, target: Option<Point>) -> Result<(), FieldError> {
    if let Some(b) = baseline {
        check_value("baseline_value", unit, b.value)?;
    }
    if let Some(t) = target {
        check_value("target_value", unit, t.value)?;
    }
    if let (Some(b), Some(t)) = (baseline, target) {
        if t.date <= b.date {
            return Err(FieldError::new("target_date", "must be after the baseline date"));
        }
        match direction {
            Direction::HigherIsBetter if t.value <= b.value => {
                return Err(FieldError::new(
                    "target_value",
                    "must be above the baseline value: higher is better for this indicator",
                ));
            }
            Direction::LowerIsBetter if t.value >= b.value => {
                return Err(FieldError::new(
                    "target_value",
                    "must be below the baseline value: lower is better for this indicator",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks a measurement: its value fits the unit, it is not dated before the indicator's
/// baseline, nor after `today`.
pub fn check_measurement(unit: Unit, baseline_date: Option<NaiveDate>, date: NaiveDate, value: f64, today: NaiveDate) -> Result<(), FieldError> {
    check_value("value", unit, value)?;
    if let Some(baseline) = baseline_date {
        if date < baseline {
            return Err(FieldError::new("measured_on", format!("must not be before the baseline date ({baseline})")));
        }
    }
    if date > today {
        return Err(FieldError::new("measured_on", "must not be in the future"));
    }
    Ok(())
}

/// Checks the SDG goals and targets an indicator links to; returns them trimmed, sorted,
/// without duplicates.
pub fn check_sdg(field: &str, codes: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::with_capacity(codes.len());
    for code in codes {
        let code = code.trim();
        if !crate::sdg::is_known(code) {
            return Err(FieldError::new(field, format!("`{code}` is not an SDG goal (1–17) or target (like 11.3)")));
        }
        out.push(code.to_owned());
    }
    out.sort_by(|a, b| sdg_order(a).cmp(&sdg_order(b)));
    out.dedup();
    Ok(out)
}

/// Sorts SDG codes as the agenda lists them (2 before 11, 11.3 before 11.a).
pub fn sdg_order(code: &str) -> (u8, u8, String) {
    let mut parts = code.splitn(2, '.');
    let goal = parts.next().and_then(|g| g.parse().ok()).unwrap_or(u8::MAX);
    match parts.next() {
        None => (goal, 0, String::new()),
        Some(t) => match t.parse::<u8>() {
            Ok(n) => (goal, 1, format!("{n:03}")),
            Err(_) => (goal, 2, t.to_owned()),
        },
    }
}

/// Checks an evidence link: an `http://` or `https://` URL of at most 2,000 characters.
pub fn check_link(field: &str, link: &str) -> Result<String, FieldError> {
    let link = link.trim();
    let lower = link.to_ascii_lowercase();
    let has_host = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !has_host || link.len() > 2000 || link.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(field, "must be a web address starting with https:// or http://"));
    }
    Ok(link.to_owned())
}

/// Checks a free text (a definition, a note, a reason): at most `max` characters, no control
/// characters other than line breaks and tabs. Returns it trimmed.
pub fn check_text(field: &str, text: &str, max: usize) -> Result<String, FieldError> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn values_fit_their_unit() {
        assert!(check_value("value", Unit::Percent, 42.5).is_ok());
        assert_eq!(check_value("value", Unit::Percent, 120.0).unwrap_err().field, "value");
        assert!(check_value("value", Unit::Percent, -1.0).is_err());
        assert!(check_value("value", Unit::Count, 3.0).is_ok());
        assert!(check_value("value", Unit::Count, 2.5).unwrap_err().message.contains("whole number"));
        assert!(check_value("value", Unit::Currency, -10.0).is_err());
        assert!(check_value("value", Unit::Number, -10.0).is_ok());
        assert!(check_value("value", Unit::Number, f64::NAN).is_err());
    }

    #[test]
    fn numbers_are_plain() {
        assert_eq!(parse_number("value", " 12.5 ").unwrap(), 12.5);
        for bad in ["12%", "1,000", "doce", "", "NaN", "inf"] {
            assert_eq!(parse_number("value", bad).unwrap_err().field, "value", "{bad}");
        }
    }

    #[test]
    fn targets_lie_in_the_desired_direction() {
        let b = Some(Point::new(d("2024-01-01"), 50.0));
        let up = Some(Point::new(d("2030-01-01"), 80.0));
        let down = Some(Point::new(d("2030-01-01"), 20.0));
        assert!(check_indicator(Unit::Percent, Direction::HigherIsBetter, b, up).is_ok());
        assert!(check_indicator(Unit::Percent, Direction::LowerIsBetter, b, down).is_ok());
        let e = check_indicator(Unit::Percent, Direction::HigherIsBetter, b, down).unwrap_err();
        assert_eq!(e.field, "target_value");
        let e = check_indicator(Unit::Percent, Direction::LowerIsBetter, b, up).unwrap_err();
        assert_eq!(e.field, "target_value");
        let early = Some(Point::new(d("2023-01-01"), 80.0));
        assert_eq!(check_indicator(Unit::Percent, Direction::HigherIsBetter, b, early).unwrap_err().field, "target_date");
        let too_big = Some(Point::new(d("2030-01-01"), 180.0));
        assert_eq!(check_indicator(Unit::Percent, Direction::HigherIsBetter, b, too_big).unwrap_err().field, "target_value");
        assert_eq!(pair("baseline_value", "baseline_date", Some(1.0), None).unwrap_err().field, "baseline_date");
    }

    #[test]
    fn measurements_come_after_the_baseline() {
        let today = d("2026-06-01");
        assert!(check_measurement(Unit::Count, Some(d("2024-01-01")), d("2025-01-01"), 3.0, today).is_ok());
        let e = check_measurement(Unit::Count, Some(d("2024-01-01")), d("2023-12-31"), 3.0, today).unwrap_err();
        assert_eq!(e.field, "measured_on");
        assert_eq!(check_measurement(Unit::Count, None, d("2026-06-02"), 3.0, today).unwrap_err().field, "measured_on");
        assert_eq!(check_measurement(Unit::Count, None, d("2026-01-02"), 3.5, today).unwrap_err().field, "value");
    }

    #[test]
    fn answers() {
        use crate::QuestionKind;
        assert!(check_answer("a", QuestionKind::Scale, 3.0).is_ok());
        assert!(check_answer("a", QuestionKind::Scale, 3.5).is_err());
        assert!(check_answer("a", QuestionKind::Scale, 5.0).is_err());
        assert!(check_answer("a", QuestionKind::Percent, 12.5).is_ok());
        assert_eq!(check_answer("a", QuestionKind::Percent, 101.0).unwrap_err().field, "a");
        assert!(check_answer("a", QuestionKind::Number, -1.0).is_err());
    }

    #[test]
    fn codes_links_and_sdg() {
        assert_eq!(validate_code("code", " ORI-1 ").unwrap(), "ORI-1");
        for bad in ["", "-x", "a b", "ñ", &"x".repeat(21)] {
            assert!(validate_code("code", bad).is_err(), "{bad}");
        }
        assert!(check_link("link", "https://example.org/report.pdf").is_ok());
        for bad in ["javascript:alert(1)", "ftp://x", "https://", "https:///x", "http://a b"] {
            assert_eq!(check_link("link", bad).unwrap_err().field, "link", "{bad}");
        }
        let codes = check_sdg("sdg", &["17.17".into(), "11.a".into(), "11.3".into(), "2".into(), "11.3".into()]).unwrap();
        assert_eq!(codes, ["2", "11.3", "11.a", "17.17"]);
        assert_eq!(check_sdg("sdg", &["18.1".into()]).unwrap_err().field, "sdg");
        assert!(check_text("note", "a\nb", 10).is_ok());
        assert!(check_text("note", "a\u{7}", 10).is_err());
        assert!(check_text("note", "abcdefghijk", 10).is_err());
    }
}
