//! The token and key buckets against a real nats-server 2.15.1 (the binary
//! `scripts/install-nats-2.15.sh` installs under target/venv), started on a
//! free loopback port with its own store directory by `aduan-nats-cluster`
//! and killed on drop.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aduan_api::auth::Role;
use aduan_domain::{reporter_token, OrgCode};
use aduan_nats_cluster::Cluster;
use aduan_secrets::{Buckets, REPORTER_KEY, TOKENS_BUCKET};

/// One nats-server node of the project's test harness, which starts it
/// again on new ports when another socket took its port first.
struct Server(Cluster);

impl Server {
    fn start() -> Self {
        Self::start_nodes(1)
    }

    fn start_nodes(n: usize) -> Self {
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
            PathBuf::from,
        );
        let bin = target.join("venv/bin/nats-server");
        assert!(
            bin.is_file(),
            "{} is missing: run scripts/install-nats-2.15.sh",
            bin.display()
        );
        Self(Cluster::start(&bin, n).expect("start nats-server"))
    }

    async fn connect(&self) -> async_nats::Client {
        self.0.connect(0).await.expect("connect")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_process_to_create_a_key_wins_and_every_other_reads_it() {
    let server = Server::start();
    // Eight processes (connections) start at once, each opening the buckets
    // and asking for the reporter key.
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let client = server.connect().await;
        racing.spawn(async move {
            let buckets = Buckets::open(client, 1).await.expect("buckets");
            buckets.key(REPORTER_KEY).await.expect("key")
        });
    }
    let keys: Vec<[u8; 32]> = racing.join_all().await;
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "one key for all: {keys:?}"
    );
    assert_ne!(keys[0], [0u8; 32]);
    let later = Buckets::open(server.connect().await, 1)
        .await
        .expect("buckets");
    assert_eq!(later.key(REPORTER_KEY).await.expect("key"), keys[0]);
    assert_ne!(later.key("export").await.expect("another key"), keys[0]);
}

/// On three nodes with the buckets replicated three times, a process may
/// ask a replica that does not hold yet the key another process has just
/// created: its create is refused and its read finds nothing. It must read
/// again, not fail (seen once in tests/tests/cluster_faults.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_three_nodes_every_process_reads_the_key_the_first_created() {
    let cluster = Server::start_nodes(3);
    let mut clients = Vec::new();
    for i in 0..6 {
        clients.push(cluster.0.connect(i % 3).await.expect("connect"));
    }
    // The buckets, once the cluster has a JetStream leader to create them.
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(e) = Buckets::open(clients[0].clone(), 3).await {
        assert!(Instant::now() < deadline, "no buckets: {e}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for round in 0..20 {
        let name = format!("race-{round}");
        let mut racing = tokio::task::JoinSet::new();
        for client in &clients {
            let (client, name) = (client.clone(), name.clone());
            racing.spawn(async move {
                let buckets = Buckets::open(client, 3).await.expect("buckets");
                buckets.key(&name).await.expect("key")
            });
        }
        let keys: Vec<[u8; 32]> = racing.join_all().await;
        assert!(
            keys.iter().all(|k| *k == keys[0]),
            "round {round}: {keys:?}"
        );
    }
}

/// Waits up to a second for `f` to hold; how long it took.
async fn within_a_second(mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        if f() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tokens_issued_into_the_bucket_work_at_once_and_deleted_ones_stop() {
    let server = Server::start();
    let issuer = Buckets::open(server.connect().await, 1)
        .await
        .expect("buckets");
    let admin = Role::Admin {
        name: "rina".into(),
    };
    let before = issuer.issue(&admin).await.expect("issue");
    // Another process: it reads what was there before it started...
    let api = Buckets::open(server.connect().await, 1)
        .await
        .expect("buckets");
    let tokens = api.watch_tokens().await.expect("tokens");
    assert_eq!(tokens.role_of(&before), Some(admin.clone()));
    assert_eq!(tokens.role_of("not-a-token"), None);
    // ... and what is issued while it runs.
    let opd = Role::Opd {
        org: OrgCode::parse("kab-pati-dinkes").expect("org"),
        name: "budi".into(),
    };
    let during = issuer.issue(&opd).await.expect("issue");
    let took = within_a_second(|| tokens.role_of(&during) == Some(opd.clone())).await;
    assert!(took.is_some(), "a new token works within a second");
    println!("a token issued into {TOKENS_BUCKET} worked after {took:?}");
    // A deleted token stops working.
    issuer
        .revoke(&reporter_token::hash(&during))
        .await
        .expect("revoke");
    let took = within_a_second(|| tokens.role_of(&during).is_none()).await;
    assert!(took.is_some(), "a deleted token stops within a second");
    assert_eq!(tokens.role_of(&before), Some(admin));
    // An entry whose line grants another hash than its key is refused, so
    // that deleting a key always revokes what it granted.
    let forged = aduan_api::auth::new_line(&Role::Auditor { name: "x".into() });
    let js = async_nats::jetstream::new(server.connect().await);
    let kv = js.get_key_value(TOKENS_BUCKET).await.expect("bucket");
    kv.put("0123abcd", forged.2.into()).await.expect("put");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(tokens.role_of(&forged.0), None);
}
