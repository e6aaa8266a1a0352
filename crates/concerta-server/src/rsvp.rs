//! `GET /rsvp/{token}` and `POST /rsvp/{token}`: the invitee's answer page, server-rendered,
//! no login and no JavaScript (a form with three buttons), in es, en and pt (`?lang=`, else
//! the browser's `Accept-Language`, else the city's language).
//!
//! The token ([`concerta_roundtable::token`]) names the invitation and its roundtable and is
//! signed with the deployment's key. An expired, forged or malformed token, or one whose
//! invitation is not of the roundtable it names, gets a clear page (410 or 404) and nothing
//! changes. A POST answers `303 See Other` back to the page, so a reload does not post again.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use concerta_core::{Locale, Rsvp};
use concerta_roundtable::Status;
use concerta_roundtable::token::{self, TokenError};
use concerta_roundtable::validate::local_time;
use serde::Deserialize;
use serde_json::json;

use crate::error::Result;
use crate::security::page_csp;
use crate::state::AppState;

const PAGE: &str = include_str!("rsvp/page.html");

// (key, es, en, pt)
#[rustfmt::skip]
const WORDS: &[(&str, &str, &str, &str)] = &[
    ("languages", "Idiomas", "Languages", "Idiomas"),
    ("invitee", "Invitación para", "Invitation for", "Convite para"),
    ("when", "Cuándo", "When", "Quando"),
    ("where", "Dónde", "Where", "Onde"),
    ("online", "En línea", "Online", "On-line"),
    ("purpose", "Propósito", "Purpose", "Propósito"),
    ("agenda", "Agenda", "Agenda", "Pauta"),
    ("your_answer", "Su respuesta", "Your answer", "Sua resposta"),
    ("question", "¿Asistirá?", "Will you attend?", "Você vai participar?"),
    ("accept", "Asistiré", "I will attend", "Vou participar"),
    ("tentative", "Quizás", "Maybe", "Talvez"),
    ("decline", "No asistiré", "I will not attend", "Não vou participar"),
    ("changeable", "Puede cambiar su respuesta más tarde con este mismo enlace.", "You can change your answer later with this same link.", "Você pode mudar sua resposta depois com este mesmo link."),
    ("saved", "Respuesta guardada:", "Answer saved:", "Resposta salva:"),
    ("cancelled", "Esta mesa fue cancelada.", "This roundtable was cancelled.", "Esta mesa foi cancelada."),
    ("closed", "Esta mesa ya se celebró; ya no se reciben respuestas.", "This roundtable has already been held; answers are closed.", "Esta mesa já foi realizada; as respostas estão encerradas."),
    ("pending", "Sin responder", "Not answered yet", "Sem resposta"),
    ("accepted", "Asistirá", "Attending", "Vai participar"),
    ("declined", "No asistirá", "Not attending", "Não vai participar"),
    ("tentative_answer", "Quizás", "Maybe", "Talvez"),
    ("invalid_title", "Enlace no válido", "Link not valid", "Link inválido"),
    ("invalid", "Este enlace de respuesta no es válido. Use el enlace de su correo de invitación más reciente o escriba a quien le invitó.", "This answer link is not valid. Use the link in your latest invitation email, or write to whoever invited you.", "Este link de resposta não é válido. Use o link do seu e-mail de convite mais recente ou escreva para quem o convidou."),
    ("expired_title", "Enlace vencido", "Link expired", "Link expirado"),
    ("expired", "Este enlace de respuesta venció. Escriba a quien le invitó si aún quiere responder.", "This answer link has expired. Write to whoever invited you if you still want to answer.", "Este link de resposta expirou. Escreva para quem o convidou se ainda quiser responder."),
    ("bad_answer_title", "Respuesta no válida", "Answer not valid", "Resposta inválida"),
    ("bad_answer", "Elija asistiré, quizás o no asistiré.", "Choose attend, maybe or not attend.", "Escolha vou participar, talvez ou não vou participar."),
    ("not_open_title", "Ya no se reciben respuestas", "Answers are closed", "As respostas estão encerradas"),
];

fn word(lang: Locale, key: &str) -> &'static str {
    WORDS
        .iter()
        .find(|(k, ..)| *k == key)
        .map(|(_, es, en, pt)| match lang {
            Locale::Es => *es,
            Locale::En => *en,
            Locale::Pt => *pt,
        })
        .unwrap_or("")
}

fn answer_label(lang: Locale, rsvp: Rsvp) -> &'static str {
    match rsvp {
        Rsvp::Pending => word(lang, "pending"),
        Rsvp::Accepted => word(lang, "accepted"),
        Rsvp::Declined => word(lang, "declined"),
        Rsvp::Tentative => word(lang, "tentative_answer"),
    }
}

/// `?lang=` and `?saved=`.
#[derive(Deserialize, Default)]
pub(crate) struct RsvpQuery {
    lang: Option<String>,
    saved: Option<String>,
}

/// The posted form.
#[derive(Deserialize)]
pub(crate) struct RsvpForm {
    answer: Option<String>,
}

/// The language asked for, else the first supported one the browser prefers.
fn language(query: &RsvpQuery, headers: &HeaderMap) -> Option<Locale> {
    if let Some(l) = query.lang.as_deref().and_then(|l| l.parse().ok()) {
        return Some(l);
    }
    let accept = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    accept.split(',').find_map(|part| part.split(';').next()?.trim().get(..2)?.to_ascii_lowercase().parse().ok())
}

fn html(status: StatusCode, body: String) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let (name, value) = page_csp();
    headers.insert(name, value);
    (status, headers, body).into_response()
}

fn render(context: serde_json::Value) -> Result<String> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("rsvp.html", PAGE)
        .and_then(|_| env.get_template("rsvp.html"))
        .and_then(|t| t.render(context))
        .map_err(|e| crate::error::Error::Internal(anyhow::anyhow!("rendering the RSVP page: {e}")))
}

fn words(lang: Locale) -> serde_json::Value {
    json!(WORDS.iter().map(|(k, ..)| (*k, word(lang, k))).collect::<std::collections::BTreeMap<_, _>>())
}

fn languages() -> serde_json::Value {
    json!([{"code": "es", "name": "Español"}, {"code": "en", "name": "English"}, {"code": "pt", "name": "Português"}])
}

fn problem(status: StatusCode, lang: Locale, title_key: &str, text_key: &str) -> Result<Response> {
    let body = render(json!({
        "lang": lang.as_str(),
        "title": word(lang, title_key),
        "problem_title": word(lang, title_key),
        "problem": word(lang, text_key),
        "t": words(lang),
        "languages": languages(),
    }))?;
    Ok(html(status, body))
}

/// What a token leads to, or the page that says why not.
enum Found {
    Ok(Box<(concerta_store::Roundtable, concerta_store::Invitation, concerta_store::City)>),
    Refused(StatusCode, &'static str, &'static str),
}

async fn find(state: &AppState, token_text: &str) -> Result<Found> {
    let key = state.db.rsvp_key().await?;
    let claim = match token::verify(&key, token_text, chrono::Utc::now()) {
        Ok(c) => c,
        Err(TokenError::Expired) => return Ok(Found::Refused(StatusCode::GONE, "expired_title", "expired")),
        Err(e) => {
            tracing::info!(error = %e, "RSVP token refused");
            return Ok(Found::Refused(StatusCode::NOT_FOUND, "invalid_title", "invalid"));
        }
    };
    let invitation = match state.db.get_invitation(claim.invitation).await {
        Ok(i) if i.roundtable_id == claim.roundtable => i,
        Ok(_) => {
            tracing::warn!(invitation = %claim.invitation, roundtable = %claim.roundtable, "RSVP token names another roundtable");
            return Ok(Found::Refused(StatusCode::NOT_FOUND, "invalid_title", "invalid"));
        }
        Err(concerta_store::Error::NotFound) => return Ok(Found::Refused(StatusCode::NOT_FOUND, "invalid_title", "invalid")),
        Err(e) => return Err(e.into()),
    };
    let rt = state.db.get_roundtable(claim.roundtable).await?;
    let city = state.db.get_city(rt.city_id).await?;
    Ok(Found::Ok(Box::new((rt, invitation, city))))
}

/// `GET /rsvp/{token}[?lang=][&saved=1]`: the invitation and the three answers.
#[tracing::instrument(skip_all)]
pub(crate) async fn page(
    State(state): State<AppState>,
    Path(token_text): Path<String>,
    Query(query): Query<RsvpQuery>,
    headers: HeaderMap,
) -> Result<Response> {
    let asked = language(&query, &headers);
    let found = find(&state, &token_text).await?;
    let (rt, invitation, city) = match found {
        Found::Ok(b) => *b,
        Found::Refused(status, title, text) => return problem(status, asked.unwrap_or(Locale::Es), title, text),
    };
    let lang = asked.unwrap_or(city.locale);
    let s = &rt.details.schedule;
    let fmt = |at| local_time(at, &s.timezone).strftime("%Y-%m-%d %H:%M").to_string();
    let when = format!("{} – {} ({})", fmt(s.starts_at), local_time(s.ends_at, &s.timezone).strftime("%H:%M"), s.timezone);
    let action = match &query.lang {
        Some(l) if l.parse::<Locale>().is_ok() => format!("/rsvp/{token_text}?lang={l}"),
        _ => format!("/rsvp/{token_text}"),
    };
    let body = render(json!({
        "lang": lang.as_str(),
        "title": rt.details.title,
        "city": city.name,
        "rt": {
            "title": rt.details.title,
            "purpose": rt.details.purpose,
            "agenda": rt.details.agenda,
            "location": rt.details.location,
            "online_url": rt.details.online_url,
        },
        "invitee": if invitation.organization.is_empty() { invitation.name.clone() } else { format!("{} ({})", invitation.name, invitation.organization) },
        "when": when,
        "answer_label": answer_label(lang, invitation.rsvp),
        "saved": query.saved.is_some(),
        "open": rt.status == Status::Scheduled,
        "cancelled": rt.status == Status::Cancelled,
        "closed": rt.status == Status::Closed,
        "action": action,
        "t": words(lang),
        "languages": languages(),
    }))?;
    Ok(html(StatusCode::OK, body))
}

/// `POST /rsvp/{token}` with the form field `answer` = `accepted`, `declined` or
/// `tentative`: records the answer and goes back to the page.
#[tracing::instrument(skip_all)]
pub(crate) async fn answer(
    State(state): State<AppState>,
    Path(token_text): Path<String>,
    Query(query): Query<RsvpQuery>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<RsvpForm>,
) -> Result<Response> {
    let asked = language(&query, &headers);
    let (rt, invitation, city) = match find(&state, &token_text).await? {
        Found::Ok(b) => *b,
        Found::Refused(status, title, text) => return problem(status, asked.unwrap_or(Locale::Es), title, text),
    };
    let lang = asked.unwrap_or(city.locale);
    let answer = match form.answer.as_deref().map(str::parse::<Rsvp>) {
        Some(Ok(a)) if a != Rsvp::Pending => a,
        _ => return problem(StatusCode::UNPROCESSABLE_ENTITY, lang, "bad_answer_title", "bad_answer"),
    };
    if rt.status != Status::Scheduled {
        let text = if rt.status == Status::Cancelled { "cancelled" } else { "closed" };
        return problem(StatusCode::CONFLICT, lang, "not_open_title", text);
    }
    match state.db.set_rsvp(rt.id, invitation.id, answer).await {
        Ok(_) => {}
        Err(concerta_store::Error::NotFound) => return problem(StatusCode::NOT_FOUND, lang, "invalid_title", "invalid"),
        Err(concerta_store::Error::Invalid { .. }) => return problem(StatusCode::CONFLICT, lang, "not_open_title", "closed"),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(roundtable = %rt.id, invitation = %invitation.id, answer = %answer, "RSVP recorded");
    metrics::counter!("concerta_rsvp_answers_total", "answer" => answer.as_str()).increment(1);
    let back = match &query.lang {
        Some(l) if l.parse::<Locale>().is_ok() => format!("/rsvp/{token_text}?lang={l}&saved=1"),
        _ => format!("/rsvp/{token_text}?saved=1"),
    };
    Ok(Redirect::to(&back).into_response())
}
