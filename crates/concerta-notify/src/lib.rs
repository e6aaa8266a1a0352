//! `concerta-notify`: Concerta's email.
//!
//! Other features never send mail themselves: they write a row into the outbox
//! (`concerta_store::outbox::enqueue`) in the transaction of the write that causes it. This
//! crate turns rows into mail:
//!
//! - [`render`]: the registry of message kinds, each with minijinja templates (subject, text,
//!   HTML) in es, en and pt; HTML auto-escaped;
//! - [`mime`]: the MIME message (lettre's builder), with extra alternatives (calendar
//!   invitations) and attachments, the city's name as sender name and a stable `Message-ID`;
//! - [`retry`]: exponential backoff with jitter, and when to give up;
//! - [`transport`]: SMTP (lettre; `smtp://` with opportunistic STARTTLS, `smtps://`, auth
//!   from the URL) or `.eml` files under `<data>/outbox/`;
//! - [`worker`]: the loop inside `concerta serve` that claims due rows through the store,
//!   sends them and records `sent`, `deferred` or `failed`.
//!
//! It knows SMTP, never HTTP; SQL stays in `concerta-store`.

#![warn(missing_docs)]

pub mod mime;
pub mod render;
pub mod retry;
pub mod transport;
pub mod worker;

pub use render::{ACCOUNT_INVITATION, KINDS, MEASUREMENT_REMINDER, Renderer, TEST_MESSAGE};
pub use retry::RetryPolicy;
pub use transport::Transport;
pub use worker::{Outcome, Worker, WorkerConfig};
