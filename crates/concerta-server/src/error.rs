//! The one error type of the HTTP layer and the JSON body extractor that produces its 4xx.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use concerta_core::FieldError;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Everything a request can fail with. Each variant has one status and one `code`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body is not JSON (400 `bad_json`).
    #[error("the request body is not valid JSON: {0}")]
    BadJson(String),
    /// The body is not `application/json` (415 `unsupported_media_type`).
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// A field is missing or invalid (422 `invalid_field`).
    #[error("{field}: {message}")]
    InvalidField {
        /// The field, as the API spells it.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A row of an imported file is wrong; nothing was imported (422 `invalid_field`, with
    /// `row` and `field`).
    #[error("row {row}, column {field}: {message}")]
    Row {
        /// The row, as a spreadsheet numbers it (the header is row 1).
        row: usize,
        /// The column.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// No valid credentials (401 `unauthorized`).
    #[error("authentication required")]
    Unauthorized,
    /// Wrong email or password (401 `invalid_credentials`).
    #[error("wrong email or password")]
    InvalidCredentials,
    /// Authenticated but not allowed (403 `forbidden`).
    #[error("you are not allowed to do this")]
    Forbidden,
    /// A cookie-authenticated write (or a login) sent from another site (403 `cross_site`).
    #[error("this request came from another site and was refused")]
    CrossSite,
    /// Unknown, or not visible to this user (404 `not_found`).
    #[error("not found")]
    NotFound,
    /// The method does not apply to this path (405 `method_not_allowed`).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A unique value is taken (409 `conflict`).
    #[error("{field} is already taken")]
    Conflict {
        /// The field whose value is taken.
        field: String,
    },
    /// The change would leave a city without a coordinator (409 `last_coordinator`).
    #[error("a city needs at least one coordinator: make another member coordinator first")]
    LastCoordinator,
    /// Too many login attempts for this account or from this address (429
    /// `too_many_requests`, with `Retry-After`). Says nothing of whether the account exists.
    #[error("too many login attempts: try again in {} seconds", retry_after_secs(*retry_after))]
    TooManyRequests {
        /// How long until one more attempt is allowed.
        retry_after: std::time::Duration,
    },
    /// The request is understood but refused in the resource's current state, with its own
    /// code and a message for the user (e.g. 409 `consultation_closed`, 403 `not_invited`).
    #[error("{message}")]
    Refused {
        /// The status.
        status: StatusCode,
        /// The machine-readable code.
        code: &'static str,
        /// What happened, for the user.
        message: String,
    },
    /// The body is over the limit (413 `payload_too_large`).
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// A dependency is down (503 `unavailable`).
    #[error("the service is not ready")]
    Unavailable,
    /// An invitation link that does not work (404 `invitation_invalid`, 410
    /// `invitation_used` / `invitation_revoked` / `invitation_expired`, 409
    /// `invitation_has_password`).
    #[error("invitation link: {0:?}")]
    InvitationLink(concerta_store::LinkProblem),
    /// Anything else (500 `internal`); the detail is logged, never sent.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

/// Whole seconds to wait, rounded up, at least one (`Retry-After` has no fractions).
fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// The HTTP layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidField`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidField { field: field.into(), message: message.into() }
    }

    /// The status and machine-readable code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Error::BadJson(_) => (StatusCode::BAD_REQUEST, "bad_json"),
            Error::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Error::InvalidField { .. } | Error::Row { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            Error::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Error::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Error::CrossSite => (StatusCode::FORBIDDEN, "cross_site"),
            Error::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Error::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Error::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            Error::LastCoordinator => (StatusCode::CONFLICT, "last_coordinator"),
            Error::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Error::Refused { status, code, .. } => (*status, code),
            Error::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Error::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Error::InvitationLink(problem) => {
                use concerta_store::LinkProblem as P;
                match problem {
                    P::Invalid => (StatusCode::NOT_FOUND, "invitation_invalid"),
                    P::Used => (StatusCode::GONE, "invitation_used"),
                    P::Revoked => (StatusCode::GONE, "invitation_revoked"),
                    P::Expired => (StatusCode::GONE, "invitation_expired"),
                    P::HasPassword => (StatusCode::CONFLICT, "invitation_has_password"),
                }
            }
            Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

fn link_problem_message(problem: concerta_store::LinkProblem) -> &'static str {
    use concerta_store::LinkProblem as P;
    match problem {
        P::Invalid => "this invitation link is not valid (it may have been replaced by a newer one)",
        P::Used => "this invitation link was used already: log in with your password",
        P::Revoked => "this invitation was withdrawn",
        P::Expired => "this invitation link has expired: ask for a new one",
        P::HasPassword => "this account has a password already: log in",
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let mut error = json!({ "code": code, "message": self.to_string() });
        match &self {
            Error::InvalidField { field, message } => {
                error["field"] = json!(field);
                add_reason(&mut error, message);
            }
            Error::Conflict { field } => {
                error["field"] = json!(field);
            }
            Error::Row { row, field, message } => {
                error["field"] = json!(field);
                error["row"] = json!(row);
                add_reason(&mut error, message);
            }
            Error::InvitationLink(problem) => {
                error["message"] = json!(link_problem_message(*problem));
            }
            Error::Internal(detail) => {
                tracing::error!(error = format!("{detail:#}"), "internal error");
                error["message"] = json!("internal error");
            }
            _ => {}
        }
        let mut response = (status, axum::Json(json!({ "error": error }))).into_response();
        if let Error::TooManyRequests { retry_after } = &self {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after_secs(*retry_after)));
        }
        if matches!(self, Error::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Adds `reason` (and `limit`) to an error body when `message` has a known [`reason`], so
/// the app can say it in the user's language.
fn add_reason(error: &mut serde_json::Value, message: &str) {
    if let Some(reason) = reason(message) {
        error["reason"] = json!(reason.code);
        if let Some(limit) = reason.limit {
            error["limit"] = json!(limit);
        }
    }
}

impl From<concerta_store::Error> for Error {
    fn from(e: concerta_store::Error) -> Self {
        use concerta_store::Error as S;
        match e {
            S::NotFound => Error::NotFound,
            S::Conflict { field } => Error::Conflict { field },
            S::Invalid { field, message } => Error::InvalidField { field, message },
            S::LastCoordinator => Error::LastCoordinator,
            S::Row { row, field, message } => Error::Row { row, field, message },
            other => Error::Internal(other.into()),
        }
    }
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::InvalidField { field: e.field, message: e.message }
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error::Internal(e)
    }
}

/// A JSON request body. Unlike `axum::Json`, every rejection is an [`Error`]: a syntax error
/// is 400 `bad_json`, a missing or mistyped field is 422 naming the field, an oversized body
/// is 413, and a body that is not `application/json` is 415.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(Error::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge
            } else {
                Error::BadJson("the request body could not be read".to_owned())
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses `bytes` as `T`, mapping errors as [`JsonBody`] documents. Every request body of
/// the API is a JSON object; anything else is 422 on the field `body`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| Error::BadJson(e.to_string()))?;
    if !value.is_object() {
        return Err(Error::invalid("body", "must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = strip_position(&e.into_inner().to_string());
        match missing_field(&message) {
            Some(missing) => Error::InvalidField {
                field: if path == "." { missing.to_owned() } else { format!("{path}.{missing}") },
                message: "is required".to_owned(),
            },
            None => Error::InvalidField { field: if path == "." { "body".to_owned() } else { path }, message },
        }
    })
}

/// What is wrong with a field, as a stable code the browser app translates (`reason`, with
/// `limit` for length rules), next to the English `message`.
#[derive(Debug, PartialEq, Eq)]
pub struct Reason {
    /// The code: `required`, `empty`, `too_long`, `too_short`, `email`, `control_characters`,
    /// `date`, `number`, `url`, `one_of`, `wrong_password`, `setup_token`, `invalid_id`,
    /// `code` (an indicator's code), `percentage`, `count`, `amount`, `before_baseline`,
    /// `after_baseline`, `future`.
    pub code: &'static str,
    /// The number in "at most / at least N characters".
    pub limit: Option<u64>,
}

/// The [`Reason`] of a field message made by the shared validators (`concerta_core`'s
/// `validate_*`, the evaluation rules, password rules, the JSON extractor). Messages with no
/// common reason get none; the app then says "this value is not valid" in the user's language.
/// One place maps them, and a test below holds each validator's wording to its code.
pub fn reason(message: &str) -> Option<Reason> {
    let number_after = |prefix: &str| -> Option<u64> {
        message.strip_prefix(prefix)?.split(' ').next()?.parse().ok()
    };
    let plain = |code| Some(Reason { code, limit: None });
    if message.starts_with("is required") || message.starts_with("missing field") {
        return plain("required");
    }
    if let Some(limit) = number_after("must be at most ").filter(|_| message.ends_with(" characters")) {
        return Some(Reason { code: "too_long", limit: Some(limit) });
    }
    if let Some(limit) = number_after("must be at least ").filter(|_| message.ends_with(" characters")) {
        return Some(Reason { code: "too_short", limit: Some(limit) });
    }
    // A CSV import's rows and columns (`concerta_evaluation::csv_io`).
    if let Some(limit) = number_after("a file may have at most ").filter(|_| message.ends_with(" rows")) {
        return Some(Reason { code: "too_many_rows", limit: Some(limit) });
    }
    if let Some(cells) = number_after("has ").filter(|_| message.contains(" cells where the header has ")) {
        return Some(Reason { code: "cell_count", limit: Some(cells) });
    }
    match message {
        "must not be empty" => plain("empty"),
        "must not contain control characters" => plain("control_characters"),
        "is not a valid id" => plain("invalid_id"),
        "is not your current password" => plain("wrong_password"),
        m if m.starts_with("must be an email address") => plain("email"),
        m if m.starts_with("must be a date written YYYY-MM-DD") => plain("date"),
        m if m.starts_with("must be a plain number") || m == "must be a finite number" => plain("number"),
        m if m.starts_with("must be an http:// or https:// URL") || m.starts_with("must be a web address starting with https://") => {
            plain("url")
        }
        m if m.starts_with("must be one of: ") => plain("one_of"),
        m if m.starts_with("is not this server's setup token") => plain("setup_token"),
        m if m.starts_with("must be 1 to 20 letters, digits") => plain("code"),
        m if m.starts_with("is a percentage:") => plain("percentage"),
        m if m.starts_with("is a count:") => plain("count"),
        m if m.starts_with("is an amount:") => plain("amount"),
        m if m.starts_with("must not be before the baseline date") => plain("before_baseline"),
        "must be after the baseline date" => plain("after_baseline"),
        "must not be in the future" => plain("future"),
        "column is missing" => plain("missing_column"),
        "appears twice" => plain("duplicate_column"),
        "must be true or false" => plain("boolean"),
        "the file has no rows" => plain("no_rows"),
        "must be UTF-8 text" => plain("utf8"),
        m if m.starts_with("is not a known column") => plain("unknown_column"),
        m if m.ends_with("appears on an earlier row") => plain("duplicate_row"),
        m if m.starts_with("cannot be read") => plain("unreadable"),
        m if m.starts_with("must be above the baseline value") => plain("above_baseline"),
        m if m.starts_with("must be below the baseline value") => plain("below_baseline"),
        _ => None,
    }
}

/// `missing field `email`` → `email`.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// Drops serde_json's " at line 1 column 5" suffix from data errors (the field name says
/// where; syntax errors keep it, there it helps).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: Option<u32>,
    }

    fn field_of(err: Error) -> String {
        match err {
            Error::InvalidField { field, .. } => field,
            other => panic!("expected InvalidField, got {other:?}"),
        }
    }

    #[test]
    fn validator_messages_have_reasons() {
        let code = |message: &str| reason(message).map(|r| r.code);
        // The shared validators' own words, as they make them.
        let name = concerta_core::validate_name("name", "").unwrap_err();
        assert_eq!(code(&name.message), Some("empty"));
        let long = concerta_core::validate_name("name", &"x".repeat(201)).unwrap_err();
        assert_eq!(reason(&long.message), Some(Reason { code: "too_long", limit: Some(200) }));
        let control = concerta_core::validate_name("name", "a\u{7}b").unwrap_err();
        assert_eq!(code(&control.message), Some("control_characters"));
        let email = concerta_core::validate_email("email", "nobody").unwrap_err();
        assert_eq!(code(&email.message), Some("email"));
        let missing = parse_json::<Body>(b"{}").unwrap_err();
        let Error::InvalidField { message, .. } = missing else { panic!("expected InvalidField") };
        assert_eq!(code(&message), Some("required"));
        assert_eq!(reason("must be at least 8 characters"), Some(Reason { code: "too_short", limit: Some(8) }));
        assert_eq!(code("must be a date written YYYY-MM-DD"), Some("date"));
        assert_eq!(code("must be one of: es, en, pt"), Some("one_of"));
        let bad_code = concerta_evaluation::validate::validate_code("code", "").unwrap_err();
        assert_eq!(code(&bad_code.message), Some("code"));
        let percent = concerta_evaluation::validate::check_value("value", concerta_evaluation::Unit::Percent, 120.0).unwrap_err();
        assert_eq!(code(&percent.message), Some("percentage"));
        let count = concerta_evaluation::validate::check_value("value", concerta_evaluation::Unit::Count, 1.5).unwrap_err();
        assert_eq!(code(&count.message), Some("count"));
        let amount = concerta_evaluation::validate::check_value("value", concerta_evaluation::Unit::Currency, -1.0).unwrap_err();
        assert_eq!(code(&amount.message), Some("amount"));
        assert_eq!(code("must not be before the baseline date (2024-01-01)"), Some("before_baseline"));
        assert_eq!(code("must be after the baseline date"), Some("after_baseline"));
        assert_eq!(code("must not be in the future"), Some("future"));
        // Anything else has no reason (the app shows its generic words), never a wrong one.
        assert_eq!(code("lists a section that is not part of this strategy"), None);
        assert_eq!(code("must be at most 20 MiB"), None);
    }

    #[test]
    fn csv_import_messages_have_reasons() {
        use concerta_evaluation::csv_io::parse_measurements;
        let csv_code = |csv: &str| reason(&parse_measurements(csv.as_bytes()).unwrap_err().message).map(|r| r.code);
        let code = |message: &str| reason(message).map(|r| r.code);
        assert_eq!(csv_code("indicator_code,measured_on\nA,2024-01-01\n"), Some("missing_column"));
        assert_eq!(csv_code("indicator_code,measured_on,value,value\nA,2024-01-01,1,1\n"), Some("duplicate_column"));
        assert_eq!(csv_code("indicator_code,measured_on,value,colour\nA,2024-01-01,1,red\n"), Some("unknown_column"));
        assert_eq!(csv_code("indicator_code,measured_on,value\n"), Some("no_rows"));
        assert_eq!(csv_code("indicator_code,measured_on,value\nA,2024-01-01\n"), Some("cell_count"));
        assert_eq!(csv_code("indicator_code,measured_on,value\nA,01/01/2024,1\n"), Some("date"));
        let not_utf8 = parse_measurements(b"indicator_code,measured_on,value\nA,2024-01-01,\xff\n").unwrap_err();
        assert!(reason(&not_utf8.message).is_some(), "{not_utf8:?}");
        assert_eq!(code("must be true or false"), Some("boolean"));
        assert_eq!(code("`ORI-1` appears on an earlier row"), Some("duplicate_row"));
        assert_eq!(reason("a file may have at most 5000 rows"), Some(Reason { code: "too_many_rows", limit: Some(5000) }));
        assert_eq!(code("must be above the baseline value: higher is better for this indicator"), Some("above_baseline"));
    }

    #[test]
    fn json_errors_name_the_field() {
        assert!(matches!(parse_json::<Body>(b"{\"name\":"), Err(Error::BadJson(_))));
        assert!(matches!(parse_json::<Body>(b"not json"), Err(Error::BadJson(_))));
        assert!(matches!(parse_json::<Body>(b""), Err(Error::BadJson(_))));
        assert!(matches!(parse_json::<Body>(b"{\"name\":\"a\"} trailing"), Err(Error::BadJson(_))));
        assert_eq!(field_of(parse_json::<Body>(b"{}").unwrap_err()), "name");
        assert_eq!(field_of(parse_json::<Body>(b"{\"name\":1}").unwrap_err()), "name");
        assert_eq!(field_of(parse_json::<Body>(b"{\"name\":\"a\",\"count\":-1}").unwrap_err()), "count");
        assert_eq!(field_of(parse_json::<Body>(b"[]").unwrap_err()), "body");
        assert_eq!(parse_json::<Body>(b"{\"name\":\"a\"}").unwrap().name, "a");
    }
}
