//! CSV import and export of indicators and measurements.
//!
//! Import is all or nothing: [`parse_indicators`] and [`parse_measurements`] read and check
//! every row before anything is written, and the first problem is reported as a
//! [`CsvError`] naming the row (the line number a spreadsheet shows: the header is row 1)
//! and the column. The server then resolves names (areas, sections, indicator codes) and
//! writes all rows in one transaction, reporting a problem there with the same row numbers.
//!
//! Files may use `,` or `;` as separator (spreadsheets set to Spanish or Portuguese write
//! `;`), may start with a UTF-8 byte order mark, and list columns in any order; unknown
//! columns are refused so a typo in a header does not silently drop a column. Exports
//! guard text cells against spreadsheet formula injection (a leading `=`, `+`, `-`, `@`
//! gets a `'`).

use chrono::NaiveDate;
use serde::Serialize;

use crate::validate::{check_indicator, check_link, check_text, check_value, pair, parse_date, parse_number, validate_code};
use crate::{Direction, Frequency, Level, Unit};

/// The most rows one import takes.
pub const MAX_ROWS: usize = 5000;

/// The columns of the indicators CSV, in export order.
pub const INDICATOR_COLUMNS: &[&str] = &[
    "code",
    "name",
    "level",
    "definition",
    "method",
    "unit",
    "unit_label",
    "direction",
    "data_source",
    "frequency",
    "area",
    "baseline_value",
    "baseline_date",
    "target_value",
    "target_date",
    "sections",
    "sdg",
    "public",
];
const INDICATOR_REQUIRED: &[&str] = &["code", "name", "level", "unit", "direction", "frequency"];

/// The columns of the measurements CSV, in export order; an import needs the first three
/// and may have `note` and `link` (the review columns are export only and ignored on import).
pub const MEASUREMENT_COLUMNS: &[&str] =
    &["indicator_code", "measured_on", "value", "note", "link", "review", "review_reason", "reported_at"];
const MEASUREMENT_IMPORT: &[&str] = &["indicator_code", "measured_on", "value", "note", "link", "review", "review_reason", "reported_at"];
const MEASUREMENT_REQUIRED: &[&str] = &["indicator_code", "measured_on", "value"];

/// A problem with an imported file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("row {row}, column {field}: {message}")]
pub struct CsvError {
    /// The row, as a spreadsheet numbers it (the header is row 1); 0 for the file itself.
    pub row: usize,
    /// The column.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl CsvError {
    /// A problem at `row` in `field`.
    pub fn new(row: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { row, field: field.into(), message: message.into() }
    }
}

/// One indicator as a CSV row gives it (names not yet resolved to ids).
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorRow {
    /// The row number.
    pub row: usize,
    /// Short code, unique in the strategy (an existing code updates that indicator).
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: Level,
    /// Definition.
    pub definition: String,
    /// Method of calculation.
    pub method: String,
    /// Unit.
    pub unit: Unit,
    /// Unit label.
    pub unit_label: String,
    /// Direction.
    pub direction: Direction,
    /// Data source.
    pub data_source: String,
    /// Frequency.
    pub frequency: Frequency,
    /// Responsible area, by name (empty: none).
    pub area: String,
    /// Baseline.
    pub baseline: Option<crate::Point>,
    /// Target.
    pub target: Option<crate::Point>,
    /// Section keys (or titles), `;`- or `|`-separated in the file.
    pub sections: Vec<String>,
    /// SDG codes.
    pub sdg: Vec<String>,
    /// Shown on the public page.
    pub public: bool,
}

/// One measurement as a CSV row gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasurementRow {
    /// The row number.
    pub row: usize,
    /// The indicator's code.
    pub indicator_code: String,
    /// When.
    pub measured_on: NaiveDate,
    /// The value (checked against the indicator's unit by the caller, who knows it).
    pub value: f64,
    /// A note.
    pub note: String,
    /// An evidence link.
    pub link: Option<String>,
}

struct Table {
    headers: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    fn cell<'a>(&self, record: &'a [String], column: &str) -> &'a str {
        self.headers.iter().position(|h| h == column).and_then(|i| record.get(i)).map(|s| s.trim()).unwrap_or("")
    }
}

fn read(bytes: &[u8], allowed: &[&str], required: &[&str]) -> Result<Table, CsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| CsvError::new(0, "file", "must be UTF-8 text"))?;
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.contains(';') && !first_line.contains(',') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| CsvError::new(1, "header", format!("cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for (i, h) in headers.iter().enumerate() {
        if !allowed.contains(&h.as_str()) {
            return Err(CsvError::new(1, if h.is_empty() { format!("column {}", i + 1) } else { h.clone() }, format!("is not a known column; expected: {}", allowed.join(", "))));
        }
        if headers[..i].contains(h) {
            return Err(CsvError::new(1, h.clone(), "appears twice"));
        }
    }
    for r in required {
        if !headers.iter().any(|h| h == r) {
            return Err(CsvError::new(1, *r, "column is missing"));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let row = e.position().map(|p| p.line() as usize).unwrap_or(0);
            let message = match e.kind() {
                csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                    format!("has {len} cells where the header has {expected_len}")
                }
                _ => "cannot be read".to_owned(),
            };
            CsvError::new(row, "row", message)
        })?;
        let row = record.position().map(|p| p.line() as usize).unwrap_or(rows.len() + 2);
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(CsvError::new(row, "row", format!("a file may have at most {MAX_ROWS} rows")));
        }
        rows.push((row, cells));
    }
    if rows.is_empty() {
        return Err(CsvError::new(2, "row", "the file has no rows"));
    }
    Ok(Table { headers, rows })
}

fn at<T>(row: usize, r: Result<T, concerta_core::FieldError>) -> Result<T, CsvError> {
    r.map_err(|e| CsvError::new(row, e.field, e.message))
}

fn enum_cell<T: std::str::FromStr<Err = concerta_core::ParseEnumError>>(row: usize, field: &str, text: &str) -> Result<T, CsvError> {
    text.parse().map_err(|e: concerta_core::ParseEnumError| CsvError::new(row, field, format!("must be one of: {}", e.expected)))
}

fn list(text: &str) -> Vec<String> {
    text.split([';', '|']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn optional_number(row: usize, field: &str, text: &str) -> Result<Option<f64>, CsvError> {
    if text.is_empty() { Ok(None) } else { at(row, parse_number(field, text)).map(Some) }
}

fn optional_date(row: usize, field: &str, text: &str) -> Result<Option<NaiveDate>, CsvError> {
    if text.is_empty() { Ok(None) } else { at(row, parse_date(field, text)).map(Some) }
}

/// Reads and checks an indicators CSV. Codes must be unique within the file.
pub fn parse_indicators(bytes: &[u8]) -> Result<Vec<IndicatorRow>, CsvError> {
    let table = read(bytes, INDICATOR_COLUMNS, INDICATOR_REQUIRED)?;
    let mut out: Vec<IndicatorRow> = Vec::with_capacity(table.rows.len());
    for (row, record) in &table.rows {
        let (row, cell) = (*row, |c: &str| table.cell(record, c));
        let code = at(row, validate_code("code", cell("code")))?;
        if out.iter().any(|o| o.code.eq_ignore_ascii_case(&code)) {
            return Err(CsvError::new(row, "code", format!("`{code}` appears on an earlier row")));
        }
        let name = at(row, concerta_core::validate_name("name", cell("name")))?;
        let level = enum_cell(row, "level", cell("level"))?;
        let unit: Unit = enum_cell(row, "unit", cell("unit"))?;
        let direction = enum_cell(row, "direction", cell("direction"))?;
        let frequency = enum_cell(row, "frequency", cell("frequency"))?;
        let baseline = at(
            row,
            pair(
                "baseline_value",
                "baseline_date",
                optional_number(row, "baseline_value", cell("baseline_value"))?,
                optional_date(row, "baseline_date", cell("baseline_date"))?,
            ),
        )?;
        let target = at(
            row,
            pair(
                "target_value",
                "target_date",
                optional_number(row, "target_value", cell("target_value"))?,
                optional_date(row, "target_date", cell("target_date"))?,
            ),
        )?;
        at(row, check_indicator(unit, direction, baseline, target))?;
        let sdg = at(row, crate::validate::check_sdg("sdg", &list(cell("sdg"))))?;
        let public = match cell("public").to_ascii_lowercase().as_str() {
            "" | "false" | "no" | "0" => false,
            "true" | "yes" | "1" => true,
            _ => return Err(CsvError::new(row, "public", "must be true or false")),
        };
        out.push(IndicatorRow {
            row,
            code,
            name,
            level,
            definition: at(row, check_text("definition", cell("definition"), 4000))?,
            method: at(row, check_text("method", cell("method"), 4000))?,
            unit,
            unit_label: at(row, check_text("unit_label", cell("unit_label"), 100))?,
            direction,
            data_source: at(row, check_text("data_source", cell("data_source"), 1000))?,
            frequency,
            area: at(row, check_text("area", cell("area"), 200))?,
            baseline,
            target,
            sections: list(cell("sections")),
            sdg,
            public,
        });
    }
    Ok(out)
}

/// Reads and checks a measurements CSV (values are checked against their indicator's unit
/// by the caller).
pub fn parse_measurements(bytes: &[u8]) -> Result<Vec<MeasurementRow>, CsvError> {
    let table = read(bytes, MEASUREMENT_IMPORT, MEASUREMENT_REQUIRED)?;
    let mut out = Vec::with_capacity(table.rows.len());
    for (row, record) in &table.rows {
        let (row, cell) = (*row, |c: &str| table.cell(record, c));
        let link = cell("link");
        out.push(MeasurementRow {
            row,
            indicator_code: at(row, validate_code("indicator_code", cell("indicator_code")))?,
            measured_on: at(row, parse_date("measured_on", cell("measured_on")))?,
            value: at(row, parse_number("value", cell("value")))?,
            note: at(row, check_text("note", cell("note"), 4000))?,
            link: if link.is_empty() { None } else { Some(at(row, check_link("link", link))?) },
        });
    }
    Ok(out)
}

/// Checks a measurement row's value and date against its indicator (`unit`, baseline
/// date), naming the row.
pub fn check_measurement_row(m: &MeasurementRow, unit: Unit, baseline: Option<NaiveDate>, today: NaiveDate) -> Result<(), CsvError> {
    at(m.row, check_value("value", unit, m.value))?;
    at(m.row, crate::validate::check_measurement(unit, baseline, m.measured_on, m.value, today))
}

/// Makes a text cell safe to open in a spreadsheet.
pub fn guard(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

/// Writes rows under `columns` as CSV (`,`-separated, quoted where needed).
pub fn write(columns: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(columns);
    for row in rows {
        let _ = writer.write_record(&row);
    }
    writer.into_inner().unwrap_or_default()
}

/// A number as a CSV cell (empty for none).
pub fn number(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "code,name,level,unit,direction,frequency,area,baseline_value,baseline_date,target_value,target_date,sections,sdg,public\n\
        ORI-1,Compromisos,office,count,higher_is_better,annual,Relaciones Internacionales,2,2024-01-01,6,2027-01-01,political_will,16.6,true\n\
        TER-1,Emisiones,territory,number,lower_is_better,annual,,100,2024-01-01,50,2030-01-01,,13;11.6,\n";

    #[test]
    fn reads_a_good_file() {
        let rows = parse_indicators(GOOD.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].row, 2);
        assert_eq!(rows[0].area, "Relaciones Internacionales");
        assert!(rows[0].public && !rows[1].public);
        assert_eq!(rows[1].sdg, ["11.6", "13"]);
        assert_eq!(rows[1].baseline.unwrap().value, 100.0);
    }

    #[test]
    fn semicolons_and_bom() {
        let text = format!("\u{feff}{}", GOOD.replace(',', ";").replace("13;11.6", "13|11.6"));
        let rows = parse_indicators(text.as_bytes()).unwrap();
        assert_eq!(rows[1].sdg, ["11.6", "13"]);
    }

    #[test]
    fn a_broken_row_is_named() {
        let bad = GOOD.replace("TER-1,Emisiones,territory,number,lower_is_better", "TER-1,Emisiones,territory,number,higher_is_better");
        assert_eq!(parse_indicators(bad.as_bytes()).unwrap_err(), CsvError::new(3, "target_value", "must be above the baseline value: higher is better for this indicator"));
        let bad = GOOD.replace(",2,2024-01-01,6,", ",2.5,2024-01-01,6,");
        let e = parse_indicators(bad.as_bytes()).unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (2, "baseline_value"));
        let bad = GOOD.replace("office", "oficina");
        let e = parse_indicators(bad.as_bytes()).unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (2, "level"));
        let bad = GOOD.replace("2030-01-01", "01/01/2030");
        let e = parse_indicators(bad.as_bytes()).unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (3, "target_date"));
        let bad = format!("{GOOD}TER-1,Otra,territory,count,higher_is_better,annual,,,,,,,,\n");
        let e = parse_indicators(bad.as_bytes()).unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (4, "code"));
        let bad = format!("{GOOD}TER-2,Corta,territory\n");
        let e = parse_indicators(bad.as_bytes()).unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (4, "row"));
        let e = parse_indicators(b"code,name,levle\n").unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (1, "levle"));
        let e = parse_indicators(b"code,name,level,unit,direction\n").unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (1, "frequency"));
        let e = parse_indicators(b"code,name,level,unit,direction,frequency\n").unwrap_err();
        assert_eq!(e.field, "row");
        assert_eq!(parse_indicators(&[0xff, 0xfe]).unwrap_err().field, "file");
    }

    #[test]
    fn measurements() {
        let rows = parse_measurements(b"indicator_code,measured_on,value,note,link\nORI-1,2025-01-01,3,primer informe,https://example.org/a\nORI-1,2026-01-01,5,,\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[1].row, rows[1].value, rows[1].link.clone()), (3, 5.0, None));
        let e = parse_measurements(b"indicator_code,measured_on,value\nORI-1,2025-01-01,3\nORI-1,2026-01-01,12%\n").unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (3, "value"));
        let m = &rows[0];
        let today = "2026-06-01".parse().unwrap();
        let e = check_measurement_row(m, Unit::Count, Some("2025-06-01".parse().unwrap()), today).unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (2, "measured_on"));
        let e = check_measurement_row(&MeasurementRow { value: 2.5, ..m.clone() }, Unit::Count, None, today).unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (2, "value"));
    }

    #[test]
    fn exports_round_trip_and_are_guarded() {
        let out = write(&["code", "name"], [vec!["A-1".to_owned(), guard("=HYPERLINK(\"x\")")], vec!["A-2".into(), "Plain, with comma".into()]]);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "code,name\nA-1,\"'=HYPERLINK(\"\"x\"\")\"\nA-2,\"Plain, with comma\"\n");
        assert_eq!(number(Some(12.5)), "12.5");
    }
}
