//! The access policy of sync documents: who may read or write which document, decided from
//! the roles (`concerta_core::permit`). Every decision the runtime applies comes from here;
//! a new kind of document gets its rule in [`decide`].

use concerta_core::{Action, CityId, Principal, Resource, UserId, permit};
use concerta_store::{Database, DocContext};
use concerta_sync::{Access, DocumentId, Schema};

/// The shape the engine enforces on a document's changes: a strategy section keeps its
/// `title` and `body` texts; other documents (a strategy's index, roundtable minutes) take
/// whatever automerge accepts.
pub fn schema(ctx: &DocContext) -> Schema {
    if ctx.is_section { Schema::Section } else { Schema::Any }
}

/// The access of `user` to `doc` from the roles: coordinators and editors of the section's
/// area write, other editors and observers read, stakeholders and strangers get nothing.
/// A roundtable's minutes: coordinators and editors write while it is open, observers read.
pub async fn decide(db: &Database, user: UserId, network_admin: bool, doc: DocumentId) -> (Access, Option<CityId>) {
    let ctx = match db.get_doc_context(&doc.to_string()).await {
        Ok(Some(ctx)) => ctx,
        Ok(None) => return (Access::None, None),
        Err(e) => {
            tracing::error!(error = %e, %doc, "access check failed");
            return (Access::None, None);
        }
    };
    let membership = match db.get_membership(ctx.city, user).await {
        Ok(m) => m.map(|m| m.membership()),
        Err(e) => {
            tracing::error!(error = %e, %doc, "membership lookup failed");
            return (Access::None, Some(ctx.city));
        }
    };
    let principal = Principal { network_admin, membership };
    // A roundtable's minutes: whoever may co-edit minutes writes while the roundtable is open;
    // whoever may see the city's roundtables reads (and everyone reads once it is closed).
    if let Some(open) = ctx.minutes_open {
        let resource = Resource::city(ctx.city);
        let access = if open && permit(&principal, Action::WriteMinutes, &resource) {
            Access::Write
        } else if permit(&principal, Action::ViewRoundtables, &resource) {
            Access::Read
        } else {
            Access::None
        };
        return (access, Some(ctx.city));
    }
    // One rule per kind of document, all through `permit`. Strategy sections (and, for now,
    // every other document of a city): the section's area decides who writes.
    let resource = Resource { city: ctx.city, area: ctx.area, invited: false };
    let access = if permit(&principal, Action::WriteSection, &resource) {
        Access::Write
    } else if permit(&principal, Action::ReadSection, &resource) {
        Access::Read
    } else {
        Access::None
    };
    (access, Some(ctx.city))
}
