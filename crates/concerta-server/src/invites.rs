//! Account invitations over HTTP, and their signed links.
//!
//! A link is `<public URL>/invite/<token>`, the token being base64url of the invitation id
//! (16 bytes), the link's generation (4 bytes) and the first 16 bytes of an HMAC-SHA256 of
//! both under the deployment's key (`Database::invitation_key`, shared by every node). A
//! forged or altered token fails the HMAC before the database is asked; a replaced link
//! (resend bumps the generation), a used, revoked or expired one is refused by the store.
//!
//! Routes: the coordinator's list, resend and revoke under `/api/cities/{city}/invitations`;
//! the public `GET /api/invitations/{token}` (what the link is for) and
//! `POST /api/invitations/{token}/accept {"password","locale"?}` (sets the password and the
//! account's language, starts a session,
//! answers the city to land in). The web app's `/invite/{token}` page drives the last two.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use concerta_core::{AccountInvitationId, Action, CityId};
use concerta_store::{AccountInvitation, AuditActor, InvitationClaim, InvitationPreview, User};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::api::{authorize, path_id};
use crate::auth::{ClientAddress, CurrentUser, SESSION_DAYS, UserView, hash_password, session_cookie_header, start_session, validate_password};
use crate::error::{Error, JsonBody, Result};
use crate::state::AppState;

/// How long an invitation link works.
pub const VALID_DAYS: i64 = 14;

/// Signs and checks invitation tokens with the deployment's key.
#[derive(Clone)]
pub struct InviteSigner {
    key: Vec<u8>,
    base_url: String,
}

const TAG_LEN: usize = 16;
const TOKEN_LEN: usize = 16 + 4 + TAG_LEN;

impl InviteSigner {
    /// A signer with `key` making links under `base_url`.
    pub fn new(key: &[u8], base_url: String) -> Self {
        Self { key: key.to_vec(), base_url }
    }

    fn tag(&self, id: AccountInvitationId, generation: u32) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(b"concerta account invitation\0");
        mac.update(id.uuid().as_bytes());
        mac.update(&generation.to_be_bytes());
        mac
    }

    /// The token of `id`'s link of `generation`.
    pub fn token(&self, id: AccountInvitationId, generation: u32) -> String {
        let tag = self.tag(id, generation).finalize().into_bytes();
        let mut bytes = Vec::with_capacity(TOKEN_LEN);
        bytes.extend_from_slice(id.uuid().as_bytes());
        bytes.extend_from_slice(&generation.to_be_bytes());
        bytes.extend_from_slice(&tag[..TAG_LEN]);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The whole link.
    pub fn link(&self, id: AccountInvitationId, generation: u32) -> String {
        format!("{}/invite/{}", self.base_url, self.token(id, generation))
    }

    /// What a token claims, if its signature holds.
    pub fn verify(&self, token: &str) -> Option<InvitationClaim> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        if bytes.len() != TOKEN_LEN {
            return None;
        }
        let id = AccountInvitationId::from(uuid::Uuid::from_slice(&bytes[..16]).ok()?);
        let generation = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
        self.tag(id, generation).verify_truncated_left(&bytes[20..]).ok()?;
        Some(InvitationClaim { id, generation })
    }
}

/// The signer of `state` (the key is read from the database once).
pub async fn signer(state: &AppState) -> Result<InviteSigner> {
    let key = state
        .invite_key
        .get_or_try_init(|| async {
            let hex = state.db.invitation_key().await?;
            let key: Vec<u8> = (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                .collect();
            Ok::<_, Error>(key)
        })
        .await?;
    Ok(InviteSigner::new(key, state.config.public_url()))
}

/// How long a new or resent link works.
pub fn valid_for() -> chrono::Duration {
    chrono::Duration::days(VALID_DAYS)
}

/// `GET /api/cities/{city}/invitations` → the city's account invitations with their state
/// and the delivery status of their latest email (coordinators).
#[tracing::instrument(skip_all)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
) -> Result<Json<Vec<AccountInvitation>>> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ManageMembers, None).await?;
    Ok(Json(state.db.list_account_invitations(city).await?))
}

/// `POST /api/cities/{city}/invitations/{id}/resend` → the invitation, with a new link (the
/// old one stops working) and a new expiry.
#[tracing::instrument(skip_all)]
pub async fn resend(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((city, id)): Path<(String, String)>,
) -> Result<Json<AccountInvitation>> {
    let city: CityId = path_id(&city)?;
    let id: AccountInvitationId = path_id(&id)?;
    authorize(&state, &user, city, Action::ManageMembers, None).await?;
    let signer = signer(&state).await?;
    let links = move |id: AccountInvitationId, generation: u32| signer.link(id, generation);
    let invitation = state
        .db
        .resend_account_invitation(city, id, AuditActor::User(user.id), user.name.clone(), valid_for(), &links)
        .await?;
    tracing::info!(city = %city, invitation = %id, "invitation resent");
    Ok(Json(invitation))
}

/// `POST /api/cities/{city}/invitations/{id}/revoke` → the invitation, withdrawn.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((city, id)): Path<(String, String)>,
) -> Result<Json<AccountInvitation>> {
    let city: CityId = path_id(&city)?;
    let id: AccountInvitationId = path_id(&id)?;
    authorize(&state, &user, city, Action::ManageMembers, None).await?;
    let invitation = state.db.revoke_invitation(city, id, AuditActor::User(user.id)).await?;
    tracing::info!(city = %city, invitation = %id, "invitation revoked");
    Ok(Json(invitation))
}

async fn claim(state: &AppState, token: &str) -> Result<InvitationClaim> {
    signer(state)
        .await?
        .verify(token)
        .ok_or(Error::InvitationLink(concerta_store::LinkProblem::Invalid))
}

/// `GET /api/invitations/{token}` (no login) → what the link is for, or why it does not work.
#[tracing::instrument(skip_all)]
pub async fn preview(State(state): State<AppState>, Path(token): Path<String>) -> Result<Json<InvitationPreview>> {
    let claim = claim(&state, &token).await?;
    state.db.preview_invitation(claim).await?.map(Json).map_err(Error::InvitationLink)
}

/// `POST /api/invitations/{token}/accept` body.
#[derive(Deserialize)]
pub struct AcceptBody {
    password: String,
    /// The language the page was read in (`es`, `en`, `pt`): becomes the account's.
    #[serde(default)]
    locale: Option<String>,
}

/// What accepting answers.
#[derive(Serialize)]
struct Accepted {
    user: UserView,
    city_id: CityId,
}

/// `POST /api/invitations/{token}/accept {"password"}` (no login) → sets the password once,
/// starts a session (cookie) and answers `{"user","city_id"}`.
#[tracing::instrument(skip_all)]
pub async fn accept(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Path(token): Path<String>,
    JsonBody(body): JsonBody<AcceptBody>,
) -> Result<Response> {
    let claim = claim(&state, &token).await?;
    validate_password(&body.password)?;
    let locale = crate::api::locale_field("locale", body.locale)?;
    // Refuse a dead link before paying for the hash.
    state.db.preview_invitation(claim).await?.map_err(Error::InvitationLink)?;
    let hash = hash_password(body.password).await?;
    let (mut user, city): (User, CityId) = state.db.accept_invitation(claim, hash).await?.map_err(Error::InvitationLink)?;
    if let Some(locale) = locale {
        user = state.db.set_user_locale(user.id, Some(locale)).await?;
    }
    let (secret, session) = start_session(&state, &user, &headers, address).await?;
    tracing::info!(user = %user.id, session = %session, invitation = %claim.id, "invitation accepted");
    let cookie = session_cookie_header(&state, &secret, SESSION_DAYS * 24 * 3600);
    Ok(([(header::SET_COOKIE, cookie)], Json(Accepted { user: UserView::from(&user), city_id: city })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_forgeries_do_not() {
        let signer = InviteSigner::new(b"0123456789abcdef0123456789abcdef", "https://c.example".into());
        let id = AccountInvitationId::new();
        let token = signer.token(id, 3);
        let claim = signer.verify(&token).expect("a genuine token verifies");
        assert_eq!((claim.id, claim.generation), (id, 3));
        assert!(signer.link(id, 3).starts_with("https://c.example/invite/"));
        // Another key, another generation, a flipped byte, garbage: refused.
        let other = InviteSigner::new(b"another key", "https://c.example".into());
        assert!(other.verify(&token).is_none());
        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[19] ^= 1;
        assert!(signer.verify(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes)).is_none());
        assert!(signer.verify("not a token").is_none());
        assert!(signer.verify("").is_none());
    }
}
