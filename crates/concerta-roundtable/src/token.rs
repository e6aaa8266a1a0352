//! RSVP tokens: what an invitee's links carry, so they can answer without an account.
//!
//! A token is `base64url(invitation id ‖ roundtable id ‖ expiry) . base64url(HMAC-SHA256)`
//! under the deployment's RSVP key (kept in the database, shared by every node). It names
//! both the invitation and its roundtable, so a token is only good for the invitation it was
//! made for; the server also checks that the invitation still belongs to that roundtable.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use concerta_core::{InvitationId, RoundtableId};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long after the meeting's end a link still works: 14 days.
pub const VALID_AFTER_END_DAYS: i64 = 14;

/// What a token says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The invitation answered.
    pub invitation: InvitationId,
    /// Its roundtable.
    pub roundtable: RoundtableId,
    /// When the link stops working (whole seconds).
    pub expires_at: DateTime<Utc>,
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token at all.
    #[error("malformed token")]
    Malformed,
    /// Not made with this deployment's key (forged or altered).
    #[error("forged token")]
    Forged,
    /// Made by us, but past its expiry.
    #[error("expired token")]
    Expired,
}

const PAYLOAD: usize = 16 + 16 + 8;

fn mac(key: &[u8], payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(b"concerta-rsvp-v1\0");
    mac.update(payload);
    mac
}

/// The token of `claim` under `key`.
pub fn sign(key: &[u8], claim: &Claim) -> String {
    let mut payload = Vec::with_capacity(PAYLOAD);
    payload.extend_from_slice(claim.invitation.uuid().as_bytes());
    payload.extend_from_slice(claim.roundtable.uuid().as_bytes());
    payload.extend_from_slice(&claim.expires_at.timestamp().to_be_bytes());
    let tag = mac(key, &payload).finalize().into_bytes();
    format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(tag))
}

/// The claim of `token` if `key` made it and it has not expired at `now`.
pub fn verify(key: &[u8], token: &str, now: DateTime<Utc>) -> Result<Claim, TokenError> {
    if token.len() > 200 {
        return Err(TokenError::Malformed);
    }
    let (payload, tag) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TokenError::Malformed)?;
    if payload.len() != PAYLOAD {
        return Err(TokenError::Malformed);
    }
    mac(key, &payload).verify_slice(&tag).map_err(|_| TokenError::Forged)?;
    let uuid = |b: &[u8]| uuid::Uuid::from_slice(b).map_err(|_| TokenError::Malformed);
    let invitation = InvitationId::from(uuid(&payload[..16])?);
    let roundtable = RoundtableId::from(uuid(&payload[16..32])?);
    let secs = i64::from_be_bytes(payload[32..].try_into().map_err(|_| TokenError::Malformed)?);
    let expires_at = DateTime::from_timestamp(secs, 0).ok_or(TokenError::Malformed)?;
    if now >= expires_at {
        return Err(TokenError::Expired);
    }
    Ok(Claim { invitation, roundtable, expires_at })
}

/// When the links of a meeting ending at `ends_at` stop working.
pub fn expiry_for(ends_at: DateTime<Utc>) -> DateTime<Utc> {
    let at = ends_at + chrono::Duration::days(VALID_AFTER_END_DAYS);
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> Claim {
        Claim {
            invitation: InvitationId::new(),
            roundtable: RoundtableId::new(),
            expires_at: "2026-12-20T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_token_round_trips_until_it_expires() {
        let key = b"0123456789abcdef0123456789abcdef";
        let c = claim();
        let t = sign(key, &c);
        assert!(t.len() < 120, "{t}");
        assert!(t.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)));
        assert_eq!(verify(key, &t, "2026-12-19T23:59:59Z".parse().unwrap()), Ok(c));
        assert_eq!(verify(key, &t, "2026-12-20T00:00:00Z".parse().unwrap()), Err(TokenError::Expired));
    }

    #[test]
    fn forged_and_altered_tokens_are_refused() {
        let now = "2026-12-01T00:00:00Z".parse().unwrap();
        let t = sign(b"key one", &claim());
        assert_eq!(verify(b"key two", &t, now), Err(TokenError::Forged));
        // Another invitation id under the same tag.
        let (payload, tag) = t.split_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
        bytes[3] ^= 1;
        let altered = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(verify(b"key one", &altered, now), Err(TokenError::Forged));
        for junk in ["", "abc", "a.b", "..", &"x".repeat(500)] {
            assert_eq!(verify(b"key one", junk, now), Err(TokenError::Malformed), "{junk}");
        }
    }
}
