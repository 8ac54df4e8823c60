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
    seed_as(data, n, |_| None).await
}

/// As [`seed`], complaint `i` reported by `reporter(i)`.
async fn seed_as(
    data: &Path,
    n: usize,
    reporter: impl Fn(usize) -> Option<v1::Reporter>,
) -> Vec<ComplaintId> {
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
            reporter: reporter(i),
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

/// Runs `aduan audit verify` on `data`, which must pass, and returns the head hash it prints.
fn verified_head(data: &Path) -> String {
    let (code, out) = aduan(&["audit", "verify"], data);
    assert_eq!(code, 0, "{out}");
    out.split("head hash ")
        .nth(1)
        .expect("head hash printed")
        .trim()
        .to_owned()
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
    let head = verified_head(src.path());
    let (code, history_before) = aduan(
        &["audit", "history", &ids[3].to_string(), "--json"],
        src.path(),
    );
    assert_eq!(code, 0, "{history_before}");
    assert!(
        history_before.contains("ComplaintReceived"),
        "{history_before}"
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
        let (code, history_after) = aduan(
            &["audit", "history", &ids[3].to_string(), "--json"],
            dst.path(),
        );
        assert_eq!(code, 0, "{history_after}");
        assert_eq!(history_after, history_before);
        // Importing again into a non-empty log is refused.
        let (code, out) = aduan(
            &["audit", "import", file.to_str().expect("utf8")],
            dst.path(),
        );
        assert_eq!(code, 1, "{out}");
    }
}

/// `verify`'s arguments: a malformed anchor or a range outside the log is a
/// usage error (exit 2) naming the head; a range inside prints its last hash
/// labelled as such; and a log cut short after an anchor was taken verifies
/// as a chain but fails `--expect-head` (exit 1).
#[tokio::test]
async fn verify_ranges_anchors_and_a_log_cut_short() {
    let src = tempfile::tempdir().expect("dir");
    seed(src.path(), 12).await;
    let (code, out) = aduan(&["audit", "verify", "--expect-head", "xyz"], src.path());
    assert_eq!(code, 2, "{out}");
    for range in [
        &["--from", "50"][..],
        &["--from", "10", "--to", "5"],
        &["--to", "13"],
        &["--from", "0"],
    ] {
        let mut args = vec!["audit", "verify"];
        args.extend_from_slice(range);
        let (code, out) = aduan(&args, src.path());
        assert_eq!(code, 2, "{range:?}: {out}");
        assert!(out.contains("head is position 12"), "{range:?}: {out}");
    }
    let (code, out) = aduan(&["audit", "verify", "--from", "3", "--to", "5"], src.path());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("positions 3..5, hash of the range's last event"),
        "{out}"
    );
    let head = verified_head(src.path());

    // Export, drop the last two events, import elsewhere: an intact but shorter chain.
    let file = src.path().join("export.jsonl");
    let (code, out) = aduan(
        &["audit", "export", "--out", file.to_str().expect("utf8")],
        src.path(),
    );
    assert_eq!(code, 0, "{out}");
    let text = std::fs::read_to_string(&file).expect("export");
    let kept: Vec<&str> = text.lines().take(10).collect();
    std::fs::write(&file, kept.join("\n") + "\n").expect("cut");
    let cut = tempfile::tempdir().expect("dir");
    let (code, out) = aduan(
        &["audit", "import", file.to_str().expect("utf8")],
        cut.path(),
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = aduan(&["audit", "verify"], cut.path());
    assert_eq!(code, 0, "a shorter chain is intact: {out}");
    let (code, out) = aduan(&["audit", "verify", "--expect-head", &head], cut.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not in the chain"), "{out}");
}

/// Issue 13, item 1: the readable `data` beside each payload is checked. One
/// word of a complaint body edited in `data` only (the payload, and so every
/// hash, untouched) is refused by `import`, naming line and position, with
/// nothing appended; `check-export` reports it with exit 1; an untouched
/// export passes both, and `check-export` prints the head hash `verify` does.
#[tokio::test]
async fn an_export_whose_data_was_edited_is_refused_by_import_and_check_export() {
    let src = tempfile::tempdir().expect("dir");
    seed(src.path(), 8).await;
    let head = verified_head(src.path());
    for format in ["jsonl", "cloudevents"] {
        let file = src.path().join(format!("export.{format}"));
        let path = file.to_str().expect("utf8");
        let (code, out) = aduan(
            &["audit", "export", "--format", format, "--out", path],
            src.path(),
        );
        assert_eq!(code, 0, "{out}");
        let nowhere = src.path().join("no-data-dir");
        let (code, out) = aduan(&["audit", "check-export", path], &nowhere);
        assert_eq!(code, 0, "{format}: untouched export: {out}");
        assert!(
            out.contains(&format!("positions 1..8, last hash {head}")),
            "{out}"
        );
        assert!(
            !nowhere.exists(),
            "check-export must not create a data directory"
        );

        let text = std::fs::read_to_string(&file).expect("read");
        let edited = text.replace("\"keluhan nomor 5\"", "\"pujian nomor 5\"");
        assert_eq!(
            edited.len() + 1,
            text.len(),
            "{format}: exactly one word in data edited"
        );
        std::fs::write(&file, edited).expect("write");
        let (code, out) = aduan(&["audit", "check-export", path], &nowhere);
        assert_eq!(code, 1, "{format}: {out}");
        assert!(out.contains("line 6 (position 6)"), "{format}: {out}");
        assert!(out.contains("data.body"), "{format}: {out}");

        let dst = tempfile::tempdir().expect("dir");
        let (code, out) = aduan(&["audit", "import", path], dst.path());
        assert_eq!(code, 1, "{format}: {out}");
        assert!(out.contains("line 6 (position 6)"), "{format}: {out}");
        let log = SledLog::open(SledOptions::new(dst.path().join("log"))).expect("open");
        assert_eq!(
            *log.head().borrow(),
            0,
            "{format}: a refused import appends nothing"
        );
        log.close();
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// Issue 13, item 13: a full export names confidential reporters and is
/// written 0600 (an existing file too); `--redact` replaces name, phone and
/// email with a keyed hash (key `keys/export.key`, 0600), marks every line,
/// and keeps the original hashes, so `check-export` passes with the head hash
/// `verify` prints; a redacted line's carried hash changed fails; `import`
/// refuses a redacted export, appending nothing.
#[tokio::test]
async fn full_exports_are_private_and_redacted_exports_name_nobody_but_still_check() {
    let src = tempfile::tempdir().expect("dir");
    let person = |i: usize| v1::Reporter {
        name: format!("Pelapor Rahasia {i}"),
        phone: format!("+6281200000{i:02}"),
        email: format!("pelapor{i}@contoh.id"),
        privacy: "confidential".into(),
    };
    seed_as(src.path(), 6, |i| (i % 3 != 2).then(|| person(i))).await;
    let head = verified_head(src.path());

    let full = src.path().join("full.jsonl");
    std::fs::write(&full, "old\n").expect("an older file");
    std::fs::set_permissions(&full, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .expect("chmod");
    let (code, out) = aduan(
        &["audit", "export", "--out", full.to_str().expect("utf8")],
        src.path(),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(mode(&full), 0o600, "a full export names reporters");
    assert!(std::fs::read_to_string(&full)
        .expect("read")
        .contains("Pelapor Rahasia 0"));

    for format in ["jsonl", "cloudevents"] {
        let file = src.path().join(format!("shared.{format}"));
        let path = file.to_str().expect("utf8");
        let (code, out) = aduan(
            &[
                "audit", "export", "--redact", "--format", format, "--out", path,
            ],
            src.path(),
        );
        assert_eq!(code, 0, "{out}");
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&src.path().join("keys").join("export.key")), 0o600);
        let text = std::fs::read_to_string(&file).expect("read");
        for i in 0..6 {
            let who = person(i);
            for secret in [&who.name, &who.phone, &who.email] {
                assert!(
                    !text.contains(secret.as_str()),
                    "{format}: {secret} in {text}"
                );
            }
        }
        let mark = if format == "jsonl" {
            "\"redacted\":true"
        } else {
            "\"aduanredacted\":true"
        };
        assert!(
            text.lines().all(|l| l.contains(mark)),
            "{format}: every line says so"
        );
        assert_eq!(
            text.matches("redacted:").count(),
            4 * 3,
            "{format}: 4 reporters, 3 fields"
        );

        let nowhere = src.path().join("no-data-dir");
        let (code, out) = aduan(&["audit", "check-export", path], &nowhere);
        assert_eq!(code, 0, "{format}: {out}");
        assert!(
            out.contains(&format!("positions 1..6, last hash {head}")),
            "{out}"
        );
        assert!(
            out.contains("4 lines with reporter identity replaced"),
            "{out}"
        );

        let dst = tempfile::tempdir().expect("dir");
        let (code, out) = aduan(&["audit", "import", path], dst.path());
        assert_eq!(code, 1, "{format}: {out}");
        assert!(out.contains("redacted export"), "{format}: {out}");
        let log = SledLog::open(SledOptions::new(dst.path().join("log"))).expect("open");
        assert_eq!(*log.head().borrow(), 0, "{format}: nothing imported");
        log.close();

        // The carried hash of a redacted line (line 1) replaced: the chain breaks at line 2.
        let carried: Vec<&str> = text.lines().collect();
        let key = if format == "jsonl" {
            "\"hash\":\""
        } else {
            "\"aduanhash\":\""
        };
        let at = carried[0].find(key).expect("hash") + key.len();
        let forged = format!(
            "{}{}{}",
            &carried[0][..at],
            "ab".repeat(32),
            &carried[0][at + 64..]
        );
        let rest: Vec<String> = carried[1..].iter().map(|l| l.to_string()).collect();
        std::fs::write(&file, [vec![forged], rest].concat().join("\n")).expect("write");
        let (code, out) = aduan(&["audit", "check-export", path], &nowhere);
        assert_eq!(code, 1, "{format}: {out}");
        assert!(out.contains("line 2 (position 2)"), "{format}: {out}");
    }
}

/// A damaged last record (issue 13, item 5): the log still reads, so `verify`
/// names the position and `export --to` saves what precedes it; only `repair
/// --truncate-after` cuts, after writing down what it cuts; then the log opens
/// for appends again and the chain continues.
#[tokio::test]
async fn a_damaged_last_record_is_salvaged_and_cut_only_on_request() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path();
    seed(data, 12).await;
    let damaged = tamper_last(data, 12);
    let log_dir = data.join("log");
    assert!(
        SledLog::open(SledOptions::new(&log_dir)).is_err(),
        "opens for appends"
    );

    let (code, out) = aduan(&["audit", "verify"], data);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("position 12"), "{out}");
    let file = dir.path().join("saved.jsonl");
    let file = file.to_str().expect("utf8");
    let (code, out) = aduan(&["audit", "export", "--to", "11", "--out", file], data);
    assert_eq!(code, 0, "{out}");
    let (code, out) = aduan(&["audit", "export", "--to", "13", "--out", file], data);
    assert_eq!(code, 2, "past the head: {out}");
    let copy = tempfile::tempdir().expect("dir");
    let (code, out) = aduan(&["audit", "import", file], copy.path());
    assert_eq!(code, 0, "{out}");
    let (code, saved) = aduan(&["audit", "verify"], copy.path());
    assert_eq!(code, 0, "{saved}");
    assert!(saved.contains("positions 1..11"), "{saved}");

    let (code, out) = aduan(&["audit", "repair"], data);
    assert_eq!(code, 2, "repair without --truncate-after: {out}");
    assert!(
        out.contains("position 12") && out.contains("--truncate-after 11"),
        "{out}"
    );
    let (code, out) = aduan(&["audit", "verify"], data);
    assert_eq!(code, 1, "nothing was cut: {out}");
    assert!(!data.join("repairs").exists());

    let (code, out) = aduan(&["audit", "repair", "--truncate-after", "11"], data);
    assert_eq!(code, 0, "{out}");
    let records: Vec<_> = std::fs::read_dir(data.join("repairs"))
        .expect("repairs")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(mode(&records[0]), 0o600);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&records[0]).expect("read")).expect("json");
    assert_eq!(record["truncated_after"], 11);
    assert_eq!(record["head_before"], 12);
    assert!(record["repaired_at"].is_string(), "{record}");
    let cut = &record["cut"][0];
    assert_eq!(cut["position"], 12);
    assert_eq!(cut["bytes_hex"], hex(&damaged));
    assert_eq!(cut["blake3"], hex(blake3::hash(&damaged).as_bytes()));
    // The repaired log verifies to the same head hash as the saved export.
    let (code, out) = aduan(&["audit", "verify"], data);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, saved);

    // And opens for appends: the chain continues at position 12.
    let log = SledLog::open(SledOptions::new(&log_dir)).expect("opens after repair");
    let e = NewEvent::new("After", "test", vec![1]);
    let a = log
        .append("after", ExpectedVersion::NoStream, vec![e])
        .await
        .expect("append");
    assert_eq!(a.first_position, 12);
    log.close();
    drop(log);
    let (code, out) = aduan(&["audit", "verify"], data);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("positions 1..12"), "{out}");
}

/// Flips a byte near the end of the record at `position`, the log's last;
/// returns the damaged bytes.
fn tamper_last(data: &Path, position: u64) -> Vec<u8> {
    let mut raw = Vec::new();
    tamper(data, |log| {
        raw = log.raw_record(position).expect("raw").expect("record");
        let at = raw.len() - 3;
        raw[at] ^= 0x10;
        log.tamper(position, Some(&raw)).expect("tamper");
    });
    raw
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
