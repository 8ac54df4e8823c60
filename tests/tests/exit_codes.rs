//! Bad usage exits 2 (CONTRACT.md, "Command line"), for every command and for
//! each value the program checks itself (times, hashes, ids, positions, org
//! and region codes, URLs, files that must exist), not only for what clap
//! refuses on its own. Each malformed invocation must name the bad argument
//! on stderr and write nothing: a `--data` that did not exist is not created,
//! a seeded log keeps its head, and nothing appears in the working directory
//! (where `./data` is the default).

use std::path::{Path, PathBuf};
use std::process::Command;

use aduan_e2e::aduan_bin;
use aduan_log::EventLog;
use aduan_log_sled::{SledLog, SledOptions};

/// A data directory holding a log (the sample rule set, published), and a
/// `--data` path beside it that does not exist.
struct Dirs {
    root: tempfile::TempDir,
    head: u64,
}

impl Dirs {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("dir");
        let seeded = root.path().join("seeded");
        let out = Command::new(aduan_bin())
            .args(["rules", "publish"])
            .arg(sample())
            .arg("--data")
            .arg(&seeded)
            .output()
            .expect("run aduan rules publish");
        assert!(out.status.success(), "seeding: {out:?}");
        let head = head(&seeded);
        assert!(head > 0, "the seeded log holds the publication");
        Self { root, head }
    }

    fn seeded(&self) -> PathBuf {
        self.root.path().join("seeded")
    }

    fn absent(&self) -> PathBuf {
        self.root.path().join("absent")
    }

    /// `args` (with `DATA` standing for the data directory, when the command
    /// takes one) exits 2 naming `names`, with both a missing and a seeded
    /// data directory, and writes nothing.
    fn refuse(&self, args: &[&str], names: &str) {
        if args.contains(&DATA) {
            self.refuse_with(args, &self.absent(), names);
            assert!(
                !self.absent().exists(),
                "{args:?} created the data directory it was given"
            );
        }
        self.refuse_with(args, &self.seeded(), names);
        assert_eq!(head(&self.seeded()), self.head, "{args:?} changed the log");
    }

    fn refuse_with(&self, args: &[&str], data: &Path, names: &str) {
        let cwd = tempfile::tempdir().expect("cwd");
        let out = Command::new(aduan_bin())
            .args(args.iter().map(|a| {
                if *a == DATA {
                    data.as_os_str()
                } else {
                    std::ffi::OsStr::new(a)
                }
            }))
            .current_dir(cwd.path())
            .env_remove("ADUAN_DATA")
            .env("RUST_LOG", "error")
            .output()
            .expect("run aduan");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(names),
            "{args:?}: stderr should name {names}: {stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(cwd.path())
            .expect("cwd")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(
            left.is_empty(),
            "{args:?} wrote {left:?} into the working directory"
        );
    }
}

/// Stands for the data directory in an argument list.
const DATA: &str = "{data}";

/// A rule-set file that does not exist.
const MISSING: &str = "/nonexistent/aduan/rules.toml";

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/rules/sample.toml")
}

fn head(data: &Path) -> u64 {
    let log = SledLog::open(SledOptions::new(data.join("log"))).expect("open the seeded log");
    let head = *log.head().borrow();
    log.close();
    head
}

#[test]
fn serve_refuses_a_missing_rule_set_a_bad_nats_url_and_a_bad_subject_prefix() {
    let d = Dirs::new();
    let serve = ["serve", "--http", "127.0.0.1:0", "--data", DATA];
    for (extra, names) in [
        (["--rules", MISSING], "--rules"),
        (["--nats", "not a url"], "--nats"),
        (["--nats", "http://127.0.0.1:4222"], "--nats"),
        (["--subject-prefix", "aduan.*"], "--subject-prefix"),
    ] {
        d.refuse(&[&serve[..], &extra[..]].concat(), names);
    }
}

#[test]
fn intake_router_and_projections_refuse_bad_values() {
    let d = Dirs::new();
    d.refuse(
        &["intake", "--data", DATA, "--nats", "nats://a b"],
        "--nats",
    );
    d.refuse(&["router", "--data", DATA, "--rules", MISSING], "--rules");
    d.refuse(
        &["projections", "--data", DATA, "--nats", "ftp://x"],
        "--nats",
    );
    d.refuse(
        &[
            "projections",
            "rebuild",
            "--data",
            DATA,
            "--subject-prefix",
            "a b",
        ],
        "--subject-prefix",
    );
}

#[test]
fn rules_commands_refuse_a_missing_file_and_bad_facts() {
    let d = Dirs::new();
    let sample = sample();
    let sample = sample.to_str().expect("utf8");
    d.refuse(&["rules", "check", MISSING], "<FILE>");
    d.refuse(&["rules", "explain", MISSING, "--region", "33"], "<FILE>");
    d.refuse(
        &["rules", "explain", sample, "--region", "jateng"],
        "--region",
    );
    d.refuse(
        &["rules", "explain", sample, "--kind", "petition"],
        "--kind",
    );
    d.refuse(
        &["rules", "explain", sample, "--channel", "Web Form"],
        "--channel",
    );
    d.refuse(&["rules", "publish", MISSING, "--data", DATA], "<FILE>");
}

#[test]
fn bench_refuses_zero_concurrency() {
    let d = Dirs::new();
    d.refuse(
        &["bench", "--appenders", "0", "--no-postgres"],
        "--appenders",
    );
    d.refuse(&["bench", "intake", "--requesters", "1,0"], "--requesters");
    d.refuse(
        &["bench", "pipeline", "--pipeline-rates", "0"],
        "--pipeline-rates",
    );
}

#[test]
fn audit_commands_refuse_malformed_values() {
    let d = Dirs::new();
    let audit = |args: &[&'static str]| [&["audit", "--data", DATA][..], args].concat();
    d.refuse(&audit(&["history", "not-a-tracking-no"]), "<ID>");
    d.refuse(
        &audit(&["verify", "--expect-head", "abc123"]),
        "--expect-head",
    );
    d.refuse(
        &audit(&["export", "--out", "/nonexistent/aduan/x.jsonl"]),
        "--out",
    );
    d.refuse(&audit(&["replay", "--until", "yesterday"]), "--until");
    d.refuse(
        &audit(&[
            "replay",
            "--until",
            "2026-12-01T00:00:00Z",
            "--org",
            "Kab Pati",
        ]),
        "--org",
    );
    d.refuse(
        &audit(&["import", "/nonexistent/aduan/export.jsonl"]),
        "<FILE>",
    );
    d.refuse(
        &audit(&["check-export", "/nonexistent/aduan/export.jsonl"]),
        "<FILE>",
    );
}

/// Values that can only be judged against the log: a range outside it names
/// the head; a `--data` without a log is refused instead of created and
/// reported as an empty, intact log.
#[test]
fn audit_refuses_a_range_outside_the_log_and_a_data_directory_without_one() {
    let d = Dirs::new();
    let outside = format!(
        "--from 99 is outside the log, whose head is position {}",
        d.head
    );
    d.refuse_with(
        &["audit", "verify", "--from", "99", "--data", DATA],
        &d.seeded(),
        &outside,
    );
    for cmd in [&["verify"][..], &["export"], &["history", "K7QMX3PA9F"]] {
        let args = [&["audit", "--data", DATA][..], cmd].concat();
        d.refuse_with(&args, &d.absent(), "--data");
        assert!(
            !d.absent().exists(),
            "{cmd:?} created {}",
            d.absent().display()
        );
    }
    assert_eq!(head(&d.seeded()), d.head);
}

#[test]
fn token_issue_refuses_a_bad_org() {
    let d = Dirs::new();
    d.refuse(
        &[
            "token", "issue", "--role", "opd", "--org", "Dinkes!", "--data", DATA,
        ],
        "--org",
    );
    d.refuse(
        &["token", "issue", "--role", "opd", "--data", DATA],
        "--org",
    );
    d.refuse(
        &["token", "issue", "--role", "opd_head", "--data", DATA],
        "--org",
    );
    assert!(
        !d.seeded().join("tokens.jsonl").exists(),
        "a token was issued"
    );
}

#[test]
fn deploy_nats_config_refuses_bad_values_and_an_existing_credentials_file() {
    let d = Dirs::new();
    let sample = sample();
    let sample = sample.to_str().expect("utf8");
    fn nats_config<'a>(sample: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["deploy", "nats-config", sample];
        args.extend_from_slice(extra);
        args
    }
    d.refuse(&["deploy", "nats-config", MISSING], "<RULES>");
    d.refuse(
        &nats_config(sample, &["--bcrypt-cost", "3"]),
        "--bcrypt-cost",
    );
    d.refuse(
        &nats_config(sample, &["--subject-prefix", "a..b"]),
        "--subject-prefix",
    );
    d.refuse(
        &nats_config(sample, &["--channel", "Web Form"]),
        "--channel",
    );
    for stream in ["LOG.A", "", "LOG>"] {
        d.refuse(
            &nats_config(sample, &["--log-stream", stream]),
            "--log-stream",
        );
    }
    d.refuse(
        &nats_config(sample, &["--out", "/nonexistent/aduan/auth.conf"]),
        "--out",
    );
    d.refuse(
        &nats_config(sample, &["--out", "same", "--credentials", "same"]),
        "--credentials",
    );
    // An existing credentials file is never overwritten (here: the rule set itself).
    let before = std::fs::read(sample).expect("sample");
    d.refuse(
        &nats_config(sample, &["--credentials", sample]),
        "--credentials",
    );
    assert_eq!(std::fs::read(sample).expect("sample"), before);
}

#[test]
fn deploy_nats_config_of_a_rule_set_with_problems_is_exit_1_and_writes_nothing() {
    let cwd = tempfile::tempdir().expect("cwd");
    let rules = cwd.path().join("bad.toml");
    std::fs::write(&rules, "version = \"x\"\n[[org]]\ncode = \"Not A Code\"\n").expect("write");
    let out = Command::new(aduan_bin())
        .args(["deploy", "nats-config"])
        .arg(&rules)
        .args(["--out", "auth.conf"])
        .current_dir(cwd.path())
        .output()
        .expect("run aduan");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("bad.toml"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(cwd.path())
        .expect("cwd")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("bad.toml")]);
}
