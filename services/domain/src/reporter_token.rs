//! The reporter's secret: a random token handed out once at intake, with only
//! its BLAKE3 hash stored in the log, so the log (and anyone reading it) never
//! holds what a reporter needs to answer, rate or reopen their complaint.

use std::fmt;

use rand::RngCore;

/// A reporter token as presented by a reporter; its `Debug` form is redacted
/// so it never lands in a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct ReporterToken(String);

impl ReporterToken {
    /// The token text, for handing to the reporter once.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for ReporterToken {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for ReporterToken {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl fmt::Debug for ReporterToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReporterToken(<redacted>)")
    }
}

/// A fresh token (32 random bytes as 64 lowercase hex characters, URL-safe)
/// and the hex hash to store in `ComplaintReceived.reporter_token_hash`.
pub fn generate() -> (ReporterToken, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hash = hash(&token);
    (ReporterToken(token), hash)
}

/// BLAKE3 of the token text, as lowercase hex.
pub fn hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// True when `token` hashes to `hash_hex`. The comparison is constant-time
/// (`blake3::Hash`'s `PartialEq`), so timing leaks nothing about the hash; a
/// stored hash that is empty or not hex (an anonymous reporter without a
/// token, a damaged event) matches no token.
pub fn verify(token: &ReporterToken, hash_hex: &str) -> bool {
    match blake3::Hash::from_hex(hash_hex) {
        Ok(stored) => blake3::hash(token.0.as_bytes()) == stored,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_verifies_against_its_hash_only() {
        let (token, hash_hex) = generate();
        assert_eq!(token.as_str().len(), 64);
        assert_eq!(hash_hex, hash(token.as_str()));
        assert!(verify(&token, &hash_hex));
        assert!(verify(&token, &hash_hex.to_uppercase()));
        let (other, _) = generate();
        assert_ne!(token, other);
        assert!(!verify(&other, &hash_hex));
        assert!(!verify(&token, ""));
        assert!(!verify(&token, "not hex"));
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let (token, _) = generate();
        assert!(!format!("{token:?}").contains(token.as_str()));
    }
}
