//! Values the command line checks itself, parsed at the edge by clap: a
//! malformed one is refused before anything is opened, with exit code 2 and
//! a message naming its flag ("invalid value 'yesterday' for '--until'").

use std::path::PathBuf;

use aduan_domain::{Channel, ComplaintId, OrgCode, RegionCode, TrackingNo};
use aduan_rules::Kind;

/// A file that must exist (a rule set, an export to import).
pub fn existing_file(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    match std::fs::metadata(&p) {
        Ok(m) if m.is_file() => Ok(p),
        Ok(_) => Err("not a regular file".to_owned()),
        Err(e) => Err(format!("cannot read it: {e}")),
    }
}

/// A file to write, whose directory must exist.
pub fn new_file(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if p.is_dir() {
        return Err("a directory, not a file".to_owned());
    }
    let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
    match parent {
        Some(d) if !d.is_dir() => Err(format!("no directory {}", d.display())),
        _ => Ok(p),
    }
}

/// A NATS server URL, or a comma-separated list of them.
pub fn nats_url(s: &str) -> Result<String, String> {
    for server in s.split(',') {
        server
            .trim()
            .parse::<async_nats::ServerAddr>()
            .map_err(|e| e.to_string())?;
    }
    Ok(s.to_owned())
}

/// A subject prefix: dot-separated NATS tokens, no wildcards or white space.
pub fn subject_prefix(s: &str) -> Result<String, String> {
    let bad =
        |t: &str| t.is_empty() || t.contains(|c: char| c.is_whitespace() || c == '*' || c == '>');
    if s.split('.').any(bad) {
        return Err(
            "dot-separated NATS subject tokens, without white space, '*' or '>'".to_owned(),
        );
    }
    Ok(s.to_owned())
}

/// An organisation code.
pub fn org(s: &str) -> Result<OrgCode, String> {
    OrgCode::parse(s).map_err(|e| e.to_string())
}

/// A Kemendagri region code.
pub fn region(s: &str) -> Result<RegionCode, String> {
    RegionCode::parse(s).map_err(|e| e.to_string())
}

/// A channel token.
pub fn channel(s: &str) -> Result<Channel, String> {
    Channel::parse(s).map_err(|e| e.to_string())
}

/// A kind of submission.
pub fn kind(s: &str) -> Result<Kind, String> {
    Kind::parse(s).ok_or_else(|| "complaint, aspiration or information_request".to_owned())
}

/// A moment given as RFC 3339, kept with the text it was written as.
#[derive(Debug, Clone)]
pub struct Moment {
    /// As given on the command line.
    pub text: String,
    /// Parsed.
    pub at: time::OffsetDateTime,
}

/// An RFC 3339 time.
pub fn moment(s: &str) -> Result<Moment, String> {
    use time::format_description::well_known::Rfc3339;
    let at = time::OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| format!("not an RFC 3339 time (e.g. 2026-11-20T17:00:00+07:00): {e}"))?;
    Ok(Moment {
        text: s.to_owned(),
        at,
    })
}

/// A complaint named on the command line.
#[derive(Debug, Clone)]
pub enum ComplaintRef {
    /// By its id.
    Id(ComplaintId),
    /// By its tracking number.
    Tracking(TrackingNo),
}

/// A complaint id (UUID) or a tracking number.
pub fn complaint_ref(s: &str) -> Result<ComplaintRef, String> {
    if let Ok(id) = ComplaintId::parse(s) {
        return Ok(ComplaintRef::Id(id));
    }
    TrackingNo::parse(s)
        .map(ComplaintRef::Tracking)
        .map_err(|e| format!("neither a complaint id nor a tracking number: {e}"))
}

/// A count that must be at least 1.
pub fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A rate or duration that must be at least 1.
pub fn positive_u64(s: &str) -> Result<u64, String> {
    positive(s).map(|n| n as u64)
}
