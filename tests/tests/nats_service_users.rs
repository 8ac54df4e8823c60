//! Each aduan service, run alone as its own NATS user from `aduan deploy
//! nats-config`, has the permissions it needs: `aduan intake` as svc-intake
//! answers an adapter's submission, `aduan router` as svc-router creates the
//! OPD stream and hands the complaint to its OPD's consumer, and `aduan
//! projections` as svc-projections answers the status query. They run one
//! after another on one data directory (only one process may hold it).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aduan_e2e::auth::{
    deploy, next_assignment, server_bin, submit_as_adapter, try_own_consumer, Deployed,
};
use aduan_e2e::{aduan_bin, connect_as, wait_for_responders_as, NatsServer};

const A: &str = "kab-pati-dinkes";

/// `aduan <cmd> --data DATA --nats URL` as `user`; SIGTERM on drop.
struct Service(Child);

impl Service {
    fn start(cmd: &str, data: &Path, d: &Deployed, user: &str, nats: &NatsServer) -> Self {
        let (user, password) = d.user(user);
        let url = format!("nats://{user}:{password}@127.0.0.1:{}", nats.port());
        let child = Command::new(aduan_bin())
            .arg(cmd)
            .arg("--data")
            .arg(data)
            .args(["--nats", &url])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn aduan");
        Self(child)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_router_and_projections_each_run_as_their_own_user() {
    let d = deploy();
    let nats = NatsServer::start_with_config(&server_bin(), &d.config);
    let data = tempfile::tempdir().expect("data");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/rules/sample.toml");
    let published = Command::new(aduan_bin())
        .args(["rules", "publish"])
        .arg(&sample)
        .arg("--data")
        .arg(data.path())
        .output()
        .expect("publish the rules");
    assert!(published.status.success());
    let web = d.user("adapter-web");
    let adapter = connect_as(&nats.url(), Some(web)).await;

    let intake = Service::start("intake", data.path(), &d, "svc-intake", &nats);
    wait_for_responders_as(&nats.url(), Some(web), &["aduan.intake.submit"]);
    let ack = submit_as_adapter(&adapter, "form-0002").await;
    drop(intake);

    let router = Service::start("router", data.path(), &d, "svc-router", &nats);
    let a = connect_as(&nats.url(), Some(d.user("opd-kab-pati-dinkes"))).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    // The router creates the stream when it starts.
    let consumer = loop {
        match try_own_consumer(&a, A).await {
            Ok(c) => break c,
            Err(e) => assert!(tokio::time::Instant::now() < deadline, "no consumer: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let assignment = next_assignment(&consumer).await;
    assert_eq!(
        (assignment.complaint_id.as_str(), assignment.org.as_str()),
        (ack.complaint_id.as_str(), A)
    );
    drop(router);

    let _projections = Service::start("projections", data.path(), &d, "svc-projections", &nats);
    wait_for_responders_as(&nats.url(), Some(web), &["aduan.query.status"]);
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Content-Type", "application/json");
    let query = serde_json::json!({"tracking_no": ack.tracking_no}).to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let view = adapter
            .request_with_headers("aduan.query.status", headers.clone(), query.clone().into())
            .await
            .expect("status");
        let view: serde_json::Value = serde_json::from_slice(&view.payload).expect("JSON");
        if view["org"] == A {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "status view: {view}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
