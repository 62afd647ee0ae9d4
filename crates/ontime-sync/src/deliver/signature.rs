//! Standard Webhooks v1: secrets and signatures.
//!
//! A delivery carries three headers: `webhook-id` (the event's id, the same on every retry),
//! `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`, a space-separated
//! list of `v1,<base64 of HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`, one per secret in
//! use (two during a rotation).
//!
//! This module is the sending side's half (secrets, [`signature_header`]); receivers verify
//! with [`super::verify::Verifier`], which also documents what a receiver must do.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header names.
pub const ID_HEADER: &str = "webhook-id";
/// See [`ID_HEADER`].
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// See [`ID_HEADER`].
pub const SIGNATURE_HEADER: &str = "webhook-signature";

const PREFIX: &str = "whsec_";

/// A signing secret: 24 to 64 random bytes, written `whsec_<base64>`. Its `Debug` and `Display`
/// never show the key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// Not base64 after the optional `whsec_` prefix.
    #[error("the webhook secret is not base64 (after an optional whsec_ prefix)")]
    NotBase64,
    /// Shorter than 24 or longer than 64 bytes.
    #[error("the webhook secret has {0} bytes; Standard Webhooks wants 24 to 64")]
    Length(usize),
}

impl WebhookSecret {
    /// Reads `whsec_<base64>` (the prefix is optional).
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let text = text.trim();
        let encoded = text.strip_prefix(PREFIX).unwrap_or(text);
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::NotBase64)?;
        Self::from_bytes(key)
    }

    /// A secret from raw key bytes (24 to 64).
    pub fn from_bytes(key: Vec<u8>) -> Result<Self, SecretError> {
        if !(24..=64).contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        Ok(Self(key))
    }

    /// A new random secret of 32 bytes.
    pub fn generate() -> Self {
        Self(rand::random::<[u8; 32]>().to_vec())
    }

    /// The secret as it is given to a receiver: `whsec_<base64>`. Handle with care.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The raw key bytes.
    pub fn key(&self) -> &[u8] {
        &self.0
    }

    /// The base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under this secret (without `v1,`).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        STANDARD.encode(self.mac(id, timestamp, body).finalize().into_bytes())
    }

    pub(crate) fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The `webhook-signature` header's value for `body`: `v1,<sig>` for every secret, space-separated
/// (several during a rotation).
pub fn signature_header<'a>(
    secrets: impl IntoIterator<Item = &'a WebhookSecret>,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .into_iter()
        .map(|secret| format!("v1,{}", secret.sign(id, timestamp, body)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_vectors() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            signature_header(
                [&secret],
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
    }
}
