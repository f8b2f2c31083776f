//! Secrets in `Debug` output: every type that holds one prints it through [`Redact`].

use std::fmt;

/// Shows whether a secret is set, never the secret: `Some(<redacted>)` or `None`.
pub(crate) struct Redact<'a>(pub(crate) Option<&'a str>);

impl<'a> From<&'a str> for Redact<'a> {
    fn from(secret: &'a str) -> Self {
        Redact(Some(secret))
    }
}

impl<'a> From<&'a String> for Redact<'a> {
    fn from(secret: &'a String) -> Self {
        Redact(Some(secret))
    }
}

impl<'a> From<&'a Option<String>> for Redact<'a> {
    fn from(secret: &'a Option<String>) -> Self {
        Redact(secret.as_deref())
    }
}

impl fmt::Debug for Redact<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("Some(<redacted>)"),
            None => f.write_str("None"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_presence_not_the_secret() {
        assert_eq!(format!("{:?}", Redact::from("s3cret")), "Some(<redacted>)");
        assert_eq!(format!("{:?}", Redact::from(&None::<String>)), "None");
    }
}
