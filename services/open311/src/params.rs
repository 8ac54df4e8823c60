//! Reading Open311 parameters: the resource's format suffix, form-encoded
//! pairs, dates and coordinates — each refused with the parameter's name.

use std::collections::BTreeMap;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::Open311Error;

/// The stem of a resource name ending in `.json` (`requests` of
/// `requests.json`); `.xml` is refused as JSON-only, anything else is not found.
pub(crate) fn json_stem(file: &str) -> Result<&str, Open311Error> {
    match file.rsplit_once('.') {
        Some((stem, "json")) if !stem.is_empty() => Ok(stem),
        Some((stem, ext)) if !stem.is_empty() && ext.eq_ignore_ascii_case("xml") => {
            Err(Open311Error::JsonOnly)
        }
        _ => Err(Open311Error::NotFound(format!(
            "no Open311 resource {file:?}"
        ))),
    }
}

/// Form-encoded pairs (a body or a query string) by name. A name given more
/// than once is joined with commas, as the spec's lists are.
pub(crate) fn pairs(raw: &[u8]) -> Result<BTreeMap<String, String>, Open311Error> {
    let list: Vec<(String, String)> = serde_urlencoded::from_bytes(raw)
        .map_err(|e| Open311Error::invalid("request", format!("not form-encoded: {e}")))?;
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in list {
        map.entry(k)
            .and_modify(|old| {
                old.push(',');
                old.push_str(&v);
            })
            .or_insert(v);
    }
    Ok(map)
}

/// A non-blank parameter, trimmed.
pub(crate) fn given<'a>(p: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    p.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// A comma-separated list, blanks dropped.
pub(crate) fn list(p: &BTreeMap<String, String>, name: &str) -> Vec<String> {
    given(p, name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A W3C/RFC 3339 date-time (with its offset) as Unix ms.
pub(crate) fn date(field: &'static str, v: &str) -> Result<i64, Open311Error> {
    let t = OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
        Open311Error::invalid(
            field,
            format!("{v:?} is not a date-time like 2026-12-01T08:00:00Z"),
        )
    })?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// The longest span `start_date`..`end_date` may cover, and the default one.
pub(crate) const WINDOW_MS: i64 = 90 * 86_400_000;

/// `start_date` and `end_date` as an inclusive window in Unix ms: 90 days
/// before `end_date` (default: now) when `start_date` is missing, 90 days
/// after it when only it is given; a longer or reversed span is refused.
pub(crate) fn window(
    p: &BTreeMap<String, String>,
    now_ms: i64,
) -> Result<(i64, i64), Open311Error> {
    let start = given(p, "start_date")
        .map(|v| date("start_date", v))
        .transpose()?;
    let end = given(p, "end_date")
        .map(|v| date("end_date", v))
        .transpose()?;
    let (from, to) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, s.saturating_add(WINDOW_MS)),
        (None, Some(e)) => (e.saturating_sub(WINDOW_MS), e),
        (None, None) => (now_ms.saturating_sub(WINDOW_MS), now_ms),
    };
    if to < from {
        return Err(Open311Error::invalid(
            "end_date",
            "end_date is before start_date",
        ));
    }
    if to - from > WINDOW_MS {
        return Err(Open311Error::invalid(
            "end_date",
            "start_date and end_date may not span more than 90 days",
        ));
    }
    Ok((from, to))
}

/// `lat` and `long`: both or neither, each a finite number in range.
pub(crate) fn coordinates(
    p: &BTreeMap<String, String>,
) -> Result<Option<(f64, f64)>, Open311Error> {
    let one = |field: &'static str, max: f64| -> Result<Option<f64>, Open311Error> {
        let Some(v) = given(p, field) else {
            return Ok(None);
        };
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && (-max..=max).contains(&x) => Ok(Some(x)),
            _ => Err(Open311Error::invalid(
                field,
                format!("{v:?} is not a number between -{max} and {max} (WGS 84 degrees)"),
            )),
        }
    };
    match (one("lat", 90.0)?, one("long", 180.0)?) {
        (Some(lat), Some(lon)) => Ok(Some((lat, lon))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(Open311Error::invalid("long", "lat needs long")),
        (None, Some(_)) => Err(Open311Error::invalid("lat", "long needs lat")),
    }
}
