//! Publishing a rule set: validated, then recorded as a `RuleSetPublished`
//! event in stream `ruleset`, carrying the whole TOML source so that a replay
//! routes with exactly the rules in force at the time.

use aduan_domain::{RuleSetEvent, RULESET_STREAM, SCHEMA_VERSION};
use aduan_log::{Appended, EventLog, ExpectedVersion, NewEvent, RecordedEvent};
use aduan_proto::v1;
use aduan_rules::RuleSet;

use crate::StoreError;

/// The actor recorded on rule-set publications.
const ACTOR: &str = "aduan:rules";

/// Validates `source` and appends `RuleSetPublished` — unless it is exactly
/// the source published last, so a start with `--rules FILE` can publish on
/// every start without piling up copies. Returns None when nothing was appended.
pub async fn publish_ruleset<L: EventLog>(
    log: &L,
    source: &str,
) -> Result<Option<Appended>, StoreError> {
    let rules = RuleSet::load(source)?;
    let source_hash = blake3::hash(source.as_bytes()).to_hex().to_string();
    let (version, latest) = latest_published(log).await?;
    if latest.is_some_and(|l| l.source_hash == source_hash) {
        return Ok(None);
    }
    let event = RuleSetEvent::Published(v1::RuleSetPublished {
        version: rules.version().to_owned(),
        source: source.to_owned(),
        source_hash,
    });
    let new = NewEvent {
        schema_version: SCHEMA_VERSION,
        ..NewEvent::new(event.type_name(), ACTOR, event.encode())
    };
    let expected = match version {
        0 => ExpectedVersion::NoStream,
        v => ExpectedVersion::Exact(v),
    };
    Ok(Some(log.append(RULESET_STREAM, expected, vec![new]).await?))
}

/// The `ruleset` stream's version and its last publication, if any.
pub async fn latest_published<L: EventLog>(
    log: &L,
) -> Result<(u64, Option<v1::RuleSetPublished>), StoreError> {
    let events = log.read_stream(RULESET_STREAM, 1).await?;
    let Some(last) = events.last() else {
        return Ok((0, None));
    };
    Ok((last.stream_version, Some(published(last)?)))
}

/// The publication a `ruleset` stream event records.
pub fn published(e: &RecordedEvent) -> Result<v1::RuleSetPublished, StoreError> {
    let RuleSetEvent::Published(p) =
        RuleSetEvent::decode(&e.event_type, e.schema_version, &e.payload).map_err(|source| {
            StoreError::Decode {
                stream: e.stream_id.clone(),
                version: e.stream_version,
                source,
            }
        })?;
    Ok(p)
}
