//! iCalendar invitations (RFC 5545 objects, RFC 5546 methods), written by hand because the
//! `icalendar` crate has quoted property parameters wrongly (a `CN` such as "Pérez, Ana" must
//! be a quoted string). Small and strict:
//!
//! - lines end in CRLF and are folded at 75 octets, never inside a UTF-8 character;
//! - TEXT values escape `\`, `;`, `,` and newlines; parameter values are quoted when they hold
//!   `:`, `;` or `,`, and a `"` or a newline inside them is encoded with RFC 6868's `^'`/`^n`;
//! - `DTSTART`/`DTEND` carry `TZID` and the calendar carries a `VTIMEZONE` made from the zone
//!   database's transitions around the meeting (UTC meetings are written with `Z` instead).
//!
//! A time change is the same `UID` with `SEQUENCE + 1` and `METHOD:REQUEST`; a cancellation is
//! `METHOD:CANCEL` with `STATUS:CANCELLED` and the sequence bumped too (RFC 5546 §3.2.5).

use chrono::{DateTime, Utc};
use concerta_core::Rsvp;

/// The iTIP method of a calendar object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// An invitation or an update of one.
    Request,
    /// The meeting is cancelled.
    Cancel,
}

impl Method {
    /// The spelling in `METHOD:` and in the MIME `method=` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// A person in the calendar (the organizer or an attendee).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Display name (`CN`).
    pub name: String,
    /// Email address (`mailto:`).
    pub email: String,
}

/// One attendee and their answer so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attendee {
    /// Who.
    pub person: Person,
    /// Their answer (`PARTSTAT`).
    pub rsvp: Rsvp,
}

/// One meeting as a calendar object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `METHOD`.
    pub method: Method,
    /// Stable for the meeting's whole life (`<roundtable id>@<host>`).
    pub uid: String,
    /// 0 for the first invitation, + 1 per significant change (time, cancellation).
    pub sequence: u32,
    /// When this object was made.
    pub dtstamp: DateTime<Utc>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// IANA zone name for `TZID`; `UTC` writes UTC times.
    pub timezone: String,
    /// `SUMMARY`.
    pub summary: String,
    /// `DESCRIPTION`.
    pub description: String,
    /// `LOCATION`, if any.
    pub location: Option<String>,
    /// `URL` (an online meeting link), if any.
    pub url: Option<String>,
    /// `ORGANIZER`.
    pub organizer: Person,
    /// `ATTENDEE`s (usually just the recipient, so invitees do not see each other's addresses).
    pub attendees: Vec<Attendee>,
}

/// The text of `PARTSTAT` for an answer.
pub fn partstat(rsvp: Rsvp) -> &'static str {
    match rsvp {
        Rsvp::Pending => "NEEDS-ACTION",
        Rsvp::Accepted => "ACCEPTED",
        Rsvp::Declined => "DECLINED",
        Rsvp::Tentative => "TENTATIVE",
    }
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("\\n"),
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value (RFC 5545 §3.2, RFC 6868): quoted when it holds `:`, `;` or `,`;
/// `^`, `"` and newlines are caret-encoded; other control characters are dropped.
pub fn param_value(value: &str) -> String {
    let mut inner = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '^' => inner.push_str("^^"),
            '"' => inner.push_str("^'"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => inner.push_str("^n"),
            c if c.is_control() => {}
            c => inner.push(c),
        }
    }
    if inner.contains([':', ';', ',']) { format!("\"{inner}\"") } else { inner }
}

/// Folds one content line at 75 octets (RFC 5545 §3.1) and ends it with CRLF.
fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

fn utc_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

fn to_ts(at: DateTime<Utc>) -> jiff::Timestamp {
    jiff::Timestamp::from_second(at.timestamp()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn offset_text(offset: jiff::tz::Offset) -> String {
    let secs = offset.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.unsigned_abs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if s == 0 { format!("{sign}{h:02}{m:02}") } else { format!("{sign}{h:02}{m:02}{s:02}") }
}

fn civil_stamp(dt: jiff::civil::DateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// The zone, when it is one the calendar should name (anything but UTC and unknown names).
fn named_zone(timezone: &str) -> Option<jiff::tz::TimeZone> {
    if timezone.eq_ignore_ascii_case("UTC") || timezone.eq_ignore_ascii_case("Etc/UTC") {
        return None;
    }
    jiff::tz::TimeZone::get(timezone).ok()
}

/// The `VTIMEZONE` of `timezone` covering a year either side of `[from, to]`: the offset in
/// force before the window, then one `STANDARD`/`DAYLIGHT` observance per transition in it.
fn push_vtimezone(out: &mut String, name: &str, tz: &jiff::tz::TimeZone, from: DateTime<Utc>, to: DateTime<Utc>) {
    let year = jiff::SignedDuration::from_hours(366 * 24);
    let start = to_ts(from).checked_sub(year).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let end = to_ts(to).checked_add(year).unwrap_or(jiff::Timestamp::MAX);
    push_line(out, "BEGIN:VTIMEZONE");
    push_line(out, &format!("TZID:{}", escape_text(name)));
    let first = tz.to_offset_info(start);
    let kind = |dst: bool| if dst { "DAYLIGHT" } else { "STANDARD" };
    let mut before = first.offset();
    let begin_kind = kind(first.dst().is_dst());
    push_line(out, &format!("BEGIN:{begin_kind}"));
    push_line(out, "DTSTART:19700101T000000");
    push_line(out, &format!("TZOFFSETFROM:{}", offset_text(before)));
    push_line(out, &format!("TZOFFSETTO:{}", offset_text(before)));
    push_line(out, &format!("TZNAME:{}", escape_text(first.abbreviation())));
    push_line(out, &format!("END:{begin_kind}"));
    for t in tz.following(start).take_while(|t| t.timestamp() <= end) {
        let k = kind(t.dst().is_dst());
        // DTSTART of an observance is its onset in the local time in force before it.
        let onset = t.timestamp().to_zoned(jiff::tz::TimeZone::fixed(before)).datetime();
        push_line(out, &format!("BEGIN:{k}"));
        push_line(out, &format!("DTSTART:{}", civil_stamp(onset)));
        push_line(out, &format!("TZOFFSETFROM:{}", offset_text(before)));
        push_line(out, &format!("TZOFFSETTO:{}", offset_text(t.offset())));
        push_line(out, &format!("TZNAME:{}", escape_text(t.abbreviation())));
        push_line(out, &format!("END:{k}"));
        before = t.offset();
    }
    push_line(out, "END:VTIMEZONE");
}

fn mailto(email: &str) -> String {
    // Addresses are validated before they get here; drop anything that could break the line.
    let clean: String = email.chars().filter(|c| !c.is_control() && !matches!(c, '"' | ';' | ':' | ',' | ' ')).collect();
    format!("mailto:{clean}")
}

/// Writes the calendar object of `event` (the `.ics` file and the `text/calendar` part).
pub fn write(event: &Event) -> String {
    let mut out = String::new();
    push_line(&mut out, "BEGIN:VCALENDAR");
    push_line(&mut out, "PRODID:-//Concerta//Roundtables//EN");
    push_line(&mut out, "VERSION:2.0");
    push_line(&mut out, "CALSCALE:GREGORIAN");
    push_line(&mut out, &format!("METHOD:{}", event.method.as_str()));
    let zone = named_zone(&event.timezone);
    let name = zone.as_ref().and_then(|z| z.iana_name().map(str::to_owned)).unwrap_or_else(|| event.timezone.clone());
    if let Some(tz) = &zone {
        push_vtimezone(&mut out, &name, tz, event.starts_at, event.ends_at);
    }
    let when = |prop: &str, at: DateTime<Utc>| match &zone {
        Some(tz) => format!("{prop};TZID={}:{}", param_value(&name), civil_stamp(to_ts(at).to_zoned(tz.clone()).datetime())),
        None => format!("{prop}:{}", utc_stamp(at)),
    };
    push_line(&mut out, "BEGIN:VEVENT");
    push_line(&mut out, &format!("UID:{}", escape_text(&event.uid)));
    push_line(&mut out, &format!("SEQUENCE:{}", event.sequence));
    push_line(&mut out, &format!("DTSTAMP:{}", utc_stamp(event.dtstamp)));
    push_line(&mut out, &when("DTSTART", event.starts_at));
    push_line(&mut out, &when("DTEND", event.ends_at));
    push_line(&mut out, &format!("SUMMARY:{}", escape_text(&event.summary)));
    if !event.description.is_empty() {
        push_line(&mut out, &format!("DESCRIPTION:{}", escape_text(&event.description)));
    }
    if let Some(location) = event.location.as_deref().filter(|l| !l.is_empty()) {
        push_line(&mut out, &format!("LOCATION:{}", escape_text(location)));
    }
    if let Some(url) = &event.url {
        push_line(&mut out, &format!("URL:{}", url.chars().filter(|c| !c.is_control()).collect::<String>()));
    }
    push_line(
        &mut out,
        &format!("ORGANIZER;CN={}:{}", param_value(&event.organizer.name), mailto(&event.organizer.email)),
    );
    for a in &event.attendees {
        let rsvp = if event.method == Method::Request { ";RSVP=TRUE" } else { "" };
        push_line(
            &mut out,
            &format!(
                "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;CUTYPE=INDIVIDUAL;PARTSTAT={}{}:{}",
                param_value(&a.person.name),
                partstat(a.rsvp),
                rsvp,
                mailto(&a.person.email)
            ),
        );
    }
    match event.method {
        Method::Request => push_line(&mut out, "STATUS:CONFIRMED"),
        Method::Cancel => push_line(&mut out, "STATUS:CANCELLED"),
    }
    push_line(&mut out, "TRANSP:OPAQUE");
    push_line(&mut out, "END:VEVENT");
    push_line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(method: Method, timezone: &str) -> Event {
        Event {
            method,
            uid: "0191-abc@concerta.example".into(),
            sequence: 2,
            dtstamp: "2026-11-29T12:00:00Z".parse().unwrap(),
            starts_at: "2026-12-03T15:00:00Z".parse().unwrap(),
            ends_at: "2026-12-03T17:30:00Z".parse().unwrap(),
            timezone: timezone.into(),
            summary: "Mesa: cooperación, cultura; y más".into(),
            description: "1. Apertura\n2. Acuerdos \\ cierre".into(),
            location: Some("Alcaldía, Salón 3".into()),
            url: None,
            organizer: Person { name: "Oficina de Relaciones Internacionales".into(), email: "ori@medellin.example".into() },
            attendees: vec![Attendee {
                person: Person { name: "Pérez, Ana".into(), email: "ana@example.org".into() },
                rsvp: Rsvp::Pending,
            }],
        }
    }

    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    #[test]
    fn an_invitation_names_its_zone_and_its_attendee() {
        let ics = write(&event(Method::Request, "America/Bogota"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'), "bare newline in {ics}");
        let lines = unfold(&ics);
        assert!(lines.contains("\r\nMETHOD:REQUEST\r\n"));
        assert!(lines.contains("\r\nSEQUENCE:2\r\n"));
        assert!(lines.contains("\r\nDTSTART;TZID=America/Bogota:20261203T100000\r\n"), "{lines}");
        assert!(lines.contains("\r\nDTEND;TZID=America/Bogota:20261203T123000\r\n"));
        assert!(lines.contains("\r\nTZID:America/Bogota\r\n"));
        assert!(lines.contains("TZOFFSETTO:-0500\r\n"));
        assert!(lines.contains(
            "\r\nATTENDEE;CN=\"Pérez, Ana\";ROLE=REQ-PARTICIPANT;CUTYPE=INDIVIDUAL;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:ana@example.org\r\n"
        ));
        assert!(lines.contains("\r\nSUMMARY:Mesa: cooperación\\, cultura\\; y más\r\n"));
        assert!(lines.contains("\r\nDESCRIPTION:1. Apertura\\n2. Acuerdos \\\\ cierre\r\n"));
        assert!(lines.contains("\r\nSTATUS:CONFIRMED\r\n"));
    }

    #[test]
    fn daylight_saving_zones_get_both_observances() {
        let ics = unfold(&write(&event(Method::Request, "Europe/Madrid")));
        assert!(ics.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"), "{ics}");
        assert!(ics.contains("BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"), "{ics}");
        assert!(ics.contains("DTSTART;TZID=Europe/Madrid:20261203T160000\r\n"));
    }

    #[test]
    fn utc_meetings_are_written_in_utc() {
        let ics = write(&event(Method::Request, "UTC"));
        assert!(!ics.contains("VTIMEZONE"));
        assert!(ics.contains("\r\nDTSTART:20261203T150000Z\r\n"));
    }

    #[test]
    fn a_cancellation_says_so() {
        let ics = write(&event(Method::Cancel, "America/Bogota"));
        assert!(ics.contains("\r\nMETHOD:CANCEL\r\n"));
        assert!(ics.contains("\r\nSTATUS:CANCELLED\r\n"));
        assert!(!ics.contains("RSVP=TRUE"));
    }

    #[test]
    fn parameter_values_are_quoted_and_caret_encoded() {
        assert_eq!(param_value("Ana"), "Ana");
        assert_eq!(param_value("Pérez, Ana"), "\"Pérez, Ana\"");
        assert_eq!(param_value("a:b"), "\"a:b\"");
        assert_eq!(param_value("say \"hi\"\nthen^"), "say ^'hi^'^nthen^^");
        assert_eq!(param_value("x;\"y\""), "\"x;^'y^'\"");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut e = event(Method::Request, "UTC");
        e.summary = "é".repeat(100) + &"a".repeat(100);
        let ics = write(&e);
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        assert!(unfold(&ics).contains(&format!("SUMMARY:{}", e.summary)));
    }

    proptest::proptest! {
        #[test]
        fn any_text_survives_escaping_and_folding(s in "\\PC{0,300}") {
            let mut e = event(Method::Request, "America/Bogota");
            e.summary = s.clone();
            let ics = write(&e);
            for line in ics.split("\r\n") {
                proptest::prop_assert!(line.len() <= 75);
                proptest::prop_assert!(!line.contains('\n') && !line.contains('\r'));
            }
            let unfolded = unfold(&ics);
            let summary = unfolded.split("\r\n").find(|l| l.starts_with("SUMMARY:")).unwrap();
            // Unescape and compare with the input (control characters other than tab are dropped).
            let mut back = String::new();
            let mut chars = summary["SUMMARY:".len()..].chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() { Some('n') => back.push('\n'), Some(o) => back.push(o), None => {} }
                } else { back.push(c); }
            }
            let expected: String = s.chars().filter(|c| !c.is_control() || *c == '\t').collect();
            proptest::prop_assert_eq!(back, expected);
        }
    }
}
