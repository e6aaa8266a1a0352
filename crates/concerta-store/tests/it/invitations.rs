//! Account invitations: sent with the member in one transaction, renewed, accepted once.

use concerta_core::{AccountInvitationId, Role};
use concerta_store::{AuditActor, Delivery, InvitationClaim, InvitationState, LinkProblem};

use crate::{city, member, user};

fn links(id: AccountInvitationId, generation: u32) -> String {
    format!("https://c.example/invite/{id}.{generation}")
}

concerta_store::test_both_dbs!(a_member_without_account_is_invited_and_accepts_once, |db| async move {
    let city = city(&db, "lima").await;
    let actor = AuditActor::System;
    // A user with a password gets no invitation.
    user(&db, "has@example.org").await;
    let (_, none) = db
        .create_member_invited(member(&city, "has@example.org", Role::Observer), actor, "Ana".into(), chrono::Duration::days(14), &links)
        .await
        .unwrap();
    assert!(none.is_none());
    // A new email: member, invitation and its email in one go.
    let (m, invitation) = db
        .create_member_invited(member(&city, "new@example.org", Role::Observer), actor, "Ana".into(), chrono::Duration::days(14), &links)
        .await
        .unwrap();
    let invitation = invitation.expect("invited");
    assert_eq!(invitation.member_id, m.id);
    assert_eq!(invitation.generation, 1);
    assert_eq!(invitation.state, InvitationState::Pending);
    assert_eq!(invitation.delivery, Some(Delivery::Queued));
    let outbox = db.list_city_outbox(city.id, 10).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].kind, "account_invitation");
    assert_eq!(outbox[0].payload["link"], links(invitation.id, 1));
    assert_eq!(outbox[0].payload["inviter"], "Ana");

    // Resend: generation 2; the first link is dead.
    let resent = db
        .resend_account_invitation(city.id, invitation.id, actor, "Ana".into(), chrono::Duration::days(14), &links)
        .await
        .unwrap();
    assert_eq!(resent.generation, 2);
    assert_eq!(db.list_city_outbox(city.id, 10).await.unwrap().len(), 2);
    let old = InvitationClaim { id: invitation.id, generation: 1 };
    let new = InvitationClaim { id: invitation.id, generation: 2 };
    assert_eq!(db.preview_invitation(old).await.unwrap().unwrap_err(), LinkProblem::Invalid);
    let preview = db.preview_invitation(new).await.unwrap().expect("the new link works");
    assert_eq!(preview.email, "new@example.org");
    assert_eq!(preview.city_name, "City lima");

    // Accept once; the second time the link is used.
    let (person, landed) = db.accept_invitation(new, "$argon2id$hash".into()).await.unwrap().expect("accepted");
    assert_eq!(person.email, "new@example.org");
    assert_eq!(landed, city.id);
    assert_eq!(db.accept_invitation(new, "$argon2id$other".into()).await.unwrap().unwrap_err(), LinkProblem::Used);
    let (_, hash) = db.get_user_credentials("new@example.org").await.unwrap().unwrap();
    assert_eq!(hash.as_deref(), Some("$argon2id$hash"), "the second use changed nothing");
    let listed = db.list_account_invitations(city.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, InvitationState::Accepted);
    assert!(db.resend_account_invitation(city.id, invitation.id, actor, "Ana".into(), chrono::Duration::days(14), &links).await.is_err());

    // Revoke another one: its link says so. Another city cannot touch it.
    let (_, other) = db
        .create_member_invited(member(&city, "other@example.org", Role::Observer), actor, "Ana".into(), chrono::Duration::days(14), &links)
        .await
        .unwrap();
    let other = other.unwrap();
    let elsewhere = crate::city(&db, "quito").await;
    assert!(db.revoke_invitation(elsewhere.id, other.id, actor).await.is_err());
    let revoked = db.revoke_invitation(city.id, other.id, actor).await.unwrap();
    assert_eq!(revoked.state, InvitationState::Revoked);
    let claim = InvitationClaim { id: other.id, generation: 1 };
    assert_eq!(db.accept_invitation(claim, "x".into()).await.unwrap().unwrap_err(), LinkProblem::Revoked);

    // An expired link.
    let (_, late) = db
        .create_member_invited(member(&city, "late@example.org", Role::Observer), actor, "Ana".into(), chrono::Duration::seconds(-1), &links)
        .await
        .unwrap();
    let claim = InvitationClaim { id: late.unwrap().id, generation: 1 };
    assert_eq!(db.preview_invitation(claim).await.unwrap().unwrap_err(), LinkProblem::Expired);
    // The deployment key is made once.
    assert_eq!(db.invitation_key().await.unwrap(), db.invitation_key().await.unwrap());
    assert_eq!(db.invitation_key().await.unwrap().len(), 64);
});
