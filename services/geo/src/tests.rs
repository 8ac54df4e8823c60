//! Points against the sample boundaries of deploy/rules, and every way a
//! boundary file can be unusable.

use super::*;

const SAMPLE: &str = include_str!("../../../deploy/rules/sample-boundaries.geojson");

fn sample() -> Boundaries {
    Boundaries::parse(SAMPLE).unwrap_or_else(|e| panic!("sample boundaries: {e}"))
}

fn at(b: &Boundaries, lat: f64, lon: f64) -> Option<&str> {
    b.locate(lat, lon).map(RegionCode::as_str)
}

#[test]
fn a_point_gets_the_most_specific_region_that_holds_it() {
    let b = sample();
    assert_eq!(b.len(), 7);
    // Pati town lies in both 33 and 33.18: the regency wins.
    assert_eq!(at(&b, -6.755, 111.038), Some("33.18"));
    assert_eq!(at(&b, -6.97, 111.42), Some("33.16"));
    assert_eq!(at(&b, -6.889, 109.675), Some("33.75"));
    assert_eq!(at(&b, -6.12, 106.15), Some("36.73"));
    // Semarang: in the province, in none of its sample regencies.
    assert_eq!(at(&b, -7.0, 110.42), Some("33"));
}

#[test]
fn a_point_outside_every_polygon_or_not_finite_has_no_region() {
    let b = sample();
    // Jakarta lies between the sample's Banten and Central Java.
    assert_eq!(at(&b, -6.2, 106.85), None);
    assert_eq!(at(&b, 6.755, 111.038), None, "north of the equator");
    assert_eq!(at(&b, f64::NAN, 111.0), None);
    assert_eq!(at(&b, -6.7, f64::INFINITY), None);
}

#[test]
fn a_point_on_an_edge_counts_as_inside() {
    let b = sample();
    assert_eq!(at(&b, -6.45, 111.0), Some("33.18"));
}

#[test]
fn a_multipolygon_region_holds_points_in_each_part() {
    let b = Boundaries::parse(
        r#"{"type":"FeatureCollection","features":[{"type":"Feature",
        "properties":{"region_code":"33.18"},"geometry":{"type":"MultiPolygon","coordinates":[
        [[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,6],[5,5]]]]}}]}"#,
    )
    .expect("parse");
    assert_eq!(at(&b, 0.5, 0.5), Some("33.18"));
    assert_eq!(at(&b, 5.5, 5.5), Some("33.18"));
    assert_eq!(at(&b, 3.0, 3.0), None);
}

fn feature(props: &str, geometry: &str) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{props},"geometry":{geometry}}}]}}"#
    )
}

const SQUARE: &str = r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}"#;

#[test]
fn unusable_files_are_refused_naming_what_is_wrong() {
    let bad = |text: &str| match Boundaries::parse(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e,
    };
    assert!(matches!(bad("not json"), GeoError::Syntax(_)));
    assert!(matches!(bad(SQUARE), GeoError::NotACollection));
    assert!(matches!(
        bad(r#"{"type":"FeatureCollection","features":[]}"#),
        GeoError::Empty
    ));
    for (props, geometry, says) in [
        ("{}", SQUARE, "no \"region_code\""),
        (r#"{"region_code":33}"#, SQUARE, "must be a string"),
        (r#"{"region_code":"jateng"}"#, SQUARE, "Kemendagri"),
        (r#"{"region_code":"33"}"#, "null", "no geometry"),
        (
            r#"{"region_code":"33"}"#,
            r#"{"type":"Point","coordinates":[0,0]}"#,
            "Polygon or MultiPolygon",
        ),
    ] {
        match bad(&feature(props, geometry)) {
            GeoError::Feature { index: 0, why } => {
                assert!(
                    why.contains(says),
                    "{props} {geometry}: {why:?} lacks {says:?}"
                )
            }
            other => panic!("{props} {geometry}: {other:?}"),
        }
    }
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("none.geojson");
    match Boundaries::load(&path) {
        Err(GeoError::Read { path: p, .. }) => assert_eq!(p, path),
        other => panic!("{other:?}"),
    }
    std::fs::write(&path, SAMPLE).expect("write");
    assert_eq!(Boundaries::load(&path).expect("load").len(), 7);
}
