//! Identifiers, parsed once at the edge: past the edge an `OrgCode` is valid by
//! construction.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not valid: {why}")]
pub struct InvalidId {
    /// Which kind of identifier ("org code", "region code", ...).
    pub what: &'static str,
    /// The text that was refused (cut to 80 characters).
    pub value: String,
    /// What rule it broke.
    pub why: &'static str,
}

impl InvalidId {
    fn new(what: &'static str, value: &str, why: &'static str) -> Self {
        Self {
            what,
            value: value.chars().take(80).collect(),
            why,
        }
    }
}

/// A complaint's id: a UUID v7 (ids sort by creation time), or, for a
/// submission that carries a channel reference, a UUID v8 derived from
/// `(channel, channel_ref)` (see [`ComplaintId::for_channel_ref`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ComplaintId(Uuid);

impl ComplaintId {
    /// A fresh id (UUID v7).
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
    /// The id of the complaint submitted as `channel_ref` on `channel`: the same
    /// pair always gives the same id, in any process, so "one complaint per
    /// channel reference" is held by the log (the complaint's stream can be
    /// created once) rather than by an index beside it. A UUID v8 (RFC 9562
    /// custom) of BLAKE3 in derive-key mode: a name-based id that needs no
    /// secret, so dedupe never depends on a key that could be lost.
    pub fn for_channel_ref(channel: &Channel, channel_ref: &str) -> Self {
        let mut h =
            blake3::Hasher::new_derive_key("aduan 2026-12 complaint id of a channel reference");
        // A channel never contains a NUL, and the reference comes last: unambiguous.
        h.update(channel.as_str().as_bytes());
        h.update(&[0]);
        h.update(channel_ref.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&h.finalize().as_bytes()[..16]);
        Self(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }
    /// Parses the hyphenated UUID form.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        Uuid::parse_str(s.trim())
            .map(Self)
            .map_err(|_| InvalidId::new("complaint id", s, "expected a UUID"))
    }
    /// The id whose UUID has these 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }
    /// The underlying UUID.
    pub fn uuid(&self) -> Uuid {
        self.0
    }
    /// The log stream that holds this complaint's events.
    pub fn stream(&self) -> String {
        format!("complaint-{}", self.0)
    }
}

impl Default for ComplaintId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ComplaintId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The alphabet of tracking numbers: no 0/O, 1/I/L or U, so a number read out
/// over the phone or copied by hand cannot be mistaken.
const TRACKING_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
const TRACKING_LEN: usize = 10;

/// A short, case-insensitive tracking number for citizens, e.g. `K7QMX-3PA9F`.
/// Serialised in its canonical form; deserialising checks it like `parse`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackingNo(String);

impl TrackingNo {
    /// A random tracking number (30^10 ≈ 5.9·10^14 values); the caller checks uniqueness.
    pub fn random() -> Self {
        let mut rng = rand::rng();
        let s = (0..TRACKING_LEN)
            .map(|_| TRACKING_ALPHABET[rng.random_range(0..TRACKING_ALPHABET.len())] as char)
            .collect();
        Self(s)
    }
    /// Parses any case, with or without the hyphen.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let norm: String = s
            .trim()
            .chars()
            .filter(|c| *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        if norm.len() != TRACKING_LEN {
            return Err(InvalidId::new(
                "tracking number",
                s,
                "expected 10 characters",
            ));
        }
        if !norm.bytes().all(|b| TRACKING_ALPHABET.contains(&b)) {
            return Err(InvalidId::new(
                "tracking number",
                s,
                "has a character outside the alphabet",
            ));
        }
        Ok(Self(norm))
    }
    /// The canonical form without hyphen (the storage key).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TrackingNo {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, InvalidId> {
        Self::parse(&s)
    }
}

impl From<TrackingNo> for String {
    fn from(t: TrackingNo) -> String {
        t.0
    }
}

impl fmt::Display for TrackingNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..5], &self.0[5..])
    }
}

/// An organisation code: `[a-z0-9][a-z0-9-]{1,63}`, a valid NATS subject token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgCode(String);

impl OrgCode {
    /// The root organisation, last owner of every triage queue.
    pub const NATIONAL: &'static str = "nasional";

    /// Parses an org code.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let b = s.as_bytes();
        let ok_char = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        if !(2..=64).contains(&b.len()) {
            return Err(InvalidId::new("org code", s, "must be 2 to 64 characters"));
        }
        if !ok_char(&b[0]) || !b[1..].iter().all(|c| ok_char(c) || *c == b'-') {
            return Err(InvalidId::new(
                "org code",
                s,
                "must be lowercase letters, digits and '-', starting with a letter or digit",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    /// The root org `nasional`.
    pub fn national() -> Self {
        Self(Self::NATIONAL.to_owned())
    }
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrgCode {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, InvalidId> {
        Self::parse(&s)
    }
}

impl From<OrgCode> for String {
    fn from(o: OrgCode) -> String {
        o.0
    }
}

impl fmt::Display for OrgCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Kemendagri region code: 1 to 4 dot-separated groups of digits
/// (`33`, `33.18`, `33.18.01`, `33.18.01.2001`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

impl RegionCode {
    /// Parses a region code.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let parts: Vec<&str> = s.split('.').collect();
        if parts.len() > 4 {
            return Err(InvalidId::new("region code", s, "has more than 4 levels"));
        }
        let ok = parts.iter().enumerate().all(|(i, p)| {
            let len_ok = if i < 3 {
                p.len() == 2
            } else {
                (2..=4).contains(&p.len())
            };
            len_ok && p.bytes().all(|b| b.is_ascii_digit())
        });
        if !ok {
            return Err(InvalidId::new(
                "region code",
                s,
                "expected Kemendagri form like 33, 33.18 or 33.18.01",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Number of levels: 1 province, 2 regency/city, 3 district, 4 village.
    pub fn depth(&self) -> usize {
        self.0.split('.').count()
    }
    /// True when `self` is `other` or lies inside it (`33.18.01` is within `33.18`).
    pub fn is_within(&self, other: &RegionCode) -> bool {
        self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'.'))
    }
    /// The enclosing region, if any (`33.18` for `33.18.01`).
    pub fn parent(&self) -> Option<RegionCode> {
        self.0.rsplit_once('.').map(|(p, _)| Self(p.to_owned()))
    }
}

impl TryFrom<String> for RegionCode {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, InvalidId> {
        Self::parse(&s)
    }
}

impl From<RegionCode> for String {
    fn from(r: RegionCode) -> String {
        r.0
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A channel token: lowercase letters, digits and '-', 1 to 32 characters
/// (`web`, `sms`, `lapor-gub`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Channel(String);

impl Channel {
    /// The channels CONTRACT.md names; a rule set may add its own.
    pub const KNOWN: [&'static str; 9] = [
        "web",
        "app",
        "sms",
        "twitter",
        "email",
        "ppid",
        "lapor-gub",
        "lapor-bup",
        "open311",
    ];

    /// Parses a channel token.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let ok = (1..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(InvalidId::new(
                "channel",
                s,
                "must be 1 to 32 lowercase letters, digits or '-'",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Channel {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, InvalidId> {
        Self::parse(&s)
    }
}

impl From<Channel> for String {
    fn from(c: Channel) -> String {
        c.0
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_nest_only_at_a_dot() {
        let r = |s: &str| RegionCode::parse(s).expect("region");
        assert!(r("33.18.01").is_within(&r("33.18")));
        assert!(r("33.18").is_within(&r("33.18")));
        assert!(!r("34.01").is_within(&r("33")), "another province");
        assert!(!r("33").is_within(&r("33.18")));
        assert_eq!((r("33").depth(), r("33.18.01.2001").depth()), (1, 4));
        assert_eq!(r("33.18").as_str(), "33.18");
        assert_eq!(String::from(r("33.18")), "33.18");
        assert_eq!(r("33.18").to_string(), "33.18");
    }

    #[test]
    fn channels_are_lowercase_tokens() {
        for good in ["web", "sms", "lapor-bup", "wa2", &"a".repeat(32)] {
            let c = Channel::parse(good).expect(good);
            assert_eq!(
                (c.to_string(), String::from(c)),
                (good.to_owned(), good.to_owned())
            );
        }
        for bad in ["", "Web", "w b", "web_", "web.x", &"a".repeat(33)] {
            assert!(Channel::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_complaint_id_from_bytes_is_that_uuid() {
        let bytes = *Uuid::now_v7().as_bytes();
        assert_eq!(ComplaintId::from_bytes(bytes).uuid().as_bytes(), &bytes);
    }

    #[test]
    fn org_codes() {
        assert!(OrgCode::parse("kab-pati-dinkes").is_ok());
        assert!(OrgCode::parse("nasional").is_ok());
        for bad in [
            "",
            "a",
            "Kab",
            "-kab",
            "kab.pati",
            "kab pati",
            "kab_pati",
            &"a".repeat(65),
        ] {
            assert!(OrgCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn region_codes() {
        for good in ["33", "33.18", "33.18.01", "33.18.01.2001"] {
            assert!(RegionCode::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "3",
            "333",
            "33.",
            "33.1",
            "33.18.1",
            "aa",
            "33.18.01.2001.1",
            "33..18",
        ] {
            assert!(RegionCode::parse(bad).is_err(), "{bad:?} accepted");
        }
        let pati = RegionCode::parse("33.18").expect("valid");
        let kec = RegionCode::parse("33.18.01").expect("valid");
        let other = RegionCode::parse("33.1").map(|_| ()).is_err();
        assert!(other);
        assert!(kec.is_within(&pati));
        assert!(!pati.is_within(&kec));
        assert!(!RegionCode::parse("33.180").is_ok_and(|r| r.is_within(&pati)));
        assert_eq!(kec.parent(), Some(pati));
    }

    #[test]
    fn ids_of_channel_references_are_stable_and_distinct() {
        let sms = Channel::parse("sms").expect("channel");
        let web = Channel::parse("web").expect("channel");
        let a = ComplaintId::for_channel_ref(&sms, "m-1");
        assert_eq!(a, ComplaintId::for_channel_ref(&sms, "m-1"));
        assert_ne!(a, ComplaintId::for_channel_ref(&sms, "m-2"));
        assert_ne!(a, ComplaintId::for_channel_ref(&web, "m-1"));
        assert_eq!(a.uuid().get_version_num(), 8);
        assert_eq!(ComplaintId::parse(&a.to_string()), Ok(a));
        assert!(a.stream().starts_with("complaint-"));
        // Pinned: the derivation must never change, or old keys dedupe no more.
        assert_eq!(a.to_string(), "15f71456-60ea-81e3-85b2-6d218cdcb003");
    }

    #[test]
    fn tracking_numbers_round_trip_in_any_case() {
        for _ in 0..100 {
            let t = TrackingNo::random();
            let shown = t.to_string();
            assert_eq!(TrackingNo::parse(&shown).expect("parse"), t);
            assert_eq!(TrackingNo::parse(&shown.to_lowercase()).expect("parse"), t);
        }
        assert!(TrackingNo::parse("OOOOO-IIIII").is_err());
        assert!(TrackingNo::parse("ABC").is_err());
    }
}
