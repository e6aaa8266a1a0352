//! Building the MIME message of an outbox row (lettre's builder does the encoding).
//!
//! Shape: `multipart/alternative` with `text/plain` and `text/html` (and any extra
//! alternative such as `text/calendar; method=REQUEST`, last, as RFC 6047 mail clients
//! expect); wrapped in `multipart/mixed` when there are attachments (e.g. `invite.ics`).
//! `From` is `"<city name>" <CONCERTA_MAIL_FROM>`, `Message-ID` the row's stable id, so
//! every attempt sends the same identity and receivers can drop a repeat.

use concerta_store::{MailPart, OutboxMessage, PartDisposition};
use lettre::Message;
use lettre::message::header::{ContentDisposition, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use crate::render::Rendered;

/// Why a message could not be built (a bad address or content type): permanent.
#[derive(Debug, thiserror::Error)]
pub enum MimeError {
    /// The recipient's address does not parse.
    #[error("invalid recipient address {0:?}")]
    Recipient(String),
    /// A part's content type does not parse.
    #[error("invalid content type {0:?}")]
    ContentType(String),
    /// lettre refused the message.
    #[error("cannot build the message: {0}")]
    Build(#[from] lettre::error::Error),
}

fn part(p: &MailPart) -> Result<SinglePart, MimeError> {
    let content_type = ContentType::parse(&p.content_type).map_err(|_| MimeError::ContentType(p.content_type.clone()))?;
    let builder = SinglePart::builder().header(content_type);
    Ok(match (p.disposition, &p.filename) {
        (PartDisposition::Attachment, Some(name)) => {
            builder.header(ContentDisposition::attachment(name)).body(p.content.clone())
        }
        _ => builder.body(p.content.clone()),
    })
}

/// The message for `row`, rendered as `rendered`, from `from` (an address; the display name
/// is the row's sender name).
pub fn build(row: &OutboxMessage, rendered: &Rendered, from: &lettre::Address) -> Result<Message, MimeError> {
    let to_address: lettre::Address =
        row.recipient_email.parse().map_err(|_| MimeError::Recipient(row.recipient_email.clone()))?;
    let to = Mailbox::new((!row.recipient_name.trim().is_empty()).then(|| row.recipient_name.clone()), to_address);
    let from = Mailbox::new(Some(row.sender_name.clone()), from.clone());
    let mut alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(rendered.text.clone()))
        .singlepart(SinglePart::html(rendered.html.clone()));
    let mut attachments = Vec::new();
    for p in &row.parts {
        match p.disposition {
            PartDisposition::Alternative => alternative = alternative.singlepart(part(p)?),
            PartDisposition::Attachment => attachments.push(part(p)?),
        }
    }
    let body = if attachments.is_empty() {
        alternative
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for a in attachments {
            mixed = mixed.singlepart(a);
        }
        mixed
    };
    Ok(Message::builder()
        .from(from)
        .to(to)
        .subject(rendered.subject.clone())
        .message_id(Some(format!("<{}>", row.message_id)))
        .multipart(body)?)
}

/// An email address as lettre parses it (the sender of [`crate::WorkerConfig`]).
pub use lettre::Address;
