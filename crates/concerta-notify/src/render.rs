//! The renderer registry: every message kind has a subject, a plain-text and an HTML template
//! per language (es, en, pt), rendered with minijinja.
//!
//! Templates live in `templates/<kind>/<locale>/{subject.txt,text.txt,html.html}` and are
//! compiled into the binary ([`KINDS`]). HTML templates extend `_layout.html` and are
//! auto-escaped (minijinja escapes every `{{ … }}` in a template whose name ends in `.html`);
//! text templates are not escaped (plain text has nothing to escape), and the subject is cut
//! to one line. Undefined variables are errors, so a template that reads a field its payload
//! lacks fails loudly in the tests instead of sending a blank.
//!
//! What a template sees:
//! - `city_name`: the sender's name (the city's);
//! - `recipient.name`, `recipient.email`;
//! - `base_url`: the public URL without trailing slash (`CONCERTA_PUBLIC_URL`);
//! - `locale`: `es`, `en` or `pt`;
//! - `data`: the message's JSON payload, as the code that enqueued it wrote it.

use concerta_core::Locale;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// One message kind's templates (three per language) and a sample payload the tests render
/// every template with.
pub struct KindTemplates {
    /// The kind, as enqueued (`NewMessage::kind`).
    pub kind: &'static str,
    /// `(locale, subject, text, html)` for es, en and pt.
    pub files: [(Locale, &'static str, &'static str, &'static str); 3],
    /// A payload with every field the templates read (JSON).
    pub sample: &'static str,
}

macro_rules! kind {
    ($name:literal) => {
        KindTemplates {
            kind: $name,
            files: [
                kind!(@locale $name, Es, "es"),
                kind!(@locale $name, En, "en"),
                kind!(@locale $name, Pt, "pt"),
            ],
            sample: include_str!(concat!("../templates/", $name, "/sample.json")),
        }
    };
    (@locale $name:literal, $variant:ident, $lc:literal) => {
        (
            Locale::$variant,
            include_str!(concat!("../templates/", $name, "/", $lc, "/subject.txt")),
            include_str!(concat!("../templates/", $name, "/", $lc, "/text.txt")),
            include_str!(concat!("../templates/", $name, "/", $lc, "/html.html")),
        )
    };
}

/// The kind of an account invitation (see `concerta_store::invitations`).
pub const ACCOUNT_INVITATION: &str = "account_invitation";
/// The kind of a reminder of a due and missing measurement.
pub const MEASUREMENT_REMINDER: &str = "measurement_reminder";
/// A consultation's invitation to a stakeholder without a password: the account invitation
/// (signed single-use link, then the consultation) naming the consultation and its closing.
pub const CONSULTATION_ACCOUNT_INVITATION: &str = "consultation_account_invitation";
/// A consultation's invitation to a stakeholder who has an account: a link to comment.
pub const CONSULTATION_INVITATION: &str = "consultation_invitation";
/// The city's answer to a consultation comment: decision, reason, link.
pub const CONSULTATION_RESPONSE: &str = "consultation_response";
/// A plain test message (used by tests and the mail benchmark).
pub const TEST_MESSAGE: &str = "test_message";

/// Every kind the worker can render. Adding a kind: a folder under `templates/` and a line
/// here (see ARCHITECTURE.md, "Adding an email kind").
pub static KINDS: &[KindTemplates] = &[
    kind!("account_invitation"),
    kind!("consultation_account_invitation"),
    kind!("consultation_invitation"),
    kind!("consultation_response"),
    kind!("measurement_reminder"),
    kind!("roundtable_invitation"),
    kind!("roundtable_update"),
    kind!("roundtable_cancel"),
    kind!("roundtable_reminder"),
    kind!("roundtable_minutes"),
    kind!("test_message"),
];

const LAYOUT: &str = include_str!("../templates/_layout.html");

/// What a rendered message says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line (one line).
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// Rendering failed (unknown kind, a template error, a field missing from the payload).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No templates for this kind.
    #[error("no templates for message kind `{0}`")]
    UnknownKind(String),
    /// The template engine refused.
    #[error("template {name}: {source}")]
    Template {
        /// The template's name.
        name: String,
        /// What went wrong.
        #[source]
        source: minijinja::Error,
    },
}

/// The context a template sees (see the module docs).
#[derive(Serialize)]
pub struct Context<'a> {
    /// The sender's name.
    pub city_name: &'a str,
    /// The recipient.
    pub recipient: RecipientContext<'a>,
    /// The public URL, without trailing slash.
    pub base_url: &'a str,
    /// The language.
    pub locale: &'a str,
    /// The payload.
    pub data: &'a serde_json::Value,
}

/// The recipient as templates see it.
#[derive(Serialize)]
pub struct RecipientContext<'a> {
    /// Display name.
    pub name: &'a str,
    /// Address.
    pub email: &'a str,
}

/// All templates, compiled once.
pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

fn template_name(kind: &str, locale: Locale, part: &str) -> String {
    format!("{kind}/{}/{part}", locale.as_str())
}

impl Renderer {
    /// Compiles every template of [`KINDS`]. Panics on a template syntax error (the tests
    /// build one, so a broken template never ships).
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_keep_trailing_newline(true);
        env.add_template("_layout.html", LAYOUT).expect("the email layout compiles");
        for kind in KINDS {
            for (locale, subject, text, html) in &kind.files {
                for (part, source) in [("subject.txt", subject), ("text.txt", text), ("html.html", html)] {
                    env.add_template_owned(template_name(kind.kind, *locale, part), *source)
                        .unwrap_or_else(|e| panic!("template {}/{}/{part}: {e}", kind.kind, locale.as_str()));
                }
            }
        }
        Self { env }
    }

    /// Whether `kind` has templates.
    pub fn knows(&self, kind: &str) -> bool {
        KINDS.iter().any(|k| k.kind == kind)
    }

    /// Renders `kind` in `locale` with `context`.
    pub fn render(&self, kind: &str, locale: Locale, context: &Context<'_>) -> Result<Rendered, RenderError> {
        if !self.knows(kind) {
            return Err(RenderError::UnknownKind(kind.to_owned()));
        }
        let ctx = Value::from_serialize(context);
        let render = |part: &str| {
            let name = template_name(kind, locale, part);
            self.env
                .get_template(&name)
                .and_then(|t| t.render(&ctx))
                .map_err(|source| RenderError::Template { name, source })
        };
        let subject = render("subject.txt")?;
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(Rendered { subject, text: render("text.txt")?, html: render("html.html")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_context<'a>(data: &'a serde_json::Value, city: &'a str) -> Context<'a> {
        Context {
            city_name: city,
            recipient: RecipientContext { name: "Pérez, Ana", email: "ana@example.org" },
            base_url: "https://concerta.example.org",
            locale: "es",
            data,
        }
    }

    #[test]
    fn every_kind_renders_in_every_language_with_its_sample() {
        let renderer = Renderer::new();
        for kind in KINDS {
            let data: serde_json::Value = serde_json::from_str(kind.sample).expect("sample.json is JSON");
            let mut subjects = Vec::new();
            for (locale, ..) in &kind.files {
                let out = renderer
                    .render(kind.kind, *locale, &sample_context(&data, "Medellín"))
                    .unwrap_or_else(|e| panic!("{} in {}: {e}", kind.kind, locale.as_str()));
                assert!(!out.subject.is_empty() && !out.subject.contains('\n'), "{}: {:?}", kind.kind, out.subject);
                assert!(out.text.trim().len() > 20, "{} {}: text too short", kind.kind, locale.as_str());
                assert!(out.html.contains("<html") && out.html.contains("Medellín"), "{} {}: {}", kind.kind, locale.as_str(), out.html);
                subjects.push(out.subject);
            }
            subjects.dedup();
            assert_eq!(subjects.len(), 3, "{}: the three languages must differ: {subjects:?}", kind.kind);
        }
    }

    #[test]
    fn html_escapes_what_users_wrote_and_text_does_not() {
        let renderer = Renderer::new();
        let data = serde_json::json!({ "title": "<script>alert(1)</script> & \"Pérez, Ana\"", "body": "x" });
        let out = renderer.render(TEST_MESSAGE, Locale::En, &sample_context(&data, "Quito <b>")).unwrap();
        assert!(!out.html.contains("<script>"), "{}", out.html);
        assert!(out.html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "{}", out.html);
        assert!(out.html.contains("Quito &lt;b&gt;"), "{}", out.html);
        assert!(out.text.contains("<script>alert(1)</script> & \"Pérez, Ana\""), "{}", out.text);
    }

    #[test]
    fn consultation_emails_escape_what_stakeholders_and_the_city_wrote() {
        let renderer = Renderer::new();
        let data = serde_json::json!({
            "consultation_id": "c1", "title": "Borrador <i>2030</i>", "section_title": "Áreas <b>",
            "comment": "<script>alert(1)</script>", "quote": "<img src=x onerror=alert(2)>",
            "decision": "partly", "reason": "Porque <a href='http://evil'>sí</a> & no", "applied": false, "version_name": null,
        });
        for locale in [Locale::Es, Locale::En, Locale::Pt] {
            let out = renderer.render(CONSULTATION_RESPONSE, locale, &sample_context(&data, "Quito")).unwrap();
            for raw in ["<script>", "<img", "<a href='http://evil'>", "<i>2030", "<b>"] {
                assert!(!out.html.contains(raw), "{raw} unescaped in {}: {}", locale.as_str(), out.html);
            }
            assert!(out.html.contains("&lt;script&gt;alert(1)"), "{}", out.html);
            assert!(out.text.contains("<script>alert(1)</script>"), "plain text keeps the words: {}", out.text);
            assert!(out.text.contains("https://concerta.example.org/consultations/c1"), "{}", out.text);
        }
        let decided = |d: &str, l: Locale| {
            let data = serde_json::json!({
                "consultation_id": "c1", "title": "t", "section_title": "s", "comment": "c", "quote": null,
                "decision": d, "reason": "r", "applied": false, "version_name": null,
            });
            renderer.render(CONSULTATION_RESPONSE, l, &sample_context(&data, "Quito")).unwrap()
        };
        assert!(decided("partly", Locale::En).text.contains("Decision: Partly accepted"));
        assert!(decided("rejected", Locale::Es).text.contains("Decisión: No aceptado"));
        assert!(decided("noted", Locale::Pt).subject.ends_with("registrado"));
    }

    #[test]
    fn a_missing_field_is_an_error_not_a_blank() {
        let renderer = Renderer::new();
        let data = serde_json::json!({});
        let err = renderer.render(ACCOUNT_INVITATION, Locale::Pt, &sample_context(&data, "Rio")).unwrap_err();
        assert!(matches!(err, RenderError::Template { .. }), "{err}");
        assert!(matches!(renderer.render("nope", Locale::Pt, &sample_context(&data, "Rio")), Err(RenderError::UnknownKind(_))));
    }
}
