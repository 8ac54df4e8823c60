//! Checking a `SubmitComplaint` at the edge: every field parsed or refused with
//! the field's name, before anything is written.

use aduan_domain::{Channel, Privacy, RegionCode};
use aduan_proto::v1;

use crate::IntakeError;

/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest body, in characters.
pub const MAX_BODY: usize = 20_000;
/// The kinds a complaint can be (CONTRACT.md).
pub const KINDS: &[&str] = &["complaint", "aspiration", "information_request"];

/// A submission that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The channel it came through.
    pub channel: Channel,
    /// The channel's own id for it; empty when the channel has none (no dedupe then).
    pub channel_ref: String,
    /// One of [`KINDS`].
    pub kind: &'static str,
    /// Trimmed title, possibly empty (an SMS has none).
    pub title: String,
    /// Trimmed, non-blank body.
    pub body: String,
    /// Lowercased category, possibly empty.
    pub category: String,
    /// Where, with a parsed region code when one was given.
    pub location: Option<v1::Location>,
    /// `None` for an anonymous reporter: no identity is kept at all.
    pub reporter: Option<v1::Reporter>,
    /// The reporter's privacy.
    pub privacy: Privacy,
    /// True when identity fields came with an anonymous report and were dropped.
    pub identity_dropped: bool,
}

impl Submission {
    /// `(channel, channel_ref)` as one key, or `None` when there is no reference.
    pub fn idempotency_key(&self) -> Option<Vec<u8>> {
        if self.channel_ref.is_empty() {
            return None;
        }
        let mut k = self.channel.as_str().as_bytes().to_vec();
        k.push(0);
        k.extend_from_slice(self.channel_ref.as_bytes());
        Some(k)
    }

    /// A hash of everything the submission says, after normalisation: a retry
    /// of the same submission has the same fingerprint, another submission
    /// under the same channel reference (almost surely) not.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new_derive_key("aduan 2026-12 submission fingerprint");
        let mut field = |b: &[u8]| {
            // Length-prefixed, so no two submissions encode alike.
            h.update(&(b.len() as u64).to_le_bytes());
            h.update(b);
        };
        field(self.channel.as_str().as_bytes());
        field(self.channel_ref.as_bytes());
        field(self.kind.as_bytes());
        field(self.title.as_bytes());
        field(self.body.as_bytes());
        field(self.category.as_bytes());
        field(self.privacy.as_str().as_bytes());
        if let Some(l) = &self.location {
            field(b"location");
            field(l.region_code.as_bytes());
            field(l.address.as_bytes());
            for c in [l.lat, l.lon] {
                field(&c.map_or([0xff; 8], |v| v.to_bits().to_le_bytes()));
            }
        }
        if let Some(r) = &self.reporter {
            field(b"reporter");
            for f in [&r.name, &r.phone, &r.email, &r.privacy] {
                field(f.as_bytes());
            }
        }
        *h.finalize().as_bytes()
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> IntakeError {
    IntakeError::Invalid {
        field,
        message: message.into(),
    }
}

fn max_chars(field: &'static str, s: &str, max: usize) -> Result<(), IntakeError> {
    if s.chars().count() > max {
        return Err(invalid(
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(())
}

/// Checks every field of `req`.
pub fn validate(req: v1::SubmitComplaint) -> Result<Submission, IntakeError> {
    let channel =
        Channel::parse(req.channel.trim()).map_err(|e| invalid("channel", e.to_string()))?;
    let channel_ref = req.channel_ref.trim().to_owned();
    max_chars("channel_ref", &channel_ref, 128)?;
    let kind = match req.kind.trim() {
        "" => "complaint",
        k => KINDS
            .iter()
            .copied()
            .find(|known| *known == k)
            .ok_or_else(|| {
                invalid(
                    "kind",
                    format!("unknown kind {k:?}; expected one of {}", KINDS.join(", ")),
                )
            })?,
    };
    let title = req.title.trim().to_owned();
    max_chars("title", &title, MAX_TITLE)?;
    let body = req.body.trim().to_owned();
    if body.is_empty() {
        return Err(invalid("body", "body is required and must not be blank"));
    }
    max_chars("body", &body, MAX_BODY)?;
    let category = req.category.trim().to_lowercase();
    max_chars("category", &category, 64)?;
    let location = req.location.map(location).transpose()?;
    let (reporter, privacy, identity_dropped) = reporter(req.reporter)?;
    Ok(Submission {
        channel,
        channel_ref,
        kind,
        title,
        body,
        category,
        location,
        reporter,
        privacy,
        identity_dropped,
    })
}

fn location(l: v1::Location) -> Result<v1::Location, IntakeError> {
    let region_code = l.region_code.trim().to_owned();
    if !region_code.is_empty() {
        RegionCode::parse(&region_code)
            .map_err(|e| invalid("location.region_code", e.to_string()))?;
    }
    max_chars("location.address", &l.address, 500)?;
    if l.lat.is_some_and(|v| !(-90.0..=90.0).contains(&v)) {
        return Err(invalid("location.lat", "lat must be between -90 and 90"));
    }
    if l.lon.is_some_and(|v| !(-180.0..=180.0).contains(&v)) {
        return Err(invalid("location.lon", "lon must be between -180 and 180"));
    }
    Ok(v1::Location {
        region_code,
        address: l.address.trim().to_owned(),
        ..l
    })
}

fn reporter(r: Option<v1::Reporter>) -> Result<(Option<v1::Reporter>, Privacy, bool), IntakeError> {
    let r = r.unwrap_or_default();
    // Omitted privacy is confidential (CONTRACT.md; UU 27/2022 on personal
    // data): a public reporter is one who chose it.
    let privacy = match r.privacy.trim() {
        "" => Privacy::Confidential,
        p => Privacy::parse(p).ok_or_else(|| {
            invalid(
                "reporter.privacy",
                format!("unknown privacy {p:?}; expected public, confidential or anonymous"),
            )
        })?,
    };
    let has_identity = [&r.name, &r.phone, &r.email]
        .iter()
        .any(|f| !f.trim().is_empty());
    if privacy == Privacy::Anonymous {
        // Anonymous means nothing is stored, not even what was sent by mistake.
        return Ok((None, privacy, has_identity));
    }
    max_chars("reporter.name", &r.name, 200)?;
    max_chars("reporter.phone", &r.phone, 32)?;
    max_chars("reporter.email", &r.email, 254)?;
    let email = r.email.trim();
    if !email.is_empty() && !email.contains('@') {
        return Err(invalid("reporter.email", "email must contain '@'"));
    }
    let reporter = v1::Reporter {
        name: r.name.trim().to_owned(),
        phone: r.phone.trim().to_owned(),
        email: email.to_owned(),
        privacy: privacy.as_str().to_owned(),
    };
    Ok((Some(reporter), privacy, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> v1::SubmitComplaint {
        v1::SubmitComplaint {
            channel: "sms".into(),
            channel_ref: "msg-1".into(),
            body: "Jalan berlubang di depan puskesmas".into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_omitted_privacy_is_confidential() {
        let req = v1::SubmitComplaint {
            reporter: Some(v1::Reporter {
                name: "Siti".into(),
                ..Default::default()
            }),
            ..ok()
        };
        let sub = validate(req).expect("valid");
        let reporter = sub.reporter.expect("identity kept");
        assert_eq!(reporter.privacy, "confidential");
    }

    fn field_of(req: v1::SubmitComplaint) -> &'static str {
        match validate(req) {
            Err(IntakeError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_sms_is_accepted_with_defaults() {
        let s = validate(ok()).expect("valid");
        assert_eq!((s.kind, s.privacy), ("complaint", Privacy::Confidential));
        assert!(s.idempotency_key().is_some());
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(&str, v1::SubmitComplaint)> = vec![
            (
                "body",
                v1::SubmitComplaint {
                    body: "  \n ".into(),
                    ..ok()
                },
            ),
            (
                "body",
                v1::SubmitComplaint {
                    body: "x".repeat(MAX_BODY + 1),
                    ..ok()
                },
            ),
            (
                "title",
                v1::SubmitComplaint {
                    title: "é".repeat(MAX_TITLE + 1),
                    ..ok()
                },
            ),
            (
                "kind",
                v1::SubmitComplaint {
                    kind: "complain".into(),
                    ..ok()
                },
            ),
            (
                "channel",
                v1::SubmitComplaint {
                    channel: "Web Form".into(),
                    ..ok()
                },
            ),
            (
                "channel",
                v1::SubmitComplaint {
                    channel: "".into(),
                    ..ok()
                },
            ),
            (
                "location.region_code",
                v1::SubmitComplaint {
                    location: Some(v1::Location {
                        region_code: "33.1".into(),
                        ..Default::default()
                    }),
                    ..ok()
                },
            ),
            (
                "reporter.privacy",
                v1::SubmitComplaint {
                    reporter: Some(v1::Reporter {
                        privacy: "secret".into(),
                        ..Default::default()
                    }),
                    ..ok()
                },
            ),
        ];
        for (field, req) in cases {
            assert_eq!(field_of(req), field);
        }
    }

    #[test]
    fn fingerprints_see_every_field_and_ignore_trimming() {
        let base = validate(ok()).expect("valid").fingerprint();
        let padded = v1::SubmitComplaint {
            body: format!("  {}\n", ok().body),
            ..ok()
        };
        assert_eq!(validate(padded).expect("valid").fingerprint(), base);
        let changed = [
            v1::SubmitComplaint {
                body: "Jalan berlubang di depan pasar".into(),
                ..ok()
            },
            v1::SubmitComplaint {
                title: "x".into(),
                ..ok()
            },
            v1::SubmitComplaint {
                category: "jalan".into(),
                ..ok()
            },
            v1::SubmitComplaint {
                location: Some(v1::Location {
                    lat: Some(1.0),
                    ..Default::default()
                }),
                ..ok()
            },
            v1::SubmitComplaint {
                reporter: Some(v1::Reporter {
                    phone: "0812".into(),
                    ..Default::default()
                }),
                ..ok()
            },
        ];
        for req in changed {
            assert_ne!(validate(req).expect("valid").fingerprint(), base);
        }
    }

    #[test]
    fn anonymous_reports_keep_no_identity() {
        let req = v1::SubmitComplaint {
            reporter: Some(v1::Reporter {
                name: "Siti".into(),
                phone: "0812".into(),
                email: "s@x.id".into(),
                privacy: "anonymous".into(),
            }),
            ..ok()
        };
        let s = validate(req).expect("valid");
        assert_eq!((s.reporter, s.identity_dropped), (None, true));
    }
}
