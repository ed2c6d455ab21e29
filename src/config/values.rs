//! Setting values that are parsed where they are read: a value that deserializes is a good
//! one, so the code using it never checks it again. Each parse error says what was expected;
//! the loader adds the key it came from.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer};

/// A secret from configuration. Its `Debug` never shows the value, so it cannot reach logs.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// For `#[serde(deserialize_with)]`: a secret that must not be blank (provider tokens).
pub fn required_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Err(serde::de::Error::custom("must not be blank"));
    }
    Ok(Secret(s))
}

/// Implements `Deserialize` through `FromStr` (whose error says what is wrong).
macro_rules! deserialize_from_str {
    ($($ty:ty),*) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

deserialize_from_str!(NonBlank, HttpUrl, WebhookUrl, GraphVersion, CountryCode);

/// Text that is not empty or only spaces (provider ids: a phone number id, a Page id…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonBlank(String);

impl NonBlank {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for NonBlank {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().is_empty() {
            true => Err("must not be blank".to_owned()),
            false => Ok(NonBlank(s.to_owned())),
        }
    }
}

/// An `http` or `https` URL, kept as written (a provider signs the exact text of some URLs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(String);

impl HttpUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Without a trailing `/`, ready to have a path appended.
    pub fn base(&self) -> &str {
        self.0.trim_end_matches('/')
    }
}

impl FromStr for HttpUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(s).map_err(|e| format!("is not a URL: {e}"))?;
        match parsed.scheme() {
            "http" | "https" => Ok(HttpUrl(s.to_owned())),
            _ => Err("must be an http or https URL".to_owned()),
        }
    }
}

/// An `http` or `https` URL without a query or fragment, so paths can be appended to it
/// (`<public_url>/media/…`, Twilio's `<public_url>/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(HttpUrl);

impl WebhookUrl {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Without a trailing `/`, ready to have a path appended.
    pub fn base(&self) -> &str {
        self.0.base()
    }
}

impl FromStr for WebhookUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let url: HttpUrl = s.parse()?;
        if s.contains('?') || s.contains('#') {
            return Err("must be an http or https URL without a query".to_owned());
        }
        Ok(WebhookUrl(url))
    }
}

/// A Graph API version such as `v25.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphVersion(String);

impl GraphVersion {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for GraphVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let ok = s
            .strip_prefix('v')
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.'));
        match ok {
            true => Ok(GraphVersion(s.to_owned())),
            false => Err("must look like `v25.0`".to_owned()),
        }
    }
}

/// A country calling code for numbers typed without one (`34` or `+34`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryCode(String);

impl CountryCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CountryCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        // A code that makes a national number into E.164 is one.
        crate::providers::phone::to_e164("600000000", Some(s))
            .map(|_| CountryCode(s.to_owned()))
            .map_err(|_| "must be a country calling code such as `34` or `+34`".to_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_or_say_what_is_expected() {
        assert!("  ".parse::<NonBlank>().is_err());
        assert_eq!("x".parse::<NonBlank>().unwrap().as_str(), "x");
        assert_eq!(
            "http://127.0.0.1:9/".parse::<HttpUrl>().unwrap().base(),
            "http://127.0.0.1:9"
        );
        assert!("ftp://x".parse::<HttpUrl>().unwrap_err().contains("http"));
        assert!("not a url"
            .parse::<HttpUrl>()
            .unwrap_err()
            .contains("not a URL"));
        assert!("https://a.example/x?y=1".parse::<WebhookUrl>().is_err());
        assert!("https://a.example/x#y".parse::<WebhookUrl>().is_err());
        // Kept as written: Twilio signs the exact URL typed into its console.
        assert_eq!(
            "https://A.example:443/x"
                .parse::<WebhookUrl>()
                .unwrap()
                .as_str(),
            "https://A.example:443/x"
        );
        assert!("v25.0".parse::<GraphVersion>().is_ok());
        assert!("25.0".parse::<GraphVersion>().is_err());
        assert!("v".parse::<GraphVersion>().is_err());
        assert!("+34".parse::<CountryCode>().is_ok());
        assert!("abc".parse::<CountryCode>().is_err());
    }

    #[test]
    fn secrets_never_print() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2")),
            "Secret([redacted])"
        );
    }
}
