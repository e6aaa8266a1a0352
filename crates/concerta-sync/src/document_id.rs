//! Document ids as automerge-repo spells them: 16 random bytes, bs58check-encoded,
//! and `automerge:<id>` URLs.

use std::fmt;
use std::str::FromStr;

/// The id of one automerge document (a strategy section, an index, minutes).
///
/// Invariant: always 16 bytes; its text form is bs58check, exactly what
/// `@automerge/automerge-repo` puts after `automerge:` in a document URL.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; 16]);

/// A string that is not a document id or `automerge:` URL.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an automerge document id")]
pub struct InvalidDocumentId;

impl DocumentId {
    /// A new random id (UUID v4 bytes, like the JS client's `generateAutomergeUrl`).
    pub fn random() -> Self {
        Self(*uuid::Uuid::new_v4().as_bytes())
    }

    /// The raw 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Wraps raw bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// `automerge:<id>`, the form `repo.find()` takes.
    pub fn url(&self) -> String {
        format!("automerge:{self}")
    }

    /// Parses an id or an `automerge:` URL (a `#heads` suffix is ignored).
    pub fn parse_url(url: &str) -> Result<Self, InvalidDocumentId> {
        let id = url.strip_prefix("automerge:").unwrap_or(url);
        let id = id.split('#').next().unwrap_or(id);
        id.parse()
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = InvalidDocumentId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = bs58::decode(s)
            .with_check(None)
            .into_vec()
            .map_err(|_| InvalidDocumentId)?;
        let bytes: [u8; 16] = bytes.try_into().map_err(|_| InvalidDocumentId)?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text_and_url() {
        let id = DocumentId::random();
        assert_eq!(id.to_string().parse::<DocumentId>(), Ok(id));
        assert_eq!(DocumentId::parse_url(&id.url()), Ok(id));
        assert_eq!(DocumentId::parse_url(&format!("{}#abc", id.url())), Ok(id));
    }

    #[test]
    fn rejects_bad_checksums_and_lengths() {
        let id = DocumentId::random().to_string();
        let mut broken = id.clone().into_bytes();
        broken[3] = if broken[3] == b'2' { b'3' } else { b'2' };
        assert!(String::from_utf8(broken).unwrap().parse::<DocumentId>().is_err());
        assert!("".parse::<DocumentId>().is_err());
        let short = bs58::encode([1u8; 8]).with_check().into_string();
        assert!(short.parse::<DocumentId>().is_err());
    }
}
