//! Consultations over HTTP (issue 17).
//!
//! - `POST /api/cities/{city}/consultations` `{"strategy_id","version_id"?,"title",
//!   "explanation"?,"opens_at"?,"closes_at","section_ids"?}` → 201 consultation (coordinator)
//! - `GET /api/cities/{city}/consultations` → those the caller may see (staff: all;
//!   stakeholders: those they were invited to)
//! - `GET /api/consultations/{id}` → the consultation, its sections, the caller's invitation
//! - `GET /api/consultations/{id}/sections/{section}` → the consulted text (read-only; a
//!   version's at its heads)
//! - `POST /api/consultations/{id}/invitations` `{"invitees":[{"email","name","organization",
//!   "sector"} | {"actor_id","email"?,"name"?}]}` → 201 invitations; `GET` lists them, each
//!   with its email's delivery. A new invitee without a password gets the account invitation
//!   naming the consultation (its link sets the password once, then opens the consultation),
//!   one with an account the invitation to comment; both queued in the invitation's
//!   transaction. `POST …/invitations/{invitee}/resend` sends it again (a new link);
//!   `POST …/invitations/{invitee}/revoke` withdraws it (and an unused password link).
//! - `POST /api/consultations/{id}/comments` `{"section_id","body","anchor"?:{"quote",
//!   "start"?,"end"?,"occurrence"?},"suggestion"?,"parent_id"?}` → 201 comment; `GET` lists
//!   what the caller may see, anchors resolved against the section's document now
//! - `GET /api/consultations/{id}/unanswered` → counts per section and per responsible area
//! - `POST /api/comments/{id}/response` `{"decision","reason","version_id"?}` → the comment;
//!   its author's email (decision, reason, link; in the language the comment was written in:
//!   the body's `locale` or `Accept-Language`) is queued in the response's transaction
//! - `POST /api/comments/{id}/hide` `{"reason"}` → the comment (coordinator)
//!
//! Every decision goes through [`concerta_core::permit`] with the caller's invitation as part
//! of the resource ([`Resource::consultation`]).

use std::collections::{BTreeMap, HashMap};

use automerge::ChangeHash;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use concerta_content::anchor::{self, AnchorError};
use concerta_core::{
    AccountInvitationId, Action, AreaId, CityId, CommentId, ConsultationId, ConsultationInviteeId, Decision, Locale,
    Principal, Resource, Role, SectionId, Sector, StrategyId, VersionId, permit, validate_name, validate_text,
};
use concerta_store::{
    AuditActor, Comment, Consultation, InviteMail, Invitee, NewComment, NewConsultation, NewInvitee, NewResponse, Response,
    Section, User, zoned_time,
};
use serde::{Deserialize, Serialize};

use super::actors::{InviteeBody, ResolvedInvitee, resolve_invitees};
use super::{authorize, field_enum, field_id, path_id};
use crate::auth::CurrentUser;
use crate::content::parse_heads;
use crate::error::{Error, JsonBody, Result};
use crate::live::{CommentEvent, CommentEventKind};
use crate::state::AppState;

/// Longest comment or suggested rewrite, in characters.
pub const MAX_COMMENT_CHARS: usize = 5000;
/// Longest quoted passage.
pub const MAX_QUOTE_CHARS: usize = 2000;
/// Longest reason (of a response or a hide) or explanation.
pub const MAX_REASON_CHARS: usize = 4000;

/// Where a consultation stands at `now`.
pub fn status(c: &Consultation, now: DateTime<Utc>) -> &'static str {
    if now < c.opens_at {
        "upcoming"
    } else if now >= c.closes_at {
        "closed"
    } else {
        "open"
    }
}

/// Who is asking about a consultation: their principal in its city and their invitation.
pub(crate) struct Viewer {
    pub user: User,
    pub principal: Principal,
    pub invitee: Option<Invitee>,
}

impl Viewer {
    /// Whether the viewer may do `action` (on a comment of a section of `area`).
    pub fn may(&self, action: Action, c: &Consultation, area: Option<AreaId>) -> bool {
        permit(&self.principal, action, &Resource::consultation(c.city_id, area, self.invitee.is_some()))
    }

    fn role(&self) -> Option<Role> {
        self.principal.membership.map(|m| m.role)
    }

    /// Whether the viewer is the city's staff (sees every comment in full).
    pub fn is_staff(&self) -> bool {
        matches!(self.role(), Some(Role::Coordinator | Role::Editor | Role::Observer))
    }

    /// The refusal for `action`: a stakeholder is told they were not invited.
    fn refusal(&self) -> Error {
        if self.role() == Some(Role::Stakeholder) && self.invitee.is_none() {
            Error::Refused {
                status: StatusCode::FORBIDDEN,
                code: "not_invited",
                message: "you were not invited to this consultation".to_owned(),
            }
        } else {
            Error::Forbidden
        }
    }

    fn require(&self, action: Action, c: &Consultation, area: Option<AreaId>) -> Result<()> {
        if self.may(action, c, area) { Ok(()) } else { Err(self.refusal()) }
    }
}

/// The viewer of consultation `c`, who must at least see it: 404 when they cannot see its
/// city, 403 (`not_invited` for a stakeholder) when they see the city but not it.
pub(crate) async fn viewer(state: &AppState, user: User, c: &Consultation) -> Result<Viewer> {
    let membership = state.db.get_membership(c.city_id, user.id).await?;
    if membership.is_none() && !user.network_admin {
        return Err(Error::NotFound);
    }
    let invitee = state.db.get_invitee(c.id, user.id).await?;
    let principal = Principal { network_admin: user.network_admin, membership: membership.map(|m| m.membership()) };
    let viewer = Viewer { user, principal, invitee };
    viewer.require(Action::ViewConsultation, c, None)?;
    Ok(viewer)
}

/// A section as a consultation shows it.
#[derive(Serialize)]
pub(crate) struct SectionRef {
    id: SectionId,
    title: String,
    stage: concerta_core::Stage,
    area_id: Option<AreaId>,
    /// For those who may read the live document (the section editor); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    doc_url: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct InvitationRef {
    organization: String,
    sector: Sector,
}

/// A consultation as the API shows it.
#[derive(Serialize)]
pub(crate) struct ConsultationView {
    #[serde(flatten)]
    consultation: Consultation,
    status: &'static str,
    sections: Vec<SectionRef>,
    /// The caller's invitation, if invited.
    invitation: Option<InvitationRef>,
    /// The city's IANA time zone, in which its times are shown.
    timezone: String,
    may_manage: bool,
    may_comment: bool,
}

/// The consulted sections of `c`, in the strategy's order.
pub(crate) async fn consulted_sections(state: &AppState, c: &Consultation) -> Result<Vec<Section>> {
    let strategy = state.db.get_strategy(c.strategy_id).await?;
    Ok(strategy.sections.into_iter().filter(|s| c.covers(s.id)).collect())
}

async fn view(state: &AppState, viewer: &Viewer, c: Consultation) -> Result<ConsultationView> {
    let sections = consulted_sections(state, &c).await?;
    let timezone = state.db.get_city(c.city_id).await?.timezone;
    let sections = sections
        .into_iter()
        .map(|s| {
            let readable = permit(&viewer.principal, Action::ReadSection, &Resource::section(c.city_id, s.area_id));
            SectionRef { id: s.id, title: s.title, stage: s.stage, area_id: s.area_id, doc_url: readable.then(|| s.doc_id.url()) }
        })
        .collect();
    Ok(ConsultationView {
        status: status(&c, Utc::now()),
        sections,
        invitation: viewer.invitee.as_ref().map(|i| InvitationRef { organization: i.organization.clone(), sector: i.sector }),
        timezone,
        may_manage: viewer.may(Action::ManageConsultation, &c, None),
        may_comment: viewer.may(Action::CommentOnConsultation, &c, None),
        consultation: c,
    })
}

#[derive(Deserialize)]
pub(super) struct CreateBody {
    strategy_id: String,
    version_id: Option<String>,
    title: String,
    explanation: Option<String>,
    /// An instant with an offset, or a wall-clock time in the city's time zone.
    opens_at: Option<String>,
    /// The same.
    closes_at: String,
    section_ids: Option<Vec<String>>,
}

/// Reads `text` as an instant with an offset (`2026-12-27T23:00:00Z`) or as a wall-clock
/// time in the IANA zone `timezone` (`2026-12-27T18:00`).
fn parse_time(field: &str, text: &str, timezone: &str) -> Result<DateTime<Utc>> {
    let bad = || Error::invalid(field, "must be a date and time such as 2026-12-27T18:00 (in the city's time zone) or 2026-12-27T23:00:00Z");
    if let Ok(instant) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(instant.with_timezone(&Utc));
    }
    let civil: jiff::civil::DateTime = text.trim().parse().map_err(|_| bad())?;
    let zone = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let at = civil.to_zoned(zone).map_err(|_| bad())?.timestamp();
    DateTime::from_timestamp(at.as_second(), at.subsec_nanosecond().max(0) as u32).ok_or_else(bad)
}

/// `POST /api/cities/{city}/consultations` → 201 the consultation (coordinators).
#[tracing::instrument(skip_all)]
pub(super) async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<ConsultationView>)> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ManageConsultation, None).await?;
    let title = validate_name("title", &body.title)?;
    let explanation = match body.explanation.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(text) => validate_text("explanation", text, MAX_REASON_CHARS)?,
    };
    let timezone = state.db.get_city(city).await?.timezone;
    let opens_at = match body.opens_at.as_deref() {
        Some(text) => parse_time("opens_at", text, &timezone)?,
        None => Utc::now(),
    };
    let closes_at = parse_time("closes_at", &body.closes_at, &timezone)?;
    if closes_at <= opens_at {
        return Err(Error::invalid("closes_at", "must be after the opening (opens_at, now by default)"));
    }
    let strategy: StrategyId = field_id("strategy_id", &body.strategy_id)?;
    let version = body.version_id.as_deref().map(|v| field_id::<VersionId>("version_id", v)).transpose()?;
    let sections = body
        .section_ids
        .map(|ids| ids.iter().map(|s| field_id::<SectionId>("section_ids", s)).collect::<Result<Vec<_>>>())
        .transpose()?;
    let made = state
        .db
        .create_consultation(
            NewConsultation { city, strategy, version, title, explanation, opens_at, closes_at, sections },
            AuditActor::User(user.id),
        )
        .await?;
    let viewer = viewer(&state, user, &made).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &viewer, made).await?)))
}

/// `GET /api/cities/{city}/consultations` → the consultations the caller may see.
#[tracing::instrument(skip_all)]
pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
) -> Result<Json<Vec<ConsultationView>>> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ViewCity, None).await?;
    let invited = state.db.list_invited_consultations(city, user.id).await?;
    let membership = state.db.get_membership(city, user.id).await?;
    let principal = Principal { network_admin: user.network_admin, membership: membership.map(|m| m.membership()) };
    let mut out = Vec::new();
    for c in state.db.list_consultations(city).await? {
        if permit(&principal, Action::ViewConsultation, &Resource::consultation(city, None, invited.contains(&c.id))) {
            let viewer = viewer(&state, user.clone(), &c).await?;
            out.push(view(&state, &viewer, c).await?);
        }
    }
    Ok(Json(out))
}

/// `GET /api/consultations/{id}`.
#[tracing::instrument(skip_all)]
pub(super) async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ConsultationView>> {
    let c = state.db.get_consultation(path_id(&id)?).await?;
    let viewer = viewer(&state, user, &c).await?;
    Ok(Json(view(&state, &viewer, c).await?))
}

/// The heads a consultation reads `section` at: its version's, or `None` for the live draft.
async fn consulted_heads(state: &AppState, c: &Consultation, section: &Section) -> Result<Option<Vec<ChangeHash>>> {
    let Some(version) = c.version_id else { return Ok(None) };
    let version = state.db.get_version(version).await?;
    Ok(Some(
        version.sections.iter().find(|s| s.section_id == section.id).map(|s| parse_heads(&s.heads)).unwrap_or_default(),
    ))
}

/// A consulted section of `c`, or 422 on `field`.
async fn consulted_section(state: &AppState, c: &Consultation, field: &str, id: &str) -> Result<Section> {
    let id: SectionId = field_id(field, id)?;
    match state.db.get_section(id).await {
        Ok(section) if section.strategy_id == c.strategy_id && c.covers(id) => Ok(section),
        Ok(_) | Err(concerta_store::Error::NotFound) => Err(Error::invalid(field, "is not a section of this consultation")),
        Err(e) => Err(e.into()),
    }
}

/// The consulted text of a section.
#[derive(Serialize)]
pub(super) struct SectionText {
    section_id: SectionId,
    title: String,
    blocks: Vec<concerta_content::Block>,
    /// The body as plain text, block markers as line breaks (what `anchor.occurrence` counts
    /// occurrences of a quote in).
    text: String,
    /// The heads it is read at (hex).
    heads: Vec<String>,
}

/// `GET /api/consultations/{id}/sections/{section}` → the consulted text, read-only.
#[tracing::instrument(skip_all)]
pub(super) async fn section_text(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, section)): Path<(String, String)>,
) -> Result<Json<SectionText>> {
    let c = state.db.get_consultation(path_id(&id)?).await?;
    viewer(&state, user, &c).await?;
    let section = consulted_section(&state, &c, "section", &section).await.map_err(|_| Error::NotFound)?;
    let heads = consulted_heads(&state, &c, &section).await?;
    let loaded = state.content.load(&state.db, section.doc_id).await?;
    let content = loaded.read(heads.as_deref())?;
    let known: Option<Vec<ChangeHash>> =
        heads.map(|h| h.into_iter().filter(|h| loaded.doc.get_change_meta_by_hash(h).is_some()).collect());
    let text = anchor::body_text(&loaded.doc, known.as_deref()).unwrap_or_default();
    let shown = known.unwrap_or_else(|| loaded.heads.clone());
    Ok(Json(SectionText {
        section_id: section.id,
        title: content.title,
        blocks: content.blocks,
        text,
        heads: crate::content::hex_heads(&shown),
    }))
}

#[derive(Deserialize)]
pub(super) struct InviteBody {
    invitees: Vec<InviteeBody>,
}

#[derive(Serialize)]
pub(super) struct Invitations {
    invitations: Vec<Invitee>,
}

/// `POST /api/consultations/{id}/invitations` → 201 the invitations (coordinators). Invitees
/// from the actors registry take its name, sector, email and language unless given
/// ([`resolve_invitees`]); each needs an organisation and a sector.
#[tracing::instrument(skip_all)]
pub(super) async fn invite(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<InviteBody>,
) -> Result<(StatusCode, Json<Invitations>)> {
    let c = state.db.get_consultation(path_id(&id)?).await?;
    let viewer = viewer(&state, user, &c).await?;
    viewer.require(Action::ManageConsultation, &c, None)?;
    let mut invitees = Vec::new();
    for (i, inv) in resolve_invitees(&state, c.city_id, body.invitees).await?.into_iter().enumerate() {
        if inv.organization.is_empty() {
            return Err(Error::invalid(format!("invitees[{i}].organization"), "is required"));
        }
        let Some(sector) = inv.sector else {
            return Err(Error::invalid(format!("invitees[{i}].sector"), "is required"));
        };
        let ResolvedInvitee { actor, email, name, organization, locale, .. } = inv;
        invitees.push(NewInvitee { email, name, organization, sector, actor, locale });
    }
    let signer = crate::invites::signer(&state).await?;
    let links = invite_links(signer, c.id);
    let mail = InviteMail { inviter: viewer.user.name.clone(), valid_for: crate::invites::valid_for(), links: &links };
    let made = state.db.invite_to_consultation(c.id, invitees, AuditActor::User(viewer.user.id), Some(&mail)).await?;
    tracing::info!(consultation = %c.id, invitees = made.len(), "stakeholders invited");
    Ok((StatusCode::CREATED, Json(Invitations { invitations: made })))
}

/// Account invitation links that lead to consultation `id` once the password is set (the web
/// app's `/invite/{token}?next=` goes to a same-site path only).
fn invite_links(signer: crate::invites::InviteSigner, id: ConsultationId) -> impl Fn(AccountInvitationId, u32) -> String + Send + Sync {
    move |invitation, generation| format!("{}?next=/consultations/{id}", signer.link(invitation, generation))
}

/// `POST /api/consultations/{id}/invitations/{invitee}/revoke` → the invitation, withdrawn:
/// the invitee no longer sees or comments on the consultation, and a password link they have
/// not used (and need for no other consultation) stops working (coordinators).
#[tracing::instrument(skip_all)]
pub(super) async fn revoke_invitation(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, invitee)): Path<(String, String)>,
) -> Result<Json<Invitee>> {
    let c = state.db.get_consultation(path_id(&id)?).await?;
    let invitee: ConsultationInviteeId = path_id(&invitee)?;
    let viewer = viewer(&state, user, &c).await?;
    viewer.require(Action::ManageConsultation, &c, None)?;
    let revoked = state.db.revoke_consultation_invitation(c.id, invitee, AuditActor::User(viewer.user.id)).await?;
    // Their open comment streams (on every node) check again at once, and end.
    state.publish_access(crate::state::AccessEvent::User(revoked.user_id));
    tracing::info!(consultation = %c.id, invitee = %invitee, "consultation invitation revoked");
    Ok(Json(revoked))
}

/// `POST /api/consultations/{id}/invitations/{invitee}/resend` → the invitation, its email
/// sent again: a new account link (the old one stops working) while the invitee has no
/// password, else the invitation to comment (coordinators).
#[tracing::instrument(skip_all)]
pub(super) async fn resend_invitation(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, invitee)): Path<(String, String)>,
) -> Result<Json<Invitee>> {
    let c = state.db.get_consultation(path_id(&id)?).await?;
    let invitee: ConsultationInviteeId = path_id(&invitee)?;
    let viewer = viewer(&state, user, &c).await?;
    viewer.require(Action::ManageConsultation, &c, None)?;
    let signer = crate::invites::signer(&state).await?;
    let links = invite_links(signer, c.id);
    let mail = InviteMail { inviter: viewer.user.name.clone(), valid_for: crate::invites::valid_for(), links: &links };
    let resent = state.db.resend_consultation_invitation(c.id, invitee, AuditActor::User(viewer.user.id), &mail).await?;
    tracing::info!(consultation = %c.id, invitee = %invitee, "consultation invitation resent");
    Ok(Json(resent))
}

/// `GET /api/consultations/{id}/invitations` (coordinators).
#[tracing::instrument(skip_all)]
pub(super) async fn invitations(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Invitations>> {
    let c = state.db.get_consultation(path_id(&id)?).await?;
    let viewer = viewer(&state, user, &c).await?;
    viewer.require(Action::ManageConsultation, &c, None)?;
    Ok(Json(Invitations { invitations: state.db.list_invitees(c.id).await? }))
}

#[derive(Deserialize)]
pub(super) struct AnchorBody {
    quote: String,
    start: Option<String>,
    end: Option<String>,
    #[serde(default)]
    occurrence: usize,
}

#[derive(Deserialize)]
pub(super) struct CommentBody {
    section_id: Option<String>,
    body: String,
    anchor: Option<AnchorBody>,
    suggestion: Option<String>,
    parent_id: Option<String>,
    /// The language the author writes in (`es`, `en`, `pt`); else `Accept-Language`.
    locale: Option<String>,
}

/// The language of a request: the first of `es`, `en`, `pt` named in `Accept-Language`.
fn accepted_locale(headers: &HeaderMap) -> Option<Locale> {
    let header = headers.get(axum::http::header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    header
        .split(',')
        .filter_map(|tag| tag.split(';').next()?.trim().split('-').next()?.to_ascii_lowercase().parse::<Locale>().ok())
        .next()
}

/// Where an anchored passage is now.
#[derive(Clone, Serialize)]
pub(crate) struct AnchorView {
    pub quote: String,
    pub start: String,
    pub end: String,
    /// Position of the passage in the body now (code points, block markers count one).
    pub from: Option<usize>,
    pub to: Option<usize>,
    /// The passage's text now.
    pub text: Option<String>,
    /// Every character of it was deleted ("passage removed").
    pub removed: bool,
}

/// A comment as a viewer sees it.
#[derive(Clone, Serialize)]
pub(crate) struct CommentView {
    pub id: CommentId,
    pub consultation_id: ConsultationId,
    pub section_id: SectionId,
    pub parent_id: Option<CommentId>,
    pub author_name: String,
    pub organization: Option<String>,
    pub sector: Option<Sector>,
    /// Written by the city's staff (an answer in the thread), not by a stakeholder.
    pub by_city: bool,
    /// Written by the caller.
    pub mine: bool,
    /// The text; empty when hidden and the caller is neither its author nor staff.
    pub body: String,
    pub anchor: Option<AnchorView>,
    pub suggestion: Option<String>,
    pub created_at: DateTime<Utc>,
    pub hidden: Option<HiddenView>,
    pub response: Option<Response>,
}

/// A hidden comment's mark.
#[derive(Clone, Serialize)]
pub(crate) struct HiddenView {
    pub reason: String,
    pub at: DateTime<Utc>,
}

fn anchor_error(field: &str, e: AnchorError) -> Error {
    Error::invalid(field, e.to_string())
}

/// Resolves the anchors of `comments` against their sections' documents now (one load per
/// section with anchored comments).
pub(crate) async fn resolve_anchors(state: &AppState, comments: &[Comment]) -> Result<HashMap<CommentId, AnchorView>> {
    let mut by_section: BTreeMap<SectionId, Vec<&Comment>> = BTreeMap::new();
    for c in comments.iter().filter(|c| c.quote.is_some()) {
        by_section.entry(c.section_id).or_default().push(c);
    }
    let mut out = HashMap::new();
    for (section, list) in by_section {
        let section = state.db.get_section(section).await?;
        let loaded = state.content.load(&state.db, section.doc_id).await?;
        for c in list {
            let (Some(quote), Some(start), Some(end)) = (&c.quote, &c.anchor_start, &c.anchor_end) else { continue };
            let resolved = anchor::resolve(&loaded.doc, start, end).ok();
            out.insert(
                c.id,
                AnchorView {
                    quote: quote.clone(),
                    start: start.clone(),
                    end: end.clone(),
                    from: resolved.as_ref().map(|r| r.from),
                    to: resolved.as_ref().map(|r| r.to),
                    removed: resolved.as_ref().is_none_or(|r| r.removed),
                    text: resolved.map(|r| r.text),
                },
            );
        }
    }
    Ok(out)
}

/// `comment` as `viewer` sees it: staff and the author see everything; others see a hidden
/// comment as hidden, without its words.
pub(crate) fn comment_view(viewer: &Viewer, comment: &Comment, anchor: Option<AnchorView>, by_city: bool) -> CommentView {
    let mine = comment.author_id == Some(viewer.user.id);
    let redact = comment.hidden.is_some() && !mine && !viewer.is_staff();
    CommentView {
        id: comment.id,
        consultation_id: comment.consultation_id,
        section_id: comment.section_id,
        parent_id: comment.parent_id,
        author_name: if redact { String::new() } else { comment.author_name.clone() },
        organization: comment.organization.clone(),
        sector: comment.sector,
        by_city,
        mine,
        body: if redact { String::new() } else { comment.body.clone() },
        anchor: if redact { None } else { anchor },
        suggestion: if redact { None } else { comment.suggestion.clone() },
        created_at: comment.created_at,
        hidden: comment.hidden.as_ref().map(|h| HiddenView { reason: h.reason.clone(), at: h.at }),
        response: comment.response.clone(),
    }
}

/// Tells the comment streams (on every node) that `comment` of `c` changed.
fn publish(state: &AppState, c: &Consultation, comment: &Comment, kind: CommentEventKind) {
    state.publish_comment(CommentEvent {
        kind,
        city_id: c.city_id,
        consultation_id: c.id,
        section_id: comment.section_id,
        comment_id: comment.id,
    });
}

/// A comment's author wrote as the city: they are not among the consultation's stakeholders
/// (no organisation recorded).
fn by_city(comment: &Comment) -> bool {
    comment.organization.is_none()
}

/// `POST /api/consultations/{id}/comments` → 201 the comment.
#[tracing::instrument(skip_all)]
pub(super) async fn comment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CommentBody>,
) -> Result<(StatusCode, Json<CommentView>)> {
    let c = state.db.get_consultation(path_id(&id)?).await?;
    let viewer = viewer(&state, user, &c).await?;
    viewer.require(Action::CommentOnConsultation, &c, None)?;
    match status(&c, Utc::now()) {
        "upcoming" => {
            let timezone = state.db.get_city(c.city_id).await?.timezone;
            return Err(Error::Refused {
                status: StatusCode::CONFLICT,
                code: "consultation_not_open",
                message: format!("this consultation opens on {}", zoned_time(c.opens_at, &timezone)),
            });
        }
        "closed" => {
            let timezone = state.db.get_city(c.city_id).await?.timezone;
            return Err(Error::Refused {
                status: StatusCode::CONFLICT,
                code: "consultation_closed",
                message: format!("this consultation closed on {}", zoned_time(c.closes_at, &timezone)),
            });
        }
        _ => {}
    }
    let text = validate_text("body", &body.body, MAX_COMMENT_CHARS)?;
    let locale = match &body.locale {
        Some(l) => Some(field_enum::<Locale>("locale", l)?),
        None => accepted_locale(&headers),
    };
    let parent = match &body.parent_id {
        Some(p) => {
            let p: CommentId = field_id("parent_id", p)?;
            match state.db.get_comment(p).await {
                Ok(found) if found.consultation_id == c.id => Some(found),
                Ok(_) | Err(concerta_store::Error::NotFound) => {
                    return Err(Error::invalid("parent_id", "is not a comment of this consultation"));
                }
                Err(e) => return Err(e.into()),
            }
        }
        None => None,
    };
    let section = match (&parent, &body.section_id) {
        (Some(p), _) => state.db.get_section(p.section_id).await?,
        (None, Some(s)) => consulted_section(&state, &c, "section_id", s).await?,
        (None, None) => return Err(Error::invalid("section_id", "is required")),
    };
    if parent.is_some() && (body.anchor.is_some() || body.suggestion.is_some()) {
        return Err(Error::invalid("parent_id", "a reply carries no passage or suggested rewrite"));
    }
    let (quote, cursors) = match &body.anchor {
        None => (None, None),
        Some(a) => {
            let quote = validate_text("anchor.quote", &a.quote, MAX_QUOTE_CHARS)?;
            let loaded = state.content.load(&state.db, section.doc_id).await?;
            let cursors = match (&a.start, &a.end) {
                (Some(start), Some(end)) => {
                    anchor::check_anchor(&loaded.doc, start, end).map_err(|e| match e {
                        AnchorError::Reversed => anchor_error("anchor.end", e),
                        e => anchor_error("anchor.start", e),
                    })?;
                    (start.clone(), end.clone())
                }
                (None, None) => {
                    let heads = consulted_heads(&state, &c, &section).await?;
                    let known: Option<Vec<ChangeHash>> = heads
                        .map(|h| h.into_iter().filter(|h| loaded.doc.get_change_meta_by_hash(h).is_some()).collect());
                    anchor::anchor_quote(&loaded.doc, &quote, a.occurrence, known.as_deref())
                        .map_err(|e| anchor_error("anchor.quote", e))?
                }
                _ => return Err(Error::invalid("anchor.end", "give both start and end cursors, or neither")),
            };
            (Some(quote), Some(cursors))
        }
    };
    let suggestion = match &body.suggestion {
        None => None,
        Some(s) => {
            if cursors.is_none() {
                return Err(Error::invalid("suggestion", "a suggested rewrite needs the passage it rewrites (anchor)"));
            }
            Some(validate_text("suggestion", s, MAX_COMMENT_CHARS)?)
        }
    };
    let (organization, sector) = match (&viewer.invitee, viewer.is_staff()) {
        (Some(inv), false) => (Some(inv.organization.clone()), Some(inv.sector)),
        _ => (None, None),
    };
    let made = state
        .db
        .create_comment(NewComment {
            consultation: c.id,
            section: section.id,
            parent: parent.map(|p| p.id),
            author: viewer.user.id,
            author_name: viewer.user.name.clone(),
            organization,
            sector,
            body: text,
            quote,
            anchor: cursors,
            suggestion,
            locale,
        })
        .await?;
    publish(&state, &c, &made, CommentEventKind::Created);
    let anchors = resolve_anchors(&state, std::slice::from_ref(&made)).await?;
    let city = by_city(&made);
    Ok((StatusCode::CREATED, Json(comment_view(&viewer, &made, anchors.get(&made.id).cloned(), city))))
}

#[derive(Deserialize)]
pub(super) struct CommentsQuery {
    section_id: Option<String>,
}

/// `GET /api/consultations/{id}/comments[?section_id=]` → what the caller may see, oldest
/// first, anchors resolved now.
#[tracing::instrument(skip_all)]
pub(super) async fn comments(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Query(query): Query<CommentsQuery>,
) -> Result<Json<Vec<CommentView>>> {
    let c = state.db.get_consultation(path_id(&id)?).await?;
    let viewer = viewer(&state, user, &c).await?;
    let section = query.section_id.as_deref().map(|s| field_id::<SectionId>("section_id", s)).transpose()?;
    let all: Vec<Comment> =
        state.db.list_comments(c.id).await?.into_iter().filter(|m| section.is_none_or(|s| m.section_id == s)).collect();
    let anchors = resolve_anchors(&state, &all).await?;
    Ok(Json(all.iter().map(|m| comment_view(&viewer, m, anchors.get(&m.id).cloned(), by_city(m))).collect()))
}

/// One row of the unanswered counts.
#[derive(Serialize)]
pub(super) struct SectionCount {
    section_id: SectionId,
    title: String,
    area_id: Option<AreaId>,
    comments: usize,
    unanswered: usize,
}

#[derive(Serialize)]
pub(super) struct AreaCount {
    area_id: Option<AreaId>,
    name: Option<String>,
    comments: usize,
    unanswered: usize,
}

#[derive(Serialize)]
pub(super) struct Unanswered {
    comments: usize,
    unanswered: usize,
    by_section: Vec<SectionCount>,
    by_area: Vec<AreaCount>,
}

/// Whether `comment` still waits for the city's response: a thread's first comment, not
/// hidden, with no response.
pub(crate) fn waits(comment: &Comment) -> bool {
    comment.parent_id.is_none() && comment.hidden.is_none() && comment.response.is_none()
}

/// `GET /api/consultations/{id}/unanswered` (the city's staff).
#[tracing::instrument(skip_all)]
pub(super) async fn unanswered(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Unanswered>> {
    let c = state.db.get_consultation(path_id(&id)?).await?;
    let viewer = viewer(&state, user, &c).await?;
    if !viewer.is_staff() && !viewer.may(Action::ManageConsultation, &c, None) {
        return Err(Error::Forbidden);
    }
    let sections = consulted_sections(&state, &c).await?;
    let areas: HashMap<AreaId, String> = state.db.list_areas(c.city_id).await?.into_iter().map(|a| (a.id, a.name)).collect();
    let all = state.db.list_comments(c.id).await?;
    let threads: Vec<&Comment> = all.iter().filter(|m| m.parent_id.is_none() && m.hidden.is_none()).collect();
    let mut by_section = Vec::new();
    let mut by_area: BTreeMap<Option<AreaId>, AreaCount> = BTreeMap::new();
    for s in &sections {
        let comments = threads.iter().filter(|m| m.section_id == s.id).count();
        let open = threads.iter().filter(|m| m.section_id == s.id && waits(m)).count();
        by_section.push(SectionCount { section_id: s.id, title: s.title.clone(), area_id: s.area_id, comments, unanswered: open });
        let entry = by_area.entry(s.area_id).or_insert_with(|| AreaCount {
            area_id: s.area_id,
            name: s.area_id.and_then(|a| areas.get(&a).cloned()),
            comments: 0,
            unanswered: 0,
        });
        entry.comments += comments;
        entry.unanswered += open;
    }
    Ok(Json(Unanswered {
        comments: threads.len(),
        unanswered: threads.iter().filter(|m| waits(m)).count(),
        by_section,
        by_area: by_area.into_values().collect(),
    }))
}

#[derive(Deserialize)]
pub(super) struct ResponseBody {
    decision: String,
    reason: String,
    version_id: Option<String>,
}

/// The comment `id`, its consultation, its section and the viewer.
async fn comment_context(state: &AppState, user: User, id: &str) -> Result<(Comment, Consultation, Section, Viewer)> {
    let comment = state.db.get_comment(path_id(id)?).await?;
    let c = state.db.get_consultation(comment.consultation_id).await?;
    let viewer = viewer(state, user, &c).await?;
    let section = state.db.get_section(comment.section_id).await?;
    Ok((comment, c, section, viewer))
}

/// `POST /api/comments/{id}/response` → the comment with the city's response (coordinators,
/// editors of the section's area).
#[tracing::instrument(skip_all)]
pub(super) async fn respond(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ResponseBody>,
) -> Result<Json<CommentView>> {
    let (comment, c, section, viewer) = comment_context(&state, user, &id).await?;
    viewer.require(Action::RespondToComment, &c, section.area_id)?;
    let decision: Decision = field_enum("decision", &body.decision)?;
    let reason = validate_text("reason", &body.reason, MAX_REASON_CHARS)?;
    let version = body.version_id.as_deref().map(|v| field_id::<VersionId>("version_id", v)).transpose()?;
    let answered = state.db.respond_to_comment(comment.id, NewResponse { decision, reason, version }, viewer.user.id, true).await?;
    publish(&state, &c, &answered, CommentEventKind::Answered);
    let anchors = resolve_anchors(&state, std::slice::from_ref(&answered)).await?;
    Ok(Json(comment_view(&viewer, &answered, anchors.get(&answered.id).cloned(), by_city(&answered))))
}

#[derive(Deserialize)]
pub(super) struct HideBody {
    reason: String,
}

/// `POST /api/comments/{id}/hide` → the comment, hidden (coordinators).
#[tracing::instrument(skip_all)]
pub(super) async fn hide(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<HideBody>,
) -> Result<Json<CommentView>> {
    let (comment, c, _, viewer) = comment_context(&state, user, &id).await?;
    viewer.require(Action::ManageConsultation, &c, None)?;
    let reason = validate_text("reason", &body.reason, MAX_REASON_CHARS)?;
    let hidden = state.db.hide_comment(comment.id, reason, viewer.user.id).await?;
    publish(&state, &c, &hidden, CommentEventKind::Hidden);
    Ok(Json(comment_view(&viewer, &hidden, None, by_city(&hidden))))
}

/// Gathers the report of `c` in `lang`: every thread's first comment (hidden ones as hidden),
/// anchors resolved now (a deleted passage reads as removed).
pub(crate) async fn build_report(state: &AppState, c: &Consultation, lang: concerta_core::Locale) -> Result<crate::report::Report> {
    let city = state.db.get_city(c.city_id).await?;
    let strategy = state.db.get_strategy(c.strategy_id).await?;
    let sections: Vec<Section> = strategy.sections.iter().filter(|s| c.covers(s.id)).cloned().collect();
    let titles: HashMap<SectionId, String> = sections.iter().map(|s| (s.id, s.title.clone())).collect();
    let version = match c.version_id {
        Some(v) => Some(state.db.get_version(v).await?.name),
        None => None,
    };
    let all = state.db.list_comments(c.id).await?;
    let anchors = resolve_anchors(state, &all).await?;
    let mut version_names: HashMap<VersionId, String> = HashMap::new();
    for v in state.db.list_versions(c.strategy_id).await? {
        version_names.insert(v.id, v.name);
    }
    let invited = state.db.list_invitees(c.id).await?.iter().filter(|i| i.withdrawn_at.is_none()).count();
    let rows: Vec<crate::report::ReportRow> = all
        .iter()
        .filter(|m| m.parent_id.is_none())
        .map(|m| crate::report::ReportRow {
            id: m.id,
            section_id: m.section_id,
            section: titles.get(&m.section_id).cloned().unwrap_or_default(),
            organization: m.organization.clone(),
            sector: m.sector,
            quote: if m.hidden.is_some() { None } else { m.quote.clone() },
            passage_removed: anchors.get(&m.id).is_some_and(|a| a.removed),
            comment: if m.hidden.is_some() { String::new() } else { m.body.clone() },
            hidden_reason: m.hidden.as_ref().map(|h| h.reason.clone()),
            suggestion: if m.hidden.is_some() { None } else { m.suggestion.clone() },
            decision: m.response.as_ref().map(|r| r.decision),
            reason: m.response.as_ref().map(|r| r.reason.clone()),
            version: m.response.as_ref().and_then(|r| r.version_id).and_then(|v| version_names.get(&v).cloned()),
            applied: m.response.as_ref().is_some_and(|r| r.applied),
            replies: all.iter().filter(|r| r.parent_id == Some(m.id)).count(),
            created_at: m.created_at,
        })
        .collect();
    let section_list: Vec<(SectionId, String)> = sections.iter().map(|s| (s.id, s.title.clone())).collect();
    Ok(crate::report::Report {
        language: lang,
        city: city.name,
        title: c.title.clone(),
        explanation: c.explanation.clone(),
        strategy: strategy.title,
        version,
        opens_at: c.opens_at,
        closes_at: c.closes_at,
        timezone: city.timezone.clone(),
        status: status(c, Utc::now()).to_owned(),
        figures: crate::report::figures(lang, &rows, &section_list, invited),
        rows,
    })
}

#[derive(Deserialize)]
pub(crate) struct ReportQuery {
    format: Option<String>,
    lang: Option<String>,
}

/// Renders `report` as asked: `md`, `csv`, `html` or `json`.
pub(crate) fn render_report(
    report: &crate::report::Report,
    format: Option<&str>,
    stylesheet: Option<&str>,
) -> Result<axum::response::Response> {
    use axum::http::{HeaderMap, HeaderValue, header};
    use axum::response::IntoResponse;
    let mut headers = HeaderMap::new();
    let (content_type, body, ext) = match format.unwrap_or("html") {
        "md" => ("text/markdown; charset=utf-8", crate::report::to_markdown(report).into_bytes(), "md"),
        "csv" => ("text/csv; charset=utf-8", crate::report::to_csv(report), "csv"),
        "html" => {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
            );
            ("text/html; charset=utf-8", crate::report::to_html(report, stylesheet).into_bytes(), "html")
        }
        "json" => return Ok(axum::Json(report).into_response()),
        _ => return Err(Error::invalid("format", "must be one of: md, csv, html, json")),
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if ext != "html" {
        let name = format!("attachment; filename=\"consultation-report.{ext}\"");
        if let Ok(v) = HeaderValue::from_str(&name) {
            headers.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok((headers, body).into_response())
}

/// Parses `?lang=`, else the city's language.
pub(crate) fn report_lang(lang: Option<&str>, city: concerta_core::Locale) -> Result<concerta_core::Locale> {
    match lang {
        None | Some("") => Ok(city),
        Some(l) => l.parse().map_err(|_| Error::invalid("lang", "must be one of: es, en, pt")),
    }
}

/// `GET /api/consultations/{id}/report?format=md|csv|html|json[&lang=]`: the city's staff at
/// any time; invited stakeholders once it closed.
#[tracing::instrument(skip_all)]
pub(super) async fn report(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<axum::response::Response> {
    let c = state.db.get_consultation(path_id(&id)?).await?;
    let viewer = viewer(&state, user, &c).await?;
    if !viewer.is_staff() && status(&c, Utc::now()) != "closed" {
        return Err(Error::Refused {
            status: StatusCode::FORBIDDEN,
            code: "report_not_published",
            message: "the report is published once the consultation closes".to_owned(),
        });
    }
    let city = state.db.get_city(c.city_id).await?;
    let lang = report_lang(query.lang.as_deref(), city.locale)?;
    let report = build_report(&state, &c, lang).await?;
    render_report(&report, query.format.as_deref(), None)
}

/// A comment as the section editor shows it: with its consultation.
#[derive(Serialize)]
pub(super) struct SectionComment {
    #[serde(flatten)]
    comment: CommentView,
    consultation_title: String,
}

/// `GET /api/sections/{id}/comments` → the comments of every consultation on this section,
/// for those who may read the section (the city's staff), anchors resolved now.
#[tracing::instrument(skip_all)]
pub(super) async fn section_comments(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<SectionComment>>> {
    let section = state.db.get_section(path_id(&id)?).await?;
    let principal = authorize(&state, &user, section.city_id, Action::ReadSection, section.area_id).await?;
    let viewer = Viewer { user, principal, invitee: None };
    let mut all = Vec::new();
    let mut titles = HashMap::new();
    for c in state.db.list_consultations(section.city_id).await? {
        if c.strategy_id != section.strategy_id || !c.covers(section.id) {
            continue;
        }
        titles.insert(c.id, c.title.clone());
        all.extend(state.db.list_comments(c.id).await?.into_iter().filter(|m| m.section_id == section.id));
    }
    let anchors = resolve_anchors(&state, &all).await?;
    Ok(Json(
        all.iter()
            .map(|m| SectionComment {
                comment: comment_view(&viewer, m, anchors.get(&m.id).cloned(), by_city(m)),
                consultation_title: titles.get(&m.consultation_id).cloned().unwrap_or_default(),
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
pub(super) struct AppliedBody {
    /// The section document's heads right after the rewrite (hex).
    heads: Vec<String>,
    decision: Option<String>,
    reason: String,
}

/// `POST /api/comments/{id}/applied` `{"heads","reason","decision"?}`: records that the
/// comment's suggested rewrite was applied to the draft by the caller (who must be allowed
/// to write the section and to answer the comment), with the document's heads right after,
/// which the server must already have stored (409 `not_saved_yet` otherwise: retry).
#[tracing::instrument(skip_all)]
pub(super) async fn applied(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AppliedBody>,
) -> Result<Json<CommentView>> {
    let (comment, c, section, viewer) = comment_context(&state, user, &id).await?;
    viewer.require(Action::RespondToComment, &c, section.area_id)?;
    if !permit(&viewer.principal, Action::WriteSection, &Resource::section(c.city_id, section.area_id)) {
        return Err(Error::Forbidden);
    }
    if comment.suggestion.is_none() {
        return Err(Error::invalid("comment", "has no suggested rewrite"));
    }
    let decision: Decision = body.decision.as_deref().map(|d| field_enum("decision", d)).transpose()?.unwrap_or(Decision::Accepted);
    let reason = validate_text("reason", &body.reason, MAX_REASON_CHARS)?;
    let heads: Vec<ChangeHash> = body
        .heads
        .iter()
        .map(|h| h.parse::<ChangeHash>().map_err(|_| Error::invalid("heads", "must be hex change hashes")))
        .collect::<Result<_>>()?;
    if heads.is_empty() {
        return Err(Error::invalid("heads", "must name the document's heads after the change"));
    }
    let loaded = state.content.load(&state.db, section.doc_id).await?;
    if heads.iter().any(|h| loaded.doc.get_change_meta_by_hash(h).is_none()) {
        return Err(Error::Refused {
            status: StatusCode::CONFLICT,
            code: "not_saved_yet",
            message: "the server has not stored this change yet; try again in a moment".to_owned(),
        });
    }
    let answered = state
        .db
        .mark_suggestion_applied(comment.id, crate::content::hex_heads(&heads), NewResponse { decision, reason, version: None }, viewer.user.id)
        .await?;
    publish(&state, &c, &answered, CommentEventKind::Applied);
    let anchors = resolve_anchors(&state, std::slice::from_ref(&answered)).await?;
    Ok(Json(comment_view(&viewer, &answered, anchors.get(&answered.id).cloned(), by_city(&answered))))
}
