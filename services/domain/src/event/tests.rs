use aduan_proto::v1;
use proptest::prelude::*;

use super::*;

fn text() -> impl Strategy<Value = String> {
    // Any Unicode, including empty strings: protobuf must carry it all.
    ".{0,40}"
}

fn location() -> impl Strategy<Value = Option<v1::Location>> {
    let coord = prop::option::of(prop::num::f64::NORMAL | prop::num::f64::ZERO);
    prop::option::of((text(), text(), coord.clone(), coord).prop_map(
        |(region_code, address, lat, lon)| v1::Location {
            region_code,
            address,
            lat,
            lon,
        },
    ))
}

fn reporter() -> impl Strategy<Value = Option<v1::Reporter>> {
    prop::option::of(
        (text(), text(), text(), text()).prop_map(|(name, phone, email, privacy)| v1::Reporter {
            name,
            phone,
            email,
            privacy,
        }),
    )
}

fn received() -> impl Strategy<Value = ComplaintEvent> {
    (
        (text(), text(), text(), text(), text(), text()),
        (text(), text(), location(), reporter(), text(), any::<i64>()),
    )
        .prop_map(
            |(
                (complaint_id, tracking_no, channel, channel_ref, kind, title),
                (body, category, location, reporter, reporter_token_hash, received_at_ms),
            )| {
                v1::ComplaintReceived {
                    complaint_id,
                    tracking_no,
                    channel,
                    channel_ref,
                    kind,
                    title,
                    body,
                    category,
                    location,
                    reporter,
                    reporter_token_hash,
                    received_at_ms,
                }
                .into()
            },
        )
}

fn routed() -> impl Strategy<Value = ComplaintEvent> {
    (
        (text(), any::<u32>(), text(), text(), text()),
        (
            any::<i64>(),
            any::<i64>(),
            any::<i64>(),
            text(),
            any::<i64>(),
            text(),
        ),
    )
        .prop_map(
            |(
                (org, hop, rule_id, ruleset_version, reason),
                (due_at_ms, acknowledge_due_ms, follow_up_due_ms, category, at_ms, reason_text),
            )| {
                v1::ComplaintRouted {
                    org,
                    hop,
                    rule_id,
                    ruleset_version,
                    reason,
                    due_at_ms,
                    acknowledge_due_ms,
                    follow_up_due_ms,
                    category,
                    at_ms,
                    reason_text,
                }
                .into()
            },
        )
}

/// Every complaint event variant, with arbitrary field contents.
fn any_event() -> impl Strategy<Value = ComplaintEvent> {
    let t = text;
    let ms = any::<i64>;
    prop_oneof![
        received(),
        (t(), t(), t(), ms()).prop_map(|(reason_code, reason, duplicate_of, at_ms)| {
            v1::ComplaintRejected {
                reason_code,
                reason,
                duplicate_of,
                at_ms,
            }
            .into()
        }),
        routed(),
        (t(), t(), t(), ms()).prop_map(|(org, reason, suggested_org, at_ms)| {
            v1::RoutingRejected {
                org,
                reason,
                suggested_org,
                at_ms,
            }
            .into()
        }),
        (t(), t(), t(), t(), ms(), ms()).prop_map(
            |(from_org, to_org, reason, deadline, due_at_ms, at_ms)| {
                v1::ComplaintEscalated {
                    from_org,
                    to_org,
                    reason,
                    deadline,
                    due_at_ms,
                    at_ms,
                }
                .into()
            }
        ),
        (t(), ms()).prop_map(|(org, at_ms)| v1::ComplaintAcknowledged { org, at_ms }.into()),
        (t(), t(), any::<bool>(), ms()).prop_map(|(org, message, public, at_ms)| {
            v1::FollowUpPosted {
                org,
                message,
                public,
                at_ms,
            }
            .into()
        }),
        (t(), t(), ms()).prop_map(|(org, question, at_ms)| {
            v1::InformationRequested {
                org,
                question,
                at_ms,
            }
            .into()
        }),
        (t(), ms()).prop_map(|(message, at_ms)| v1::ReporterReplied { message, at_ms }.into()),
        (t(), t(), ms()).prop_map(|(org, resolution, at_ms)| {
            v1::ComplaintResolved {
                org,
                resolution,
                at_ms,
            }
            .into()
        }),
        (any::<u32>(), t(), ms()).prop_map(|(rating, comment, at_ms)| {
            v1::FeedbackGiven {
                rating,
                comment,
                at_ms,
            }
            .into()
        }),
        (t(), t(), ms()).prop_map(|(reason, org, at_ms)| {
            v1::ComplaintReopened { reason, org, at_ms }.into()
        }),
        (t(), ms()).prop_map(|(reason, at_ms)| v1::ComplaintClosed { reason, at_ms }.into()),
        (t(), t(), t(), t(), ms()).prop_map(|(draft_id, org, kind, text, at_ms)| {
            v1::AnswerDrafted {
                draft_id,
                org,
                kind,
                text,
                at_ms,
            }
            .into()
        }),
        (t(), t(), ms(), ms()).prop_map(|(draft_id, org, drafted_at_ms, at_ms)| {
            v1::AnswerApproved {
                draft_id,
                org,
                drafted_at_ms,
                at_ms,
            }
            .into()
        }),
        (t(), t(), t(), ms(), ms()).prop_map(|(draft_id, org, note, drafted_at_ms, at_ms)| {
            v1::AnswerReturned {
                draft_id,
                org,
                note,
                drafted_at_ms,
                at_ms,
            }
            .into()
        }),
        (t(), t(), ms(), ms()).prop_map(|(org, reason, follow_up_due_ms, at_ms)| {
            v1::ResolutionReturned {
                org,
                reason,
                follow_up_due_ms,
                at_ms,
            }
            .into()
        }),
    ]
}

proptest! {
    #[test]
    fn every_event_survives_encode_and_decode(e in any_event()) {
        let back = ComplaintEvent::decode(e.type_name(), SCHEMA_VERSION, &e.encode());
        prop_assert_eq!(back, Ok(e));
    }

    #[test]
    fn rule_sets_survive_encode_and_decode(version in text(), source in text(), source_hash in text()) {
        let e = RuleSetEvent::Published(v1::RuleSetPublished { version, source, source_hash });
        prop_assert_eq!(e.type_name(), "RuleSetPublished");
        let back = RuleSetEvent::decode(e.type_name(), SCHEMA_VERSION, &e.encode());
        prop_assert_eq!(back, Ok(e));
    }
}

#[test]
fn type_names_are_the_proto_message_names() {
    let e = ComplaintEvent::from(v1::ComplaintRouted::default());
    assert_eq!(e.type_name(), "ComplaintRouted");
    assert_eq!(ComplaintEvent::TYPE_NAMES.len(), 17);
    assert!(ComplaintEvent::TYPE_NAMES.contains(&"ComplaintReopened"));
    assert!(!ComplaintEvent::TYPE_NAMES.contains(&"RuleSetPublished"));
}

#[test]
fn unknown_types_and_versions_are_refused() {
    let payload = ComplaintEvent::from(v1::ComplaintClosed::default()).encode();
    assert!(matches!(
        ComplaintEvent::decode("ComplaintVanished", 1, &payload),
        Err(DecodeError::UnknownType(t)) if t == "ComplaintVanished"
    ));
    // A rule set is not a complaint event, and the other way round.
    assert!(matches!(
        ComplaintEvent::decode("RuleSetPublished", 1, &payload),
        Err(DecodeError::UnknownType(_))
    ));
    assert!(matches!(
        RuleSetEvent::decode("ComplaintClosed", 1, &payload),
        Err(DecodeError::UnknownType(_))
    ));
    for version in [0, SCHEMA_VERSION + 1] {
        assert!(matches!(
            ComplaintEvent::decode("ComplaintClosed", version, &payload),
            Err(DecodeError::UnsupportedVersion { version: v, .. }) if v == version
        ));
    }
}

#[test]
fn malformed_payloads_are_refused() {
    // Field 1 announced as a 10-byte string, with only 2 bytes following.
    let bad = [0x0a, 0x0a, b'h', b'i'];
    assert!(matches!(
        ComplaintEvent::decode("ComplaintClosed", SCHEMA_VERSION, &bad),
        Err(DecodeError::Malformed { type_name, .. }) if type_name == "ComplaintClosed"
    ));
}

/// `ComplaintRouted` as it was before `reason_text` (field 11) was added.
#[derive(Clone, PartialEq, prost::Message)]
struct RoutedBeforeReasonText {
    #[prost(string, tag = "1")]
    org: String,
    #[prost(uint32, tag = "2")]
    hop: u32,
    #[prost(string, tag = "5")]
    reason: String,
    #[prost(int64, tag = "10")]
    at_ms: i64,
}

#[test]
fn routings_recorded_before_reason_text_read_with_it_empty_and_old_readers_skip_it() {
    // An event an older build wrote: schema version 1, no field 11 in its bytes.
    let old = RoutedBeforeReasonText {
        org: "kab-pati-rsud".into(),
        hop: 2,
        reason: "manual".into(),
        at_ms: 7,
    };
    let e = ComplaintEvent::decode("ComplaintRouted", 1, &old.encode_to_vec())
        .expect("an old routing still reads");
    let ComplaintEvent::Routed(r) = e else {
        panic!("{e:?}")
    };
    assert_eq!((r.org.as_str(), r.hop, r.at_ms), ("kab-pati-rsud", 2, 7));
    assert_eq!(r.reason_text, "", "recorded before the field: empty");

    // What this build writes, read by a build from before the field: the
    // rest intact, so adding it needs no new schema version.
    let new = ComplaintEvent::from(v1::ComplaintRouted {
        reason_text: "urusan RSUD".into(),
        ..r
    });
    let seen_by_old = RoutedBeforeReasonText::decode(new.encode().as_slice()).expect("decodes");
    assert_eq!(seen_by_old, old);
    let back = ComplaintEvent::decode("ComplaintRouted", SCHEMA_VERSION, &new.encode());
    assert_eq!(back, Ok(new));
}
