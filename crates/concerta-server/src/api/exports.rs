//! `GET /api/strategies/{id}/export?format=md|html[&version={id}]`: the strategy, or one of
//! its versions, as Markdown or a printable HTML page, built from the stored documents at
//! those heads (loaded on blocking threads, see [`crate::content`]).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use concerta_content::export::{Export, ExportSection, ExportVersion, PRINT_CSS, to_html, to_markdown};
use concerta_core::{Action, AuditAction, StrategyId, VersionId};
use concerta_store::{AuditActor, NewAuditEntry};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{authorize, path_id};
use crate::auth::CurrentUser;
use crate::content::parse_heads;
use crate::error::{Error, Result};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct ExportQuery {
    format: Option<String>,
    version: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Markdown,
    Html,
}

/// A file name from a title: lowercase ASCII letters and digits, accents dropped, anything
/// else a single `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let out: String = out.chars().take(80).collect();
    if out.is_empty() { "estrategia".to_owned() } else { out }
}

/// The Content-Security-Policy of the HTML export: nothing runs, only its own stylesheet
/// (by hash) and images over http(s) apply.
pub fn export_csp() -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(PRINT_CSS.as_bytes()));
    format!("default-src 'none'; style-src 'sha256-{hash}'; img-src https: http:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
}

/// `GET /api/strategies/{id}/export?format=md|html[&version={id}]` → the file, with a
/// `Content-Disposition` file name (`attachment` for Markdown, `inline` for the printable
/// page). Readers of the city's sections (coordinators, editors, observers).
#[tracing::instrument(skip_all)]
pub(super) async fn export(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response> {
    let id: StrategyId = path_id(&id)?;
    let strategy = state.db.get_strategy(id).await?;
    authorize(&state, &user, strategy.city_id, Action::ExportStrategy, None).await?;
    let format = match query.format.as_deref() {
        Some("md") => Format::Markdown,
        Some("html") => Format::Html,
        _ => return Err(Error::invalid("format", "must be one of: md, html")),
    };
    let version = match query.version.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(text) => {
            let version_id: VersionId = text.parse().map_err(|_| Error::invalid("version", "is not a valid id"))?;
            match state.db.get_version(version_id).await {
                Ok(v) if v.strategy_id == id => Some(v),
                Ok(_) | Err(concerta_store::Error::NotFound) => {
                    return Err(Error::invalid("version", "is not a version of this strategy"));
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let export = build_export(&state, &strategy, version.as_ref()).await?;
    let mut name = slug(&strategy.title);
    if let Some(v) = &version {
        name.push('-');
        name.push_str(&slug(&v.name));
    }
    let (body, content_type, disposition) = match format {
        Format::Markdown => (to_markdown(&export), "text/markdown; charset=utf-8", format!("attachment; filename=\"{name}.md\"")),
        Format::Html => (to_html(&export), "text/html; charset=utf-8", format!("inline; filename=\"{name}.html\"")),
    };
    tracing::info!(strategy = %id, version = ?version.as_ref().map(|v| v.id), user = %user.id, "strategy exported");
    let entry = NewAuditEntry::new(AuditAction::Exported, AuditActor::User(user.id))
        .city(strategy.city_id)
        .target("strategy", id)
        .details(serde_json::json!({
            "title": strategy.title,
            "format": match format { Format::Markdown => "md", Format::Html => "html" },
            "version_id": version.as_ref().map(|v| v.id),
            "version": version.as_ref().map(|v| v.name.clone()),
        }));
    state.db.record_audit(entry).await?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| Error::Internal(e.into()))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if format == Format::Html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&export_csp()).map_err(|e| Error::Internal(e.into()))?,
        );
    }
    Ok(response)
}

/// The strategy (or `version` of it) as an [`Export`], read from the stored documents at the
/// version's heads. Shared with the public page's approved version.
pub(crate) async fn build_export(
    state: &AppState,
    strategy: &concerta_store::Strategy,
    version: Option<&concerta_store::Version>,
) -> Result<Export> {
    let city = state.db.get_city(strategy.city_id).await?;
    let areas: HashMap<_, _> = state.db.list_areas(city.id).await?.into_iter().map(|a| (a.id, a.name)).collect();
    let recorded: HashMap<_, _> = version
        .map(|v| v.sections.iter().map(|s| (s.section_id, parse_heads(&s.heads))).collect())
        .unwrap_or_default();

    let mut sections = Vec::with_capacity(strategy.sections.len());
    for section in &strategy.sections {
        // A version shows the sections it recorded; a section made later is not in it.
        if version.is_some() && !recorded.contains_key(&section.id) {
            continue;
        }
        let loaded = state.content.load(&state.db, section.doc_id).await?;
        let content = loaded.read(recorded.get(&section.id).map(Vec::as_slice))?;
        let area = section.area_id.and_then(|a| areas.get(&a).cloned());
        sections.push(ExportSection::new(section.stage, &section.title, area, content));
    }
    let date = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d").to_string();
    let export = Export {
        title: strategy.title.clone(),
        locale: city.locale,
        version: version.map(|v| ExportVersion {
            name: v.name.clone(),
            created_at: date(v.created_at),
            approved_at: v.approved_at.map(date),
        }),
        exported_at: date(chrono::Utc::now()),
        sections,
    };
    Ok(export)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Estrategia de Acción Internacional 2030"), "estrategia-de-accion-internacional-2030");
        assert_eq!(slug("  ¿Qué? ¡Sí!  "), "que-si");
        assert_eq!(slug("\"; rm -rf /"), "rm-rf");
        assert_eq!(slug("日本"), "estrategia");
    }
}
