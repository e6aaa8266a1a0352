//! Input validation that names the offending field, so the API can answer 422 precisely.

use serde::Serialize;

/// A rejected input field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field's name as the API spells it (`slug`, `email`…).
    pub field: String,
    /// What is wrong with it, in plain words.
    pub message: String,
}

impl FieldError {
    /// A rejection of `field` because of `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Checks a URL slug: 2 to 64 characters of `a-z`, `0-9` and `-`. Returns it unchanged.
pub fn validate_slug<'a>(field: &str, slug: &'a str) -> Result<&'a str, FieldError> {
    let len_ok = (2..=64).contains(&slug.len());
    let chars_ok = slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if len_ok && chars_ok {
        Ok(slug)
    } else {
        Err(FieldError::new(
            field,
            "must be 2 to 64 characters of lowercase letters, digits and '-'",
        ))
    }
}

/// Checks that an email address looks deliverable (one `@`, a dotted domain, no spaces,
/// at most 254 characters) and returns it trimmed and lowercased, the form the store keeps.
pub fn validate_email(field: &str, email: &str) -> Result<String, FieldError> {
    let email = email.trim().to_lowercase();
    let bad = || FieldError::new(field, "must be an email address like name@example.org");
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let domain_ok = !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || !domain_ok {
        return Err(bad());
    }
    Ok(email)
}

/// Checks a human-readable name (of a user, city, area, actor, strategy): not blank after
/// trimming and at most 200 characters. Returns it trimmed.
pub fn validate_name(field: &str, name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    if name.is_empty() {
        Err(FieldError::new(field, "must not be empty"))
    } else if name.chars().count() > 200 {
        Err(FieldError::new(field, "must be at most 200 characters"))
    } else if name.chars().any(char::is_control) {
        Err(FieldError::new(field, "must not contain control characters"))
    } else {
        Ok(name.to_owned())
    }
}

/// Checks a free text (a comment, a reason, an explanation): not blank after trimming, at
/// most `max` characters, no control characters other than line breaks and tabs. Returns it
/// trimmed.
pub fn validate_text(field: &str, text: &str, max: usize) -> Result<String, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        Err(FieldError::new(field, "must not be empty"))
    } else if text.chars().count() > max {
        Err(FieldError::new(field, format!("must be at most {max} characters")))
    } else if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        Err(FieldError::new(field, "must not contain control characters"))
    } else {
        Ok(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["ab", "quito", "rio-de-janeiro", "cdmx-2030", &"a".repeat(64)] {
            assert_eq!(validate_slug("slug", ok), Ok(ok));
        }
        for bad in ["", "a", "Quito", "são-paulo", "a b", "a_b", &"a".repeat(65)] {
            let err = validate_slug("slug", bad).unwrap_err();
            assert_eq!(err.field, "slug", "{bad:?}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(validate_email("email", " Ana@Quito.GOB.ec ").unwrap(), "ana@quito.gob.ec");
        for bad in ["", "ana", "ana@", "@quito.ec", "ana@quito", "a b@c.d", "a@b@c.d", "a@.b", "a@b..c"] {
            assert_eq!(validate_email("email", bad).unwrap_err().field, "email", "{bad:?}");
        }
    }

    #[test]
    fn texts() {
        assert_eq!(validate_text("body", " Línea 1\nLínea 2 ", 20).unwrap(), "Línea 1\nLínea 2");
        assert_eq!(validate_text("body", " \n ", 20).unwrap_err().message, "must not be empty");
        assert_eq!(validate_text("body", &"é".repeat(21), 20).unwrap_err().field, "body");
        assert!(validate_text("body", "a\u{0}b", 20).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(validate_name("name", "  Cultura ").unwrap(), "Cultura");
        assert!(validate_name("name", "   ").is_err());
        assert!(validate_name("name", &"é".repeat(200)).is_ok());
        assert_eq!(validate_name("title", &"é".repeat(201)).unwrap_err().field, "title");
    }
}
