//! A roundtable's details as the coordinator types them, checked field by field.
//!
//! Times come either as a wall-clock time in the roundtable's time zone (`2026-12-03T10:00`,
//! what a form sends) or as an instant with an offset (`2026-12-03T15:00:00Z`, what a script
//! sends); they are kept as UTC instants plus the IANA zone name, which the calendar needs.

use chrono::{DateTime, Utc};
use concerta_core::{FieldError, validate_name};
use serde::{Deserialize, Deserializer, Serialize};

/// The longest purpose or agenda accepted, in characters.
pub const MAX_TEXT: usize = 20_000;
/// The longest place or link accepted, in characters.
pub const MAX_LOCATION: usize = 500;
/// Reminders go out this long before the start unless the roundtable says otherwise (24 h).
pub const DEFAULT_REMIND_BEFORE_MINUTES: u32 = 24 * 60;
/// The longest a roundtable may last (a meeting, not a festival): 7 days.
pub const MAX_DURATION_HOURS: i64 = 7 * 24;

/// The fields of a create or change request, as received. On a change, an absent field keeps
/// its value; `capacity: null` removes the limit.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DetailsPatch {
    /// The roundtable's title.
    pub title: Option<String>,
    /// Why it meets.
    pub purpose: Option<String>,
    /// What it will go through, one item a line.
    pub agenda: Option<String>,
    /// Start: wall-clock time in `timezone`, or an instant with an offset.
    pub starts_at: Option<String>,
    /// End, the same forms as `starts_at`.
    pub ends_at: Option<String>,
    /// An IANA time zone name such as `America/Bogota`.
    pub timezone: Option<String>,
    /// The place (address, room).
    pub location: Option<String>,
    /// An online meeting link (http or https).
    pub online_url: Option<String>,
    /// How many people fit; absent or null for no limit.
    #[serde(default, deserialize_with = "present")]
    pub capacity: Option<Option<i64>>,
    /// How long before the start reminders go out, in minutes (default 24 h).
    pub remind_before_minutes: Option<i64>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// When a roundtable meets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Schedule {
    /// Start (UTC instant).
    pub starts_at: DateTime<Utc>,
    /// End (UTC instant), after the start.
    pub ends_at: DateTime<Utc>,
    /// The IANA zone the meeting is held in, as the zone database spells it.
    pub timezone: String,
}

/// A roundtable's checked details.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Details {
    /// Title, trimmed, 1 to 200 characters.
    pub title: String,
    /// Purpose (may be empty).
    pub purpose: String,
    /// Agenda (may be empty).
    pub agenda: String,
    /// When.
    #[serde(flatten)]
    pub schedule: Schedule,
    /// Place (may be empty when there is an online link).
    pub location: String,
    /// Online link, if any.
    pub online_url: Option<String>,
    /// Capacity, at least 1, if limited.
    pub capacity: Option<u32>,
    /// Minutes before the start at which reminders go out.
    pub remind_before_minutes: u32,
}

/// Checks an IANA time zone name and returns the zone database's spelling of it.
pub fn validate_timezone(field: &str, name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    let bad = || FieldError::new(field, "must be an IANA time zone such as America/Bogota or Europe/Madrid");
    if name.is_empty() || name.len() > 64 {
        return Err(bad());
    }
    let tz = jiff::tz::TimeZone::get(name).map_err(|_| bad())?;
    Ok(tz.iana_name().unwrap_or(name).to_owned())
}

/// Parses a time given as an instant with an offset or as a wall-clock time in `tz`.
fn parse_time(field: &str, text: &str, tz: &jiff::tz::TimeZone) -> Result<DateTime<Utc>, FieldError> {
    let text = text.trim();
    let bad = || FieldError::new(field, "must be a date and time such as 2026-12-03T10:00 (in the time zone) or 2026-12-03T15:00:00Z");
    let ts = if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&Utc));
    } else {
        let civil: jiff::civil::DateTime = text.parse().map_err(|_| bad())?;
        civil.to_zoned(tz.clone()).map_err(|_| bad())?.timestamp()
    };
    DateTime::from_timestamp(ts.as_second(), ts.subsec_nanosecond() as u32).ok_or_else(bad)
}

fn text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(value.replace("\r\n", "\n"))
}

fn online_url(value: &str) -> Result<Option<String>, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let bad = || FieldError::new("online_url", "must be an http or https link");
    let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://")).ok_or_else(bad)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || value.chars().count() > MAX_LOCATION
        || value.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>'))
    {
        return Err(bad());
    }
    Ok(Some(value.to_owned()))
}

/// Checks a new roundtable. Every field except `purpose`, `agenda`, `online_url` (or
/// `location`), `capacity` and `remind_before_minutes` is required.
pub fn validate_details(input: &DetailsPatch) -> Result<Details, FieldError> {
    validate_patch(None, input)
}

/// Checks `patch` applied over `current` (or over nothing for a new roundtable) and returns
/// the whole result. Times given without an offset are read in the resulting time zone; a
/// change of zone alone keeps the instants.
pub fn validate_patch(current: Option<&Details>, patch: &DetailsPatch) -> Result<Details, FieldError> {
    let required = |field: &str| FieldError::new(field, "is required");
    let title = match (&patch.title, current) {
        (Some(t), _) => validate_name("title", t)?,
        (None, Some(c)) => c.title.clone(),
        (None, None) => return Err(required("title")),
    };
    let purpose = match (&patch.purpose, current) {
        (Some(p), _) => text("purpose", p, MAX_TEXT)?,
        (None, Some(c)) => c.purpose.clone(),
        (None, None) => String::new(),
    };
    let agenda = match (&patch.agenda, current) {
        (Some(a), _) => text("agenda", a, MAX_TEXT)?,
        (None, Some(c)) => c.agenda.clone(),
        (None, None) => String::new(),
    };
    let timezone = match (&patch.timezone, current) {
        (Some(tz), _) => validate_timezone("timezone", tz)?,
        (None, Some(c)) => c.schedule.timezone.clone(),
        (None, None) => return Err(required("timezone")),
    };
    let tz = jiff::tz::TimeZone::get(&timezone).map_err(|_| FieldError::new("timezone", "unknown time zone"))?;
    let starts_at = match (&patch.starts_at, current) {
        (Some(s), _) => parse_time("starts_at", s, &tz)?,
        (None, Some(c)) => c.schedule.starts_at,
        (None, None) => return Err(required("starts_at")),
    };
    let ends_at = match (&patch.ends_at, current) {
        (Some(s), _) => parse_time("ends_at", s, &tz)?,
        (None, Some(c)) => c.schedule.ends_at,
        (None, None) => return Err(required("ends_at")),
    };
    if ends_at <= starts_at {
        return Err(FieldError::new("ends_at", "must be after the start"));
    }
    if ends_at - starts_at > chrono::Duration::hours(MAX_DURATION_HOURS) {
        return Err(FieldError::new("ends_at", "must be at most 7 days after the start"));
    }
    let location = match (&patch.location, current) {
        (Some(l), _) => text("location", l, MAX_LOCATION)?,
        (None, Some(c)) => c.location.clone(),
        (None, None) => String::new(),
    };
    let online_url = match (&patch.online_url, current) {
        (Some(u), _) => online_url(u)?,
        (None, Some(c)) => c.online_url.clone(),
        (None, None) => None,
    };
    if location.is_empty() && online_url.is_none() {
        return Err(FieldError::new("location", "give a place or an online link"));
    }
    let capacity = match (&patch.capacity, current) {
        (Some(Some(n)), _) if (1..=100_000).contains(n) => Some(*n as u32),
        (Some(Some(_)), _) => return Err(FieldError::new("capacity", "must be at least 1 (or absent for no limit)")),
        (Some(None), _) => None,
        (None, Some(c)) => c.capacity,
        (None, None) => None,
    };
    let remind_before_minutes = match (&patch.remind_before_minutes, current) {
        (Some(m), _) if (0..=60 * 24 * 30).contains(m) => *m as u32,
        (Some(_), _) => {
            return Err(FieldError::new("remind_before_minutes", "must be between 0 and 43200 minutes (30 days)"));
        }
        (None, Some(c)) => c.remind_before_minutes,
        (None, None) => DEFAULT_REMIND_BEFORE_MINUTES,
    };
    Ok(Details {
        title,
        purpose,
        agenda,
        schedule: Schedule { starts_at, ends_at, timezone },
        location,
        online_url,
        capacity,
        remind_before_minutes,
    })
}

/// The wall-clock time of `at` in the IANA zone `timezone` (`2026-12-03T10:00:00`), for
/// forms and emails. Falls back to UTC for a zone the database no longer knows.
pub fn local_time(at: DateTime<Utc>, timezone: &str) -> jiff::civil::DateTime {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let ts = jiff::Timestamp::new(at.timestamp(), at.timestamp_subsec_nanos() as i32).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.to_zoned(tz).datetime()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> DetailsPatch {
        DetailsPatch {
            title: Some(" Mesa de cooperación ".into()),
            agenda: Some("1. Apertura\n2. Acuerdos".into()),
            starts_at: Some("2026-12-03T10:00".into()),
            ends_at: Some("2026-12-03T12:30".into()),
            timezone: Some("America/Bogota".into()),
            location: Some("Alcaldía, Salón 3".into()),
            ..Default::default()
        }
    }

    #[test]
    fn wall_clock_times_are_read_in_the_zone() {
        let d = validate_details(&base()).unwrap();
        assert_eq!(d.title, "Mesa de cooperación");
        assert_eq!(d.schedule.starts_at.to_rfc3339(), "2026-12-03T15:00:00+00:00");
        assert_eq!(d.schedule.ends_at.to_rfc3339(), "2026-12-03T17:30:00+00:00");
        assert_eq!(d.remind_before_minutes, DEFAULT_REMIND_BEFORE_MINUTES);
        assert_eq!(local_time(d.schedule.starts_at, "America/Bogota").to_string(), "2026-12-03T10:00:00");
    }

    #[test]
    fn instants_keep_their_offset() {
        let mut p = base();
        p.starts_at = Some("2026-12-03T10:00:00+01:00".into());
        p.ends_at = Some("2026-12-03T10:00:00Z".into());
        let d = validate_details(&p).unwrap();
        assert_eq!(d.schedule.starts_at.to_rfc3339(), "2026-12-03T09:00:00+00:00");
    }

    #[test]
    fn bad_input_names_the_field() {
        let cases: Vec<(&str, Box<dyn Fn(&mut DetailsPatch)>)> = vec![
            ("timezone", Box::new(|p| p.timezone = Some("Mars/Olympus".into()))),
            ("timezone", Box::new(|p| p.timezone = None)),
            ("ends_at", Box::new(|p| p.ends_at = Some("2026-12-03T09:00".into()))),
            ("ends_at", Box::new(|p| p.ends_at = Some("2026-12-03T10:00".into()))),
            ("starts_at", Box::new(|p| p.starts_at = Some("tomorrow".into()))),
            ("capacity", Box::new(|p| p.capacity = Some(Some(0)))),
            ("title", Box::new(|p| p.title = Some("  ".into()))),
            ("location", Box::new(|p| p.location = Some(String::new()))),
            ("online_url", Box::new(|p| p.online_url = Some("javascript:alert(1)".into()))),
            ("remind_before_minutes", Box::new(|p| p.remind_before_minutes = Some(-5))),
        ];
        for (field, change) in cases {
            let mut p = base();
            change(&mut p);
            assert_eq!(validate_details(&p).unwrap_err().field, field);
        }
    }

    #[test]
    fn a_patch_keeps_what_it_does_not_name() {
        let current = validate_details(&base()).unwrap();
        let patch = DetailsPatch { starts_at: Some("2026-12-03T11:00".into()), ends_at: Some("2026-12-03T13:00".into()), ..Default::default() };
        let next = validate_patch(Some(&current), &patch).unwrap();
        assert_eq!(next.title, current.title);
        assert_eq!(next.schedule.starts_at - current.schedule.starts_at, chrono::Duration::hours(1));
        let bad = DetailsPatch { ends_at: Some("2026-12-03T08:00".into()), ..Default::default() };
        assert_eq!(validate_patch(Some(&current), &bad).unwrap_err().field, "ends_at");
        let online = DetailsPatch { location: Some(String::new()), online_url: Some("https://meet.example.org/abc".into()), ..Default::default() };
        assert_eq!(validate_patch(Some(&current), &online).unwrap().online_url.as_deref(), Some("https://meet.example.org/abc"));
    }

    #[test]
    fn zone_names_are_canonical() {
        assert_eq!(validate_timezone("timezone", "europe/madrid").unwrap(), "Europe/Madrid");
        assert_eq!(validate_timezone("timezone", "UTC").unwrap(), "UTC");
    }
}
