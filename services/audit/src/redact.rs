//! Exports for sharing: the reporter's identity (name, phone, email of a
//! `ComplaintReceived`) replaced by a keyed hash, so a shared export names no
//! reporter, while one reporter's complaints still share one hash and nobody
//! without the key can test a guessed name or phone number against it.
//!
//! A redacted payload no longer hashes to its record's hash. A redacted line
//! therefore carries the original `hash` and `prev_hash`, says that it is
//! redacted, and a check of the file ([`crate::check_export`]) accepts a hash
//! it cannot recompute only on a redacted line whose reporter fields are in
//! the redacted form; every other record's hash, and the chain through all of
//! them, is checked as usual. Free text (title, body, replies) is not
//! redacted: a reporter who writes their name there is still named.

use std::fmt;
use std::path::Path;

use aduan_domain::ComplaintEvent;
use aduan_log::RecordedEvent;

use crate::{parse_hash, AuditError};

/// How a redacted value starts; 64 hex digits of the keyed hash follow.
pub const REDACTED_PREFIX: &str = "redacted:";

/// The key of an export's keyed hashes: 32 secret bytes. `Debug` does not show them.
#[derive(Clone)]
pub struct RedactionKey([u8; 32]);

impl fmt::Debug for RedactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedactionKey(<redacted>)")
    }
}

impl RedactionKey {
    /// The key with these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads the key at `path`, or creates it there (see `aduan_keyfile`:
    /// 0600, atomic, so two exports starting at once end with one key).
    pub fn load_or_create(path: &Path) -> Result<Self, AuditError> {
        aduan_keyfile::load_or_create(path)
            .map(Self)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())).into())
    }

    /// The redacted form of `value` in the reporter field `field`.
    fn hash(&self, field: &str, value: &str) -> String {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(b"aduan export redaction v1\0");
        h.update(field.as_bytes());
        h.update(b"\0");
        h.update(value.as_bytes());
        format!("{REDACTED_PREFIX}{}", h.finalize().to_hex())
    }
}

/// `e` with its reporter's identity replaced, or `None` when it names no
/// reporter. A `ComplaintReceived` whose payload does not decode is refused
/// rather than exported: where its identity lies is unknown.
pub fn redact(e: &RecordedEvent, key: &RedactionKey) -> Result<Option<RecordedEvent>, AuditError> {
    if e.event_type != "ComplaintReceived" {
        return Ok(None);
    }
    let decoded = ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload);
    let mut received = match decoded {
        Ok(ComplaintEvent::Received(r)) => r,
        Ok(_) => return Ok(None),
        Err(err) => {
            return Err(AuditError::Unredactable {
                position: e.position,
                reason: err.to_string(),
            })
        }
    };
    let Some(reporter) = received.reporter.as_mut() else {
        return Ok(None);
    };
    let mut changed = false;
    for (field, value) in [
        ("name", &mut reporter.name),
        ("phone", &mut reporter.phone),
        ("email", &mut reporter.email),
    ] {
        if !value.is_empty() {
            *value = key.hash(field, value);
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    // Decoding upcast the payload to today's schema, so it is written under today's version.
    Ok(Some(RecordedEvent {
        payload: ComplaintEvent::Received(received).encode(),
        schema_version: aduan_domain::event::SCHEMA_VERSION,
        ..e.clone()
    }))
}

/// True when `e` is a `ComplaintReceived` whose reporter identity is present
/// only in the redacted form: what [`redact`] makes, and the only record a
/// redacted export may carry without a hash that matches it.
pub fn is_redacted(e: &RecordedEvent) -> bool {
    let redacted = |v: &str| {
        v.strip_prefix(REDACTED_PREFIX)
            .is_some_and(|h| parse_hash(h).is_some() && h.len() == 64)
    };
    match ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload) {
        Ok(ComplaintEvent::Received(r)) => r.reporter.is_some_and(|p| {
            let fields = [&p.name, &p.phone, &p.email];
            fields.iter().all(|v| v.is_empty() || redacted(v))
                && fields.iter().any(|v| !v.is_empty())
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use aduan_proto::v1;

    use super::*;

    fn received(name: &str, phone: &str) -> RecordedEvent {
        let e = ComplaintEvent::from(v1::ComplaintReceived {
            body: "jalan rusak".into(),
            reporter: Some(v1::Reporter {
                name: name.into(),
                phone: phone.into(),
                email: String::new(),
                privacy: "confidential".into(),
            }),
            ..Default::default()
        });
        RecordedEvent {
            event_id: uuid::Uuid::nil(),
            stream_id: "complaint-x".into(),
            stream_version: 1,
            position: 7,
            recorded_at_ms: 0,
            event_type: e.type_name().into(),
            schema_version: 1,
            actor: "intake".into(),
            correlation_id: uuid::Uuid::nil(),
            causation_id: None,
            payload: e.encode(),
            prev_hash: [1; 32],
            hash: [2; 32],
        }
    }

    fn reporter(e: &RecordedEvent) -> v1::Reporter {
        match ComplaintEvent::decode(&e.event_type, 1, &e.payload) {
            Ok(ComplaintEvent::Received(r)) => r.reporter.expect("reporter"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn identity_becomes_a_keyed_hash_and_nothing_else_changes() {
        let key = RedactionKey::from_bytes([5; 32]);
        let e = received("Siti Aminah", "+6281234567890");
        let r = redact(&e, &key).expect("redact").expect("changed");
        let p = reporter(&r);
        assert!(p.name.starts_with(REDACTED_PREFIX) && p.phone.starts_with(REDACTED_PREFIX));
        assert_eq!((p.email.as_str(), p.privacy.as_str()), ("", "confidential"));
        assert!(is_redacted(&r) && !is_redacted(&e));
        let (mut a, mut b) = (crate::payload_json(&e), crate::payload_json(&r));
        a["reporter"] = serde_json::Value::Null;
        b["reporter"] = serde_json::Value::Null;
        assert_eq!(a, b, "only the reporter's identity changes");
        assert_eq!(
            (r.hash, r.prev_hash, r.position),
            (e.hash, e.prev_hash, e.position)
        );
        // The same reporter gets the same hash; another key or person another.
        let again = redact(&received("Siti Aminah", ""), &key)
            .expect("redact")
            .expect("changed");
        assert_eq!(reporter(&again).name, p.name);
        let other = RedactionKey::from_bytes([6; 32]);
        let elsewhere = redact(&e, &other).expect("redact").expect("changed");
        assert_ne!(reporter(&elsewhere).name, p.name);
        // No identity, nothing to redact.
        assert!(redact(&received("", ""), &key).expect("redact").is_none());
    }

    #[test]
    fn the_key_file_is_created_once_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("keys").join("export.key");
        let a = RedactionKey::load_or_create(&path).expect("create");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = RedactionKey::load_or_create(&path).expect("load");
        assert_eq!(a.0, b.0);
        assert!(!format!("{a:?}").contains(&crate::hex(&a.0)[..8]));
    }
}
