//! A folded complaint stored as JSON reads back the same, and a stored word
//! or id that does not parse is an error, never a default.

use super::*;

#[test]
fn a_folded_complaint_round_trips_through_json() {
    let c = Complaint::fold(&resolved_by_dinkes()).expect("a valid stream");
    let json = serde_json::to_string(&c).expect("serialise");
    assert!(json.contains("\"status\":\"resolved\""), "{json}");
    let back: Complaint = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, c);

    let tracking = format!("\"tracking_no\":\"{}\"", c.tracking_no.as_str());
    assert!(json.contains(&tracking), "{json}");
    for (good, bad) in [
        ("\"status\":\"resolved\"", "\"status\":\"selesai\""),
        (tracking.as_str(), "\"tracking_no\":\"IIIII-OOOOO\""),
        ("\"privacy\":\"confidential\"", "\"privacy\":\"rahasia\""),
    ] {
        assert!(json.contains(good), "{good} in {json}");
        let broken = json.replace(good, bad);
        assert!(
            serde_json::from_str::<Complaint>(&broken).is_err(),
            "{bad} was accepted"
        );
    }
}
