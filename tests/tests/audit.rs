//! Audit end to end through the `aduan` binary: tampering found and named by
//! `aduan audit verify`, history of an unaffected complaint still readable,
//! and export → import → the same head hash and the same history.

use std::path::Path;
use std::process::Command;

use aduan_domain::{ComplaintEvent, ComplaintId, TrackingNo};
use aduan_e2e::aduan_bin;
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;

/// Writes `n` complaints (one ComplaintReceived each) into `data`; returns their ids.
async fn seed(data: &Path, n: usize) -> Vec<ComplaintId> {
    let log = SledLog::open(SledOptions::new(data.join("log"))).expect("open");
    let mut ids = Vec::new();
    for i in 0..n {
        let id = ComplaintId::new();
        let e = ComplaintEvent::Received(v1::ComplaintReceived {
            complaint_id: id.to_string(),
            tracking_no: TrackingNo::random().as_str().to_owned(),
            channel: "sms".into(),
            channel_ref: format!("seed-{i}"),
            kind: "complaint".into(),
            body: format!("keluhan nomor {i}"),
            ..Default::default()
        });
        let new = NewEvent::new(e.type_name(), "test", e.encode());
        log.append(&id.stream(), ExpectedVersion::NoStream, vec![new])
            .await
            .expect("append");
        ids.push(id);
    }
    log.close();
    ids
}

fn aduan(args: &[&str], data: &Path) -> (i32, String) {
    let out = Command::new(aduan_bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run aduan");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn tamper(data: &Path, f: impl FnOnce(&SledLog)) {
    let log = SledLog::open(SledOptions::new(data.join("log"))).expect("open");
    f(&log);
    log.close();
}

#[tokio::test]
async fn verify_names_each_kind_of_tampering_and_history_still_reads() {
    type Tamper = Box<dyn FnOnce(&SledLog)>;
    let cases: Vec<(&str, Tamper, u64)> = vec![
        (
            "flipped byte",
            Box::new(|log: &SledLog| {
                let mut raw = log.raw_record(5).expect("raw").expect("5");
                let at = raw.len() - 2;
                raw[at] ^= 0x40;
                log.tamper(5, Some(&raw)).expect("tamper");
            }),
            5,
        ),
        (
            "deleted event",
            Box::new(|log: &SledLog| log.tamper(6, None).expect("delete")),
            6,
        ),
        (
            "reordered events",
            Box::new(|log: &SledLog| {
                let a = log.raw_record(3).expect("raw").expect("3");
                let b = log.raw_record(4).expect("raw").expect("4");
                log.tamper(3, Some(&b)).expect("swap");
                log.tamper(4, Some(&a)).expect("swap");
            }),
            3,
        ),
    ];
    for (what, damage, position) in cases {
        let dir = tempfile::tempdir().expect("dir");
        let ids = seed(dir.path(), 10).await;
        let (code, out) = aduan(&["audit", "verify"], dir.path());
        assert_eq!(code, 0, "{what}: intact log must verify: {out}");
        tamper(dir.path(), damage);
        let (code, out) = aduan(&["audit", "verify"], dir.path());
        assert_eq!(code, 1, "{what}: {out}");
        assert!(
            out.contains(&format!("position {position}")),
            "{what}: {out}"
        );
        // An unaffected complaint's history still works.
        let (code, out) = aduan(&["audit", "history", &ids[9].to_string()], dir.path());
        assert_eq!(code, 0, "{what}: {out}");
        assert!(out.contains("ComplaintReceived"), "{out}");
    }
}

#[tokio::test]
async fn export_then_import_reproduces_the_log() {
    let src = tempfile::tempdir().expect("dir");
    let ids = seed(src.path(), 25).await;
    let (code, before) = aduan(&["audit", "verify"], src.path());
    assert_eq!(code, 0, "{before}");
    let head = before
        .split("head hash ")
        .nth(1)
        .expect("head hash printed")
        .trim()
        .to_owned();
    let (_, history_before) = aduan(
        &["audit", "history", &ids[3].to_string(), "--json"],
        src.path(),
    );

    for format in ["jsonl", "cloudevents"] {
        let file = src.path().join(format!("export.{format}"));
        let (code, out) = aduan(
            &[
                "audit",
                "export",
                "--format",
                format,
                "--out",
                file.to_str().expect("utf8"),
            ],
            src.path(),
        );
        assert_eq!(code, 0, "{out}");
        let dst = tempfile::tempdir().expect("dir");
        let (code, out) = aduan(
            &["audit", "import", file.to_str().expect("utf8")],
            dst.path(),
        );
        assert_eq!(code, 0, "{out}");
        let (code, after) = aduan(&["audit", "verify", "--expect-head", &head], dst.path());
        assert_eq!(code, 0, "{after}");
        assert!(after.contains(&head), "{after}");
        let (_, history_after) = aduan(
            &["audit", "history", &ids[3].to_string(), "--json"],
            dst.path(),
        );
        assert_eq!(history_after, history_before);
        // Importing again into a non-empty log is refused.
        let (code, out) = aduan(
            &["audit", "import", file.to_str().expect("utf8")],
            dst.path(),
        );
        assert_eq!(code, 1, "{out}");
    }
}
