//! Crash safety: a child process appends from several tasks and is killed with
//! SIGKILL at a random moment; every append it acknowledged must survive.
//!
//! The child is this test binary itself, re-run with `ADUAN_CRASH_CHILD` set so
//! that only `crash_child` runs; it prints each acknowledged position on stdout.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use aduan_log::{verify, EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};

const CHILD_ENV: &str = "ADUAN_CRASH_CHILD";

#[test]
fn acknowledged_appends_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log");
    let mut acked: HashSet<u64> = HashSet::new();
    // Different kill points, each run continuing the same log.
    for (round, kill_after_ms) in [37u64, 150, 420, 90, 260, 5, 700].into_iter().enumerate() {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new(exe)
            .args([
                "--exact",
                "crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(p) = line.strip_prefix("ACK ") {
                    seen.push(p.parse::<u64>().expect("position"));
                }
            }
            seen
        });
        // Wait for the child to start appending, then kill it mid-flight.
        std::thread::sleep(Duration::from_millis(300 + kill_after_ms));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        let seen = reader.join().expect("reader");
        assert!(
            !seen.is_empty() || round > 0,
            "child acknowledged nothing before the kill"
        );
        if seen.len() > 1000 {
            let snapshot = path.join(SledLog::STREAM_INDEX_FILE);
            assert!(
                snapshot.exists(),
                "round {round}: no stream index snapshot written while appending"
            );
        }
        acked.extend(seen);

        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let log = SledLog::open(SledOptions::new(&path)).expect("reopen after kill");
            let head = *log.head().borrow();
            let max_acked = acked.iter().copied().max().unwrap_or(0);
            assert!(
                head >= max_acked,
                "round {round}: head {head} < acknowledged {max_acked}"
            );
            let report = verify(&log, 1, None, &mut |_| {})
                .await
                .expect("verify after crash");
            assert_eq!(report.events, head, "positions are contiguous");
            let mut per_stream: HashMap<String, usize> = HashMap::new();
            for e in log.read_all(1, head as usize).await.expect("read all") {
                *per_stream.entry(e.stream_id).or_default() += 1;
            }
            for stream in ["t0", "t1", "t2", "t3", "t4", "t5"] {
                let events = log.read_stream(stream, 1).await.expect("read stream");
                let in_log = per_stream.get(stream).copied().unwrap_or(0);
                assert_eq!(
                    events.len(),
                    in_log,
                    "round {round}: the stream index of {stream} after the kill"
                );
                for (i, e) in events.iter().enumerate() {
                    assert_eq!(
                        e.stream_version,
                        i as u64 + 1,
                        "versions contiguous in {stream}"
                    );
                }
            }
            log.close();
        });
        eprintln!(
            "round {round}: {} acknowledged so far, all present",
            acked.len()
        );
    }
    assert!(
        acked.len() > 1000,
        "the child appended too little to prove anything"
    );
}

/// The child: appends forever from several tasks, printing each acknowledged position.
#[test]
#[ignore = "run only as the child of acknowledged_appends_survive_sigkill"]
fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        // Stream index snapshots are written while appending, so kills also
        // land during one and reopening starts from one.
        let mut opts = SledOptions::new(path);
        opts.index_snapshot_every = 500;
        let log = SledLog::open(opts).expect("child opens log");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        for t in 0..6 {
            let log = log.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let stream = format!("t{t}");
                let mut version = log.read_stream(&stream, 1).await.expect("read").len() as u64;
                loop {
                    let events = (0..1 + (version % 3) as usize)
                        .map(|i| NewEvent::new("Crash", "child", vec![i as u8; 200]))
                        .collect::<Vec<_>>();
                    let n = events.len() as u64;
                    let a = log
                        .append(&stream, ExpectedVersion::Exact(version), events)
                        .await
                        .expect("append");
                    version += n;
                    for p in a.first_position..=a.last_position {
                        let _ = tx.send(p);
                    }
                }
            });
        }
        drop(tx);
        let mut out = std::io::stdout().lock();
        while let Some(p) = rx.recv().await {
            let _ = writeln!(out, "ACK {p}");
            let _ = out.flush();
        }
    });
}
