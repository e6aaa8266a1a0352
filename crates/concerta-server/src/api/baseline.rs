//! The baseline questionnaire across networks of cities over HTTP.
//!
//! - `GET|POST /api/networks` (POST: network admins) `{"name","slug"}`
//! - `POST /api/networks/{id}/cities` `{"city_id"}` (network admins)
//! - `GET|POST /api/networks/{id}/questionnaires` (POST: network admins)
//!   `{"title","period","questions"?:[{"key","group"?,"text","kind"}]}` (the seed's default
//!   questions when `questions` is absent)
//! - `GET|PATCH /api/questionnaires/{id}` (PATCH `{"period"}` opens a new period; admins)
//! - `PUT /api/questionnaires/{id}/responses/{city}` `{"answers":{key:value},"shared"}`
//!   (the city's coordinator; once per period, amended by a new PUT)
//! - `GET /api/questionnaires/{id}/comparison?city={city}[&period=]` → per question the
//!   network's median and quartiles, the city's own answer, and the answers of cities that
//!   share theirs; without `city`, a network admin sees every city's answers.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use concerta_core::{Action, CityId, NetworkId, QuestionnaireId, validate_name, validate_slug};
use concerta_evaluation::{QuestionKind, Text};
use concerta_store::{BaselineResponse, Comparison, Network, NewQuestion, Questionnaire, User, Viewer};
use serde::Deserialize;

use super::{authorize, field_enum, field_id, path_id};
use crate::auth::CurrentUser;
use crate::error::{Error, JsonBody, Result};
use crate::state::AppState;

fn admin_only(user: &User) -> Result<()> {
    if user.network_admin { Ok(()) } else { Err(Error::Forbidden) }
}

/// Whether `user` may see network `network`: its administrators, and members of its cities.
async fn may_see(state: &AppState, user: &User, network: &Network) -> Result<()> {
    if user.network_admin {
        return Ok(());
    }
    let mine = state.db.list_memberships(user.id).await?;
    if mine.iter().any(|m| network.city_ids.contains(&m.city_id)) { Ok(()) } else { Err(Error::NotFound) }
}

fn validate_period(period: &str) -> Result<String> {
    let period = period.trim();
    let ok = (1..=20).contains(&period.len()) && period.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(period.to_owned()) } else { Err(Error::invalid("period", "must be 1 to 20 letters, digits, '-', '_' or '.' (like 2026)")) }
}

#[derive(Deserialize)]
pub(super) struct NetworkBody {
    name: String,
    slug: String,
}

/// `POST /api/networks` → 201 network.
#[tracing::instrument(skip_all)]
pub(super) async fn create_network(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    JsonBody(body): JsonBody<NetworkBody>,
) -> Result<(StatusCode, Json<Network>)> {
    admin_only(&user)?;
    let name = validate_name("name", &body.name)?;
    let slug = validate_slug("slug", body.slug.trim())?.to_owned();
    Ok((StatusCode::CREATED, Json(state.db.create_network(name, slug).await?)))
}

/// `GET /api/networks` → the networks the user administers or whose cities they belong to.
#[tracing::instrument(skip_all)]
pub(super) async fn list_networks(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> Result<Json<Vec<Network>>> {
    if user.network_admin {
        return Ok(Json(state.db.list_networks().await?));
    }
    let mut out: Vec<Network> = Vec::new();
    for m in state.db.list_memberships(user.id).await? {
        for n in state.db.list_city_networks(m.city_id).await? {
            if !out.iter().any(|o| o.id == n.id) {
                out.push(n);
            }
        }
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
pub(super) struct AddCity {
    city_id: String,
}

/// `POST /api/networks/{id}/cities` → the network.
#[tracing::instrument(skip_all)]
pub(super) async fn add_city(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AddCity>,
) -> Result<Json<Network>> {
    admin_only(&user)?;
    let id: NetworkId = path_id(&id)?;
    let city: CityId = field_id("city_id", &body.city_id)?;
    Ok(Json(state.db.add_network_city(id, city).await?))
}

#[derive(Deserialize)]
pub(super) struct QuestionBody {
    key: String,
    group: Option<Text>,
    text: Text,
    kind: String,
}

#[derive(Deserialize)]
pub(super) struct QuestionnaireBody {
    title: String,
    period: String,
    questions: Option<Vec<QuestionBody>>,
}

/// `POST /api/networks/{id}/questionnaires` → 201 questionnaire.
#[tracing::instrument(skip_all)]
pub(super) async fn create_questionnaire(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<QuestionnaireBody>,
) -> Result<(StatusCode, Json<Questionnaire>)> {
    admin_only(&user)?;
    let id: NetworkId = path_id(&id)?;
    let title = validate_name("title", &body.title)?;
    let period = validate_period(&body.period)?;
    let questions = match body.questions {
        None => None,
        Some(qs) if qs.is_empty() => return Err(Error::invalid("questions", "must not be empty")),
        Some(qs) => Some(
            qs.into_iter()
                .enumerate()
                .map(|(i, q)| {
                    let field = |f: &str| format!("questions[{i}].{f}");
                    let text = |t: &str, f: &str| validate_name(&field(f), t);
                    Ok(NewQuestion {
                        key: concerta_evaluation::validate::validate_code(&field("key"), &q.key)?,
                        kind: field_enum::<QuestionKind>(&field("kind"), &q.kind)?,
                        text: Text { es: text(&q.text.es, "text.es")?, en: text(&q.text.en, "text.en")?, pt: text(&q.text.pt, "text.pt")? },
                        group: q.group.unwrap_or_else(|| Text::new("", "", "")),
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        ),
    };
    let q = state.db.create_questionnaire(id, title, period, questions).await?;
    Ok((StatusCode::CREATED, Json(q)))
}

/// `GET /api/networks/{id}/questionnaires`.
#[tracing::instrument(skip_all)]
pub(super) async fn list_questionnaires(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<Questionnaire>>> {
    let id: NetworkId = path_id(&id)?;
    let network = state.db.get_network(id).await?;
    may_see(&state, &user, &network).await?;
    Ok(Json(state.db.list_questionnaires(id).await?))
}

async fn load(state: &AppState, user: &User, id: &str) -> Result<(Questionnaire, Network)> {
    let id: QuestionnaireId = path_id(id)?;
    let q = state.db.get_questionnaire(id).await?;
    let network = state.db.get_network(q.network_id).await?;
    may_see(state, user, &network).await?;
    Ok((q, network))
}

/// `GET /api/questionnaires/{id}`.
#[tracing::instrument(skip_all)]
pub(super) async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Questionnaire>> {
    Ok(Json(load(&state, &user, &id).await?.0))
}

#[derive(Deserialize)]
pub(super) struct PeriodBody {
    period: String,
}

/// `PATCH /api/questionnaires/{id}` `{"period"}` → the questionnaire, open for that period.
#[tracing::instrument(skip_all)]
pub(super) async fn set_period(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PeriodBody>,
) -> Result<Json<Questionnaire>> {
    admin_only(&user)?;
    let (q, _) = load(&state, &user, &id).await?;
    Ok(Json(state.db.set_questionnaire_period(q.id, validate_period(&body.period)?).await?))
}

#[derive(Deserialize)]
pub(super) struct ResponseBody {
    answers: HashMap<String, f64>,
    #[serde(default)]
    shared: bool,
}

/// `PUT /api/questionnaires/{id}/responses/{city}` → the city's response for the open period.
#[tracing::instrument(skip_all)]
pub(super) async fn respond(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, city)): Path<(String, String)>,
    JsonBody(body): JsonBody<ResponseBody>,
) -> Result<Json<BaselineResponse>> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::AnswerBaseline, None).await?;
    let (q, network) = load(&state, &user, &id).await?;
    if !network.city_ids.contains(&city) {
        return Err(Error::NotFound);
    }
    Ok(Json(state.db.submit_baseline(q.id, city, body.answers, body.shared, user.id).await?))
}

#[derive(Deserialize)]
pub(super) struct ComparisonQuery {
    city: Option<String>,
    period: Option<String>,
}

/// `GET /api/questionnaires/{id}/comparison?city={city}[&period=]`.
#[tracing::instrument(skip_all)]
pub(super) async fn comparison(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Query(query): Query<ComparisonQuery>,
) -> Result<Json<Comparison>> {
    let (q, network) = load(&state, &user, &id).await?;
    let viewer = match query.city.as_deref() {
        Some(city) => {
            let city: CityId = path_id(city)?;
            authorize(&state, &user, city, Action::ViewEvaluation, None).await?;
            if !network.city_ids.contains(&city) {
                return Err(Error::NotFound);
            }
            Viewer::City(city)
        }
        None if user.network_admin => Viewer::NetworkAdmin,
        None => return Err(Error::invalid("city", "is required: the city you compare")),
    };
    let period = match query.period {
        Some(p) => validate_period(&p)?,
        None => q.period.clone(),
    };
    Ok(Json(state.db.baseline_comparison(q.id, &period, viewer).await?))
}
