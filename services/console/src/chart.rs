//! Charts drawn on the server as inline SVG: stacked bars of a volume per
//! day, one colour per series, with a legend. No script, no chart library.

use std::collections::{BTreeMap, BTreeSet};

use maud::{html, Markup};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 24.0;
const PALETTE: [&str; 8] = [
    "#0b5cad", "#e8871e", "#1e7d32", "#b3261e", "#6a3d9a", "#00838f", "#8d6e63", "#5b6b7b",
];

/// Stacked bars of `days` (day number → series → count), in `testid`'s `<svg>`.
pub(crate) fn stacked(
    testid: &str,
    label: &str,
    days: &BTreeMap<i64, BTreeMap<String, u64>>,
) -> Markup {
    let series: BTreeSet<&String> = days.values().flat_map(|s| s.keys()).collect();
    let series: Vec<&String> = series.into_iter().collect();
    let max = days
        .values()
        .map(|s| s.values().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let n = days.len().max(1) as f64;
    let slot = (WIDTH - LEFT) / n;
    let bar = (slot * 0.7).max(1.0);
    let scale = (HEIGHT - BOTTOM - 8.0) / max as f64;
    let colour = |name: &String| {
        let i = series.iter().position(|s| *s == name).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };
    let legend_h = 16.0 * series.len() as f64;
    let total_h = HEIGHT + 8.0 + legend_h;
    html! {
        svg data-testid=(testid) role="img" aria-label=(label)
            viewBox={ "0 0 " (WIDTH) " " (total_h) } width="100%" {
            title { (label) }
            line x1=(LEFT) y1=(HEIGHT - BOTTOM) x2=(WIDTH) y2=(HEIGHT - BOTTOM) stroke="#5b6b7b" {}
            text x="2" y="12" { (max) }
            text x="2" y=(HEIGHT - BOTTOM) { "0" }
            @for (i, (day, counts)) in days.iter().enumerate() {
                @let x = LEFT + i as f64 * slot + (slot - bar) / 2.0;
                @for (name, count, top, h) in stack(counts, HEIGHT - BOTTOM, scale) {
                    rect data-series=(name) data-day=(date(*day)) data-count=(count)
                        x=(fmt(x)) y=(fmt(top)) width=(fmt(bar)) height=(fmt(h)) fill=(colour(name)) {
                        title { (date(*day)) " · " (name) ": " (count) }
                    }
                }
                @if days.len() <= 16 || i % (days.len() / 8).max(1) == 0 {
                    text x=(fmt(x)) y=(HEIGHT - 8.0) { (date(*day).get(5..).unwrap_or_default()) }
                }
            }
            @for (i, name) in series.iter().enumerate() {
                @let y = HEIGHT + 8.0 + 16.0 * i as f64;
                rect x=(LEFT) y=(fmt(y)) width="10" height="10" fill=(colour(name)) {}
                text x=(LEFT + 16.0) y=(fmt(y + 9.0)) { (name) }
            }
        }
    }
}

/// Each series of one day as (name, count, top, height), stacked up from `base`.
fn stack(counts: &BTreeMap<String, u64>, base: f64, scale: f64) -> Vec<(&String, u64, f64, f64)> {
    let mut y = base;
    let mut out = Vec::new();
    for (name, count) in counts.iter().filter(|(_, c)| **c > 0) {
        let h = *count as f64 * scale;
        y -= h;
        out.push((name, *count, y, h));
    }
    out
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// A day number as `YYYY-MM-DD`.
pub(crate) fn date(day: i64) -> String {
    aduan_projections::rfc3339(day * 86_400_000)
        .get(..10)
        .unwrap_or_default()
        .to_owned()
}
