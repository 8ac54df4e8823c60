//! The secret behind reporter tokens. A token is a keyed BLAKE3 hash of the
//! complaint id and the submission's content fingerprint, so intake can give
//! the same token again to whoever resubmits exactly what was first submitted
//! (a retry whose first answer was lost), and to nobody else: a stranger who
//! reuses a channel reference with other content gets another token, whose
//! hash does not match the one in `ComplaintReceived`.
//!
//! Every intake that serves one log must hold the same key (copy the file to
//! each replica); a lost key only stops recovery of earlier tokens, never
//! dedupe, and tokens already given out keep working (only their hash is
//! checked).

use std::fmt;
use std::path::Path;

use aduan_domain::{reporter_token, ComplaintId, ReporterToken};
use rand::RngCore;

use crate::IntakeError;

/// The reporter-token key: 32 secret bytes. `Debug` does not show them.
#[derive(Clone)]
pub struct ReporterKey([u8; 32]);

impl fmt::Debug for ReporterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReporterKey(<redacted>)")
    }
}

impl ReporterKey {
    /// A fresh random key, kept nowhere (tests, one-off tools).
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        Self(k)
    }

    /// The key with these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads the key at `path`, or creates it there on first start (see
    /// `aduan_keyfile`: 0600, atomic, so two processes end with one key).
    pub fn load_or_create(path: &Path) -> Result<Self, IntakeError> {
        aduan_keyfile::load_or_create(path)
            .map(Self)
            .map_err(|source| IntakeError::ReporterKey {
                path: path.to_owned(),
                source,
            })
    }

    /// The reporter token of complaint `id` submitted with content
    /// `fingerprint`, and the hash `ComplaintReceived` stores for it.
    pub fn token(&self, id: &ComplaintId, fingerprint: &[u8; 32]) -> (ReporterToken, String) {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(b"aduan reporter token v1\0");
        h.update(id.uuid().as_bytes());
        h.update(fingerprint);
        let token = h.finalize().to_hex().to_string();
        let hash = reporter_token::hash(&token);
        (ReporterToken::from(token), hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_key_is_created_once_0600_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys").join("reporter.key");
        let a = ReporterKey::load_or_create(&path).expect("create");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = ReporterKey::load_or_create(&path).expect("load");
        assert_eq!(a.0, b.0);
        let hex: String = a.0.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!format!("{a:?}").contains(&hex[..8]));
        std::fs::write(&path, "not a key").expect("damage");
        assert!(matches!(
            ReporterKey::load_or_create(&path),
            Err(IntakeError::ReporterKey { .. })
        ));
    }

    #[test]
    fn tokens_depend_on_key_complaint_and_content() {
        let (k1, k2) = (ReporterKey::random(), ReporterKey::random());
        let (id, other) = (ComplaintId::new(), ComplaintId::new());
        let fp = [7u8; 32];
        let (t, hash) = k1.token(&id, &fp);
        assert_eq!(k1.token(&id, &fp).0, t);
        assert!(reporter_token::verify(&t, &hash));
        assert_ne!(k2.token(&id, &fp).1, hash);
        assert_ne!(k1.token(&other, &fp).1, hash);
        assert_ne!(k1.token(&id, &[8u8; 32]).1, hash);
    }
}
