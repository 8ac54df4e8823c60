//! The aduan.v1 protobuf messages (CONTRACT.md) as Rust types, with serde so that
//! the JSON form mirrors the protobuf form. Only types: no validation, no I/O.

/// The `aduan.v1` package.
pub mod v1 {
    #![allow(missing_docs, clippy::doc_markdown, clippy::large_enum_variant)]
    include!(concat!(env!("OUT_DIR"), "/aduan.v1.rs"));
}

mod error_code;
pub mod oneof;

pub use error_code::ErrorCode;

pub use prost::Message;

#[cfg(test)]
mod tests {
    use super::v1;

    #[test]
    fn submit_reply_json_has_the_oneof_as_its_field() {
        let reply = v1::SubmitReply {
            result: Some(v1::submit_reply::Result::Error(v1::Error {
                code: "invalid_argument".into(),
                message: "body is blank".into(),
                field: "body".into(),
            })),
        };
        let json = serde_json::to_value(&reply).expect("serialise");
        assert_eq!(json["error"]["code"], "invalid_argument");
        let back: v1::SubmitReply = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, reply);
    }

    #[test]
    fn missing_json_fields_take_defaults() {
        let c: v1::SubmitComplaint =
            serde_json::from_str(r#"{"channel":"web","body":"jalan rusak"}"#).expect("parse");
        assert_eq!(c.channel, "web");
        assert!(c.location.is_none());
        assert_eq!(c.kind, "");
    }

    #[test]
    fn opd_command_json_names_its_action() {
        let c: v1::OpdCommand = serde_json::from_str(
            r#"{"complaint_id":"x","actor":"budi","reject":{"reason":"bukan kewenangan","suggested_org":"kab-pati-pupr"}}"#,
        )
        .expect("parse");
        match c.action {
            Some(v1::opd_command::Action::Reject(r)) => {
                assert_eq!(r.suggested_org, "kab-pati-pupr")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn review_actions_read_from_json_and_admin_ones_are_one_of() {
        let c: v1::OpdCommand =
            serde_json::from_str(r#"{"approve_answer":{"draft_id":"draft-3"}}"#).expect("parse");
        assert!(matches!(
            c.action,
            Some(v1::opd_command::Action::ApproveAnswer(a)) if a.draft_id == "draft-3"
        ));
        let a: v1::AdminCommand =
            serde_json::from_str(r#"{"return_resolution":{"reason":"kurang"}}"#).expect("parse");
        assert!(matches!(
            a.action,
            Some(v1::admin_command::Action::ReturnResolution(r)) if r.reason == "kurang"
        ));
        let two = r#"{"reroute":{"org":"x"},"return_resolution":{"reason":"y"}}"#;
        let err = serde_json::from_str::<v1::AdminCommand>(two).expect_err("two actions");
        assert!(err.to_string().contains("not both"), "{err}");
    }

    fn opd_command(json: &str) -> Result<v1::OpdCommand, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_malformed_action_is_reported_not_read_as_no_action() {
        let err = opd_command(r#"{"complaint_id":"x","acknowledge":true}"#).expect_err("refused");
        assert!(
            err.starts_with("acknowledge: invalid type: boolean"),
            "{err}"
        );
        let err =
            opd_command(r#"{"follow_up":{"message":"m","public":"yes"}}"#).expect_err("refused");
        assert!(err.starts_with("follow_up: invalid type: string"), "{err}");
    }

    #[test]
    fn two_actions_at_once_are_refused() {
        let err =
            opd_command(r#"{"complaint_id":"x","acknowledge":{},"resolve":{"resolution":"y"}}"#)
                .expect_err("refused");
        assert!(err.contains("not both acknowledge and resolve"), "{err}");
    }

    #[test]
    fn no_action_and_unknown_fields_are_still_read() {
        let c = opd_command(r#"{"complaint_id":"x","note":"unknown field"}"#).expect("parse");
        assert_eq!(c.complaint_id, "x");
        assert!(c.action.is_none());
    }
}
