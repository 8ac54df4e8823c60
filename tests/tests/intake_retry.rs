//! A client that hangs up right after sending its submission, then retries:
//! against a real `aduan serve` over HTTP, one complaint per key, and the
//! retry's ack carries a reporter token that works; a stranger who reuses a
//! channel reference with other content gets the first ack without a token.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use aduan_domain::{reporter_token, ComplaintEvent, ReporterToken};
use aduan_e2e::{http, post_json, Aduan};
use aduan_log::EventLog;
use aduan_log_sled::{SledLog, SledOptions};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

const KEYS: u64 = 48;

fn submission(key: u64, body: &str) -> Value {
    json!({"channel": "web", "channel_ref": format!("hangup-{key}"),
           "title": "Lampu jalan mati", "body": body,
           "location": {"region_code": "33.18"},
           "reporter": {"name": "Warga Juwana", "phone": "081234567890", "privacy": "confidential"}})
}

/// Sends the whole request, waits `linger`, and closes the connection without
/// reading the answer.
async fn send_and_hang_up(addr: SocketAddr, body: &Value, linger: Duration) {
    let body = body.to_string();
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "POST /v1/complaints HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("send");
    tokio::time::sleep(linger).await;
    drop(s);
}

/// `ComplaintReceived` per channel reference: (how many, the first's token hash).
fn received(data: &std::path::Path) -> BTreeMap<String, (usize, String)> {
    let log = SledLog::open(SledOptions::new(data.join("log"))).expect("open log after stop");
    let all = tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(log.read_all(1, 1_000_000))
    })
    .expect("read log");
    log.close();
    let mut out: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for e in all {
        if let Ok(ComplaintEvent::Received(r)) =
            ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload)
        {
            let entry = out
                .entry(r.channel_ref)
                .or_insert((0, r.reporter_token_hash));
            entry.0 += 1;
        }
    }
    out
}

/// The status of a reporter's reopen request with `token` (401 when the token is wrong).
async fn reopen_with(addr: SocketAddr, tracking_no: &str, token: &str) -> u16 {
    let path = format!("/v1/complaints/{tracking_no}/reopen");
    let auth = format!("Bearer {token}");
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let body = json!({"reason": "belum diperbaiki"}).to_string();
    http(addr, "POST", &path, &headers, body.as_bytes()).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_hang_up_finds_its_complaint_and_token() {
    let dir = tempfile::tempdir().expect("data dir");
    let aduan = tokio::task::block_in_place(|| Aduan::serve(dir.path(), None, &[]));
    let body = "Lampu jalan di depan SD Juwana mati sejak seminggu";
    let mut acks = BTreeMap::new();
    let mut found = 0;
    for key in 0..KEYS {
        let s = submission(key, body);
        // Hung up at a different moment each time, so some land before and
        // some after the append.
        send_and_hang_up(aduan.http, &s, Duration::from_micros((key % 8) * 400)).await;
        let (status, ack) = post_json(aduan.http, "/v1/complaints", &s).await;
        assert!(matches!(status, 200 | 201), "{key}: {status} {ack}");
        found += usize::from(ack["duplicate"] == json!(true));
        acks.insert(format!("hangup-{key}"), ack);
    }
    eprintln!("{found} of {KEYS} retries found the abandoned submission stored");
    assert!(
        found > 0,
        "no abandoned submission was stored: the race was not exercised"
    );

    // The recovered token works: a wrong one is 401, the right one passes
    // authentication (reopening a complaint that is not resolved is refused
    // for its state, not for the token).
    for ack in acks.values().take(4) {
        let t = ack["tracking_no"].as_str().expect("tracking");
        let token = ack["reporter_token"].as_str().expect("token");
        assert_eq!(reopen_with(aduan.http, t, &"0".repeat(64)).await, 401);
        let status = reopen_with(aduan.http, t, token).await;
        assert!(
            !matches!(status, 401 | 404),
            "{t}: the token was refused: {status}"
        );
    }

    // A stranger with the same channel reference and other content.
    for key in 0..4 {
        let s = submission(key, "Saya juga melapor, berikan tokennya");
        let (status, dup) = post_json(aduan.http, "/v1/complaints", &s).await;
        assert_eq!((status, &dup["duplicate"]), (200, &json!(true)), "{dup}");
        let first = &acks[&format!("hangup-{key}")];
        assert_eq!(dup["complaint_id"], first["complaint_id"]);
        assert_eq!(dup["reporter_token"], json!(""), "a stranger got the token");
    }

    assert_eq!(tokio::task::block_in_place(|| aduan.terminate()), Some(0));
    let stored = received(dir.path());
    assert_eq!(stored.len() as u64, KEYS);
    for (r, (count, hash)) in &stored {
        assert_eq!(*count, 1, "{r} was stored {count} times");
        let token = acks[r]["reporter_token"].as_str().expect("token");
        assert!(
            reporter_token::verify(&ReporterToken::from(token), hash),
            "{r}: the retry's token does not match the stored hash"
        );
    }
}
