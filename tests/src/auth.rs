//! NATS authorization in the end-to-end tests: the config `aduan deploy
//! nats-config` generates for the sample rule set, its passwords, and an OPD
//! worker's side (its own durable consumer, its assignments).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use aduan_proto::v1;
use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use prost::Message;

use crate::{aduan_bin, UserPass};

/// The nats-server: Debian's 2.9 from PATH, or the binary `ADUAN_TEST_NATS_SERVER`
/// names (e.g. 2.15.1 from scripts/install-nats-2.15.sh, target/venv/bin/nats-server).
pub fn server_bin() -> std::path::PathBuf {
    std::env::var_os("ADUAN_TEST_NATS_SERVER").map_or_else(|| "nats-server".into(), Into::into)
}

/// A nats-server of 2.12 or later, for the JetStream log (atomic batches):
/// the binary `ADUAN_TEST_NATS_SERVER` names, else nats-server 2.15.1 as
/// `scripts/install-nats-2.15.sh` installs it under `target/venv`.
pub fn server_2_15() -> std::path::PathBuf {
    if let Some(bin) = std::env::var_os("ADUAN_TEST_NATS_SERVER") {
        return bin.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        Into::into,
    );
    let bin = target.join("venv/bin/nats-server");
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/install-nats-2.15.sh (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// A generated config and its clear passwords.
pub struct Deployed {
    _dir: tempfile::TempDir,
    /// The config text.
    pub config: String,
    passwords: HashMap<String, String>,
}

impl Deployed {
    /// `name` and its password.
    pub fn user<'a>(&'a self, name: &'a str) -> UserPass<'a> {
        (name, self.passwords.get(name).expect(name).as_str())
    }
}

/// Runs `aduan deploy nats-config` on the sample rule set (bcrypt cost 4,
/// so 89 users hash in a moment).
pub fn deploy() -> Deployed {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/rules/sample.toml");
    let (out, creds) = (dir.path().join("auth.conf"), dir.path().join("creds"));
    let status = Command::new(aduan_bin())
        .args(["deploy", "nats-config"])
        .arg(&sample)
        .arg("--out")
        .arg(&out)
        .arg("--credentials")
        .arg(&creds)
        .args(["--bcrypt-cost", "4"])
        .status()
        .expect("run aduan deploy");
    assert!(status.success());
    let mode = std::fs::metadata(&creds)
        .expect("credentials")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let passwords = std::fs::read_to_string(&creds)
        .expect("read credentials")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .map(|(u, p)| (u.to_owned(), p.to_owned()))
        .collect();
    let config = std::fs::read_to_string(&out).expect("read config");
    Deployed {
        _dir: dir,
        config,
        passwords,
    }
}

/// `org`'s own durable consumer, created through the filtered create API.
pub async fn own_consumer(
    client: &async_nats::Client,
    org: &str,
) -> jetstream::consumer::PullConsumer {
    try_own_consumer(client, org)
        .await
        .expect("its own consumer")
}

/// [`own_consumer`], or the error (no stream yet, say).
pub async fn try_own_consumer(
    client: &async_nats::Client,
    org: &str,
) -> Result<jetstream::consumer::PullConsumer, jetstream::stream::ConsumerError> {
    let stream = jetstream::new(client.clone())
        .get_stream_no_info(aduan_router::JetStreamSink::STREAM)
        .await
        .expect("stream handle");
    stream
        .create_consumer(pull::Config {
            durable_name: Some(format!("opd-{org}")),
            filter_subject: aduan_bus::Subjects::default().opd_inbox(org),
            ..Default::default()
        })
        .await
}

/// The next assignment of `consumer`, acked (and the ack confirmed).
pub async fn next_assignment(consumer: &jetstream::consumer::PullConsumer) -> v1::Assignment {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        let mut batch = consumer
            .fetch()
            .max_messages(1)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .expect("fetch");
        if let Some(m) = batch.next().await {
            let m = m.expect("message");
            let a = v1::Assignment::decode(m.payload.clone()).expect("an assignment");
            m.double_ack().await.expect("ack confirmed");
            return a;
        }
    }
    panic!("no assignment within 30 s");
}

/// A channel adapter's submission of a complaint on channel `web` with
/// `channel_ref`, to region 33.18 (the sample routes it to kab-pati-dinkes);
/// its ack. Panics when intake refuses it.
pub async fn submit_as_adapter(adapter: &async_nats::Client, channel_ref: &str) -> v1::SubmitAck {
    let submit = v1::SubmitComplaint {
        channel: "web".into(),
        channel_ref: channel_ref.into(),
        kind: "complaint".into(),
        title: "Obat kosong".into(),
        body: "Obat di puskesmas Juwana habis sejak minggu lalu".into(),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let reply = adapter
        .request("aduan.intake.submit", submit.encode_to_vec().into())
        .await
        .expect("submitted");
    let reply = v1::SubmitReply::decode(reply.payload).expect("reply");
    let Some(v1::submit_reply::Result::Ack(ack)) = reply.result else {
        panic!("submission refused: {reply:?}");
    };
    ack
}
