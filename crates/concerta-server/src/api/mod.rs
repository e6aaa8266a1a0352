//! The REST API (`/api/…`): thin handlers that parse, authorize through
//! [`concerta_core::permit`], call one store method and shape the answer.
//!
//! Visibility rule: a user who is neither a member of the city nor a network admin gets 404
//! for everything of that city (its existence is not revealed); a member lacking the
//! permission gets 403.

mod account;
mod actors;
mod areas;
mod audit;
mod baseline;
mod capacities;
mod cities;
pub(crate) mod comment_events;
pub(crate) mod consultations;
pub(crate) mod exports;
mod indicators;
mod members;
mod messages;
mod presence;
pub(crate) mod roundtables;
mod strategies;
mod versions;

use std::str::FromStr;

use axum::Router;
use axum::extract::State;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post, put};
use concerta_core::{Action, AreaId, CityId, Principal, Resource, permit};
use concerta_store::User;
use serde::{Deserialize, Deserializer, Serialize};

use crate::auth::{self, CurrentUser, UserView};
use crate::error::{Error, Result};
use crate::state::AppState;

/// Every `/api` route.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/instance", get(crate::instance::get))
        .route("/api/setup", post(crate::instance::setup))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/me", get(me).patch(update_me))
        .route("/api/me/tokens", post(auth::create_token))
        .route("/api/me/password", post(auth::change_password))
        .route("/api/me/sessions", get(account::list_sessions))
        .route("/api/me/sessions/end-others", post(account::end_other_sessions))
        .route("/api/me/sessions/{id}", axum::routing::delete(account::end_session))
        .route("/api/tokens", get(account::list_tokens).post(account::create_token))
        .route("/api/tokens/{id}", axum::routing::delete(account::revoke_token))
        .route("/api/cities", post(cities::create).get(cities::list))
        .route("/api/cities/{city}", get(cities::get).patch(cities::update))
        .route("/api/cities/{city}/areas", post(areas::create).get(areas::list))
        .route("/api/cities/{city}/members", post(members::create).get(members::list))
        .route("/api/cities/{city}/members/{member}", patch(members::update).delete(members::delete))
        .route("/api/cities/{city}/actors", post(actors::create).get(actors::list))
        .route("/api/cities/{city}/actors/{actor}", patch(actors::update).delete(actors::delete))
        .route("/api/cities/{city}/audit", get(audit::city))
        .route("/api/cities/{city}/messages", get(messages::list))
        .route("/api/cities/{city}/invitations", get(crate::invites::list))
        .route("/api/cities/{city}/invitations/{id}/resend", post(crate::invites::resend))
        .route("/api/cities/{city}/invitations/{id}/revoke", post(crate::invites::revoke))
        .route("/api/invitations/{token}", get(crate::invites::preview))
        .route("/api/invitations/{token}/accept", post(crate::invites::accept))
        .route("/api/audit", get(audit::instance))
        .route("/api/cities/{city}/strategies", post(strategies::create).get(strategies::list))
        .route("/api/strategies/{id}", get(strategies::get))
        .route("/api/strategies/{id}/presence", get(presence::get))
        .route("/api/sections/{id}/area", put(strategies::set_area))
        .route("/api/sections/{id}/state", put(strategies::set_state))
        .route("/api/sections/{id}/diff", get(versions::diff))
        .route("/api/strategies/{id}/versions", post(versions::create).get(versions::list))
        .route("/api/strategies/{id}/export", get(exports::export))
        .route("/api/versions/{id}", get(versions::get))
        .route("/api/versions/{id}/approve", post(versions::approve))
        .route("/api/sdg", get(indicators::sdg))
        .route("/api/strategies/{id}/indicators", get(indicators::list).post(indicators::create))
        .route("/api/strategies/{id}/indicators/template", post(indicators::create_from_template))
        .route(
            "/api/strategies/{id}/indicators.csv",
            get(indicators::export_indicators)
                .post(indicators::import_indicators)
                .layer(DefaultBodyLimit::max(indicators::MAX_CSV_BYTES + 1024)),
        )
        .route(
            "/api/strategies/{id}/measurements.csv",
            get(indicators::export_measurements)
                .post(indicators::import_measurements)
                .layer(DefaultBodyLimit::max(indicators::MAX_CSV_BYTES + 1024)),
        )
        .route("/api/indicators/{id}", get(indicators::get).put(indicators::update).delete(indicators::delete))
        .route("/api/indicators/{id}/chart.svg", get(indicators::chart_svg))
        .route("/api/indicators/{id}/status-override", put(indicators::set_override).delete(indicators::clear_override))
        .route(
            "/api/indicators/{id}/measurements",
            get(indicators::list_measurements)
                .post(indicators::create_measurement)
                .layer(DefaultBodyLimit::max(indicators::MAX_EVIDENCE_BYTES + 64 * 1024)),
        )
        .route("/api/measurements/{id}/review", post(indicators::review))
        .route("/api/measurements/{id}", axum::routing::delete(indicators::delete_measurement))
        .route("/api/evidence/{id}", get(indicators::evidence))
        .route("/api/strategies/{id}/capacities", get(capacities::list))
        .route("/api/strategies/{id}/capacities/template", post(capacities::create_from_template))
        .route("/api/capacities/{id}", patch(capacities::update))
        .route("/api/networks", get(baseline::list_networks).post(baseline::create_network))
        .route("/api/networks/{id}/cities", post(baseline::add_city))
        .route("/api/networks/{id}/questionnaires", get(baseline::list_questionnaires).post(baseline::create_questionnaire))
        .route("/api/questionnaires/{id}", get(baseline::get).patch(baseline::set_period))
        .route("/api/questionnaires/{id}/responses/{city}", put(baseline::respond))
        .route("/api/questionnaires/{id}/comparison", get(baseline::comparison))
        .route("/api/cities/{city}/roundtables", post(roundtables::create).get(roundtables::list))
        .route("/api/roundtables/{id}", get(roundtables::get).patch(roundtables::update))
        .route("/api/roundtables/{id}/cancel", post(roundtables::cancel))
        .route("/api/roundtables/{id}/close", post(roundtables::close))
        .route("/api/roundtables/{id}/invitations", post(roundtables::invite).get(roundtables::invitations))
        .route("/api/roundtables/{id}/invitations/{invitation}/resend", post(roundtables::resend))
        .route("/api/roundtables/{id}/balance", get(roundtables::sector_balance))
        .route("/api/roundtables/{id}/agreements", get(roundtables::agreements))
        .route("/api/sections/{id}/agreements", get(roundtables::section_agreements))
        .route("/api/cities/{city}/consultations", post(consultations::create).get(consultations::list))
        .route("/api/consultations/{id}", get(consultations::get))
        .route("/api/consultations/{id}/sections/{section}", get(consultations::section_text))
        .route("/api/consultations/{id}/invitations", post(consultations::invite).get(consultations::invitations))
        .route("/api/consultations/{id}/invitations/{invitee}/resend", post(consultations::resend_invitation))
        .route("/api/consultations/{id}/invitations/{invitee}/revoke", post(consultations::revoke_invitation))
        .route("/api/consultations/{id}/comments", post(consultations::comment).get(consultations::comments))
        .route("/api/consultations/{id}/events", get(comment_events::consultation))
        .route("/api/consultations/{id}/unanswered", get(consultations::unanswered))
        .route("/api/consultations/{id}/report", get(consultations::report))
        .route("/api/comments/{id}/response", post(consultations::respond))
        .route("/api/comments/{id}/hide", post(consultations::hide))
        .route("/api/comments/{id}/applied", post(consultations::applied))
        .route("/api/sections/{id}/comments", get(consultations::section_comments))
        .route("/api/sections/{id}/comments/events", get(comment_events::section))
}

/// Checks that `user` may do `action` to a resource of `city` (a section's `area` for
/// section actions). 404 when the user cannot see the city at all, 403 when they can but may
/// not do this. Returns the principal for further decisions.
pub(crate) async fn authorize(
    state: &AppState,
    user: &User,
    city: CityId,
    action: Action,
    area: Option<AreaId>,
) -> Result<Principal> {
    let membership = state.db.get_membership(city, user.id).await?;
    if membership.is_none() {
        // A network admin sees every city that exists; nobody sees one that does not.
        if !user.network_admin {
            return Err(Error::NotFound);
        }
        state.db.get_city(city).await?;
    }
    let principal = Principal { network_admin: user.network_admin, membership: membership.map(|m| m.membership()) };
    if permit(&principal, action, &Resource { city, area, invited: false }) {
        Ok(principal)
    } else if permit(&principal, Action::ViewCity, &Resource::city(city)) {
        Err(Error::Forbidden)
    } else {
        Err(Error::NotFound)
    }
}

/// Parses an id from the path; a malformed id is just an unknown one (404).
pub(crate) fn path_id<T: FromStr>(text: &str) -> Result<T> {
    text.parse().map_err(|_| Error::NotFound)
}

/// Parses an id from a body field (422 naming the field).
pub(crate) fn field_id<T: FromStr>(field: &str, text: &str) -> Result<T> {
    text.parse().map_err(|_| Error::invalid(field, "is not a valid id"))
}

/// Parses an enum spelling from a body field (422 naming the field and the choices).
pub(crate) fn field_enum<T: FromStr<Err = concerta_core::ParseEnumError>>(field: &str, text: &str) -> Result<T> {
    text.parse().map_err(|e: concerta_core::ParseEnumError| Error::invalid(field, format!("must be one of: {}", e.expected)))
}

/// For PATCH-style bodies: a field that is absent (`None`), `null` (`Some(None)`) or set.
pub(crate) fn double_option<'de, D, T>(deserializer: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Serialize)]
struct MembershipView {
    id: concerta_core::MemberId,
    city_id: CityId,
    role: concerta_core::Role,
    area_id: Option<AreaId>,
}

#[derive(Serialize)]
struct MeView {
    #[serde(flatten)]
    user: UserView,
    memberships: Vec<MembershipView>,
}

/// The language field of a body (`es`, `en`, `pt`); blank or absent is none, anything else
/// a 422 naming `field`.
pub(crate) fn locale_field(field: &str, text: Option<String>) -> Result<Option<concerta_core::Locale>> {
    actors::locale(field, text)
}

/// `PATCH /api/me` body: `locale` is `es`, `en`, `pt`, or `null` to fall back to each city's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateMe {
    #[serde(default, deserialize_with = "double_option")]
    locale: Option<Option<String>>,
}

/// `PATCH /api/me {"locale"}` → the current user as `GET /api/me` shows them: sets the
/// language the user chose for the app and for the email they receive.
#[tracing::instrument(skip_all)]
async fn update_me(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    crate::error::JsonBody(body): crate::error::JsonBody<UpdateMe>,
) -> Result<axum::Json<impl Serialize>> {
    let user = match body.locale {
        Some(locale) => state.db.set_user_locale(user.id, locale_field("locale", locale)?).await?,
        None => user,
    };
    me(State(state), CurrentUser(user)).await
}

/// `GET /api/me` → the current user and their memberships.
#[tracing::instrument(skip_all)]
async fn me(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> Result<axum::Json<impl Serialize>> {
    let memberships = state
        .db
        .list_memberships(user.id)
        .await?
        .into_iter()
        .map(|m| MembershipView { id: m.id, city_id: m.city_id, role: m.role, area_id: m.area_id })
        .collect();
    Ok(axum::Json(MeView { user: UserView::from(&user), memberships }))
}
