//! Where messages go: an SMTP server (lettre, pooled connections) or `.eml` files.

use std::path::PathBuf;
use std::time::Duration;

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How a send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// May pass (connection refused, timeout, 4xx): try again later.
    #[error("{0}")]
    Transient(String),
    /// Will not pass (5xx): stop and record why.
    #[error("{0}")]
    Permanent(String),
}

/// The configured way out.
#[derive(Clone)]
pub enum Transport {
    /// An SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in this directory, one per message, named by the outbox id.
    Files(PathBuf),
}

/// A bad `CONCERTA_SMTP_URL`.
#[derive(Debug, thiserror::Error)]
#[error("CONCERTA_SMTP_URL: {0}")]
pub struct UrlError(String);

impl Transport {
    /// `smtp://[user:pass@]host[:port]` (STARTTLS when the server offers it; port 587 by
    /// default), `smtps://…` (TLS from the start; port 465), with lettre's `?tls=required`
    /// also accepted; `None` → `.eml` files in `outbox_dir`. `timeout` bounds each SMTP
    /// command.
    pub fn new(smtp_url: Option<&str>, outbox_dir: PathBuf, timeout: Duration) -> Result<Self, UrlError> {
        let Some(url) = smtp_url.filter(|u| !u.trim().is_empty()) else {
            return Ok(Self::Files(outbox_dir));
        };
        let url = url.trim();
        let url = if url.starts_with("smtp://") && !url.contains("tls=") {
            if url.contains('?') { format!("{url}&tls=opportunistic") } else { format!("{url}?tls=opportunistic") }
        } else {
            url.to_owned()
        };
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err(UrlError("must start with smtp:// or smtps://".to_owned()));
        }
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url).map_err(|e| UrlError(e.to_string()))?;
        Ok(Self::Smtp(builder.timeout(Some(timeout)).build()))
    }

    /// What the log says about it (no credentials).
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp(_) => "SMTP".to_owned(),
            Self::Files(dir) => format!(".eml files in {}", dir.display()),
        }
    }

    /// Sends `message`; `file_stem` names the `.eml` file (the outbox id), so a repeat
    /// overwrites the same file instead of making a second one.
    pub async fn send(&self, message: &Message, file_stem: &str) -> Result<(), SendError> {
        match self {
            Self::Smtp(smtp) => match smtp.send(message.clone()).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                Err(e) => Err(SendError::Transient(e.to_string())),
            },
            Self::Files(dir) => {
                let bytes = message.formatted();
                let dir = dir.clone();
                let stem = file_stem.to_owned();
                // Written to a temporary name and renamed, so a reader never sees half a file.
                tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                    std::fs::create_dir_all(&dir)?;
                    let tmp = dir.join(format!(".{stem}.eml.tmp"));
                    std::fs::write(&tmp, &bytes)?;
                    std::fs::rename(&tmp, dir.join(format!("{stem}.eml")))
                })
                .await
                .map_err(|e| SendError::Transient(e.to_string()))?
                .map_err(|e| SendError::Transient(format!("cannot write to the outbox directory: {e}")))
            }
        }
    }
}
