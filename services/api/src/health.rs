//! Which services of this process are running: each spawned service is
//! registered when it starts and marked when it stops, with its error if it
//! failed; `/readyz` reads it. A service that has stopped is not serving,
//! whether it stopped with an error or quietly before shutdown, so either
//! makes the process not ready, naming the service.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// Projections this many events behind the log's head make the process not
/// ready, unless configured otherwise.
pub const DEFAULT_MAX_LAG: u64 = 10_000;

/// The state of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceState {
    /// Started and not stopped.
    Running,
    /// Stopped without an error.
    Stopped,
    /// Stopped with this error.
    Failed(String),
}

impl ServiceState {
    /// What `/readyz` says of it: the state without the error's text,
    /// which is logged, not sent.
    pub fn summary(&self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stopped => "stopped",
            Self::Failed(_) => "failed",
        }
    }
}

impl std::fmt::Display for ServiceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Running => f.write_str("running"),
            Self::Stopped => f.write_str("stopped"),
            Self::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

/// The shared registry of this process's services; cheap to clone.
#[derive(Debug, Clone)]
pub struct Health {
    services: Arc<Mutex<BTreeMap<String, ServiceState>>>,
    max_lag: u64,
}

impl Default for Health {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LAG)
    }
}

impl Health {
    /// An empty registry; projections more than `max_lag` events behind
    /// the log make the process not ready.
    pub fn new(max_lag: u64) -> Self {
        Self {
            services: Arc::default(),
            max_lag,
        }
    }

    /// The lag past which the projections are not ready.
    pub fn max_lag(&self) -> u64 {
        self.max_lag
    }

    /// Marks `name` as running.
    pub fn running(&self, name: &str) {
        self.set(name, ServiceState::Running);
    }

    /// Marks `name` as stopped, failed when `outcome` is an error.
    pub fn stopped<E: std::fmt::Display>(&self, name: &str, outcome: &Result<(), E>) {
        let state = match outcome {
            Ok(()) => ServiceState::Stopped,
            // `{:#}`: an `anyhow` error with its causes, not its last context alone.
            Err(e) => ServiceState::Failed(format!("{e:#}")),
        };
        self.set(name, state);
    }

    /// Runs `service` as `name`: running from now until it ends, then
    /// stopped or failed by its result; failed too when it panics or is
    /// dropped unfinished.
    pub fn watch<F, E>(&self, name: &'static str, service: F) -> impl Future<Output = F::Output>
    where
        F: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        self.running(name);
        let report = Report(Some((self.clone(), name)));
        async move {
            let r = service.await;
            if let Some((health, name)) = report.take() {
                health.stopped(name, &r);
            }
            r
        }
    }

    /// Every registered service and its state, by name.
    pub fn services(&self) -> BTreeMap<String, ServiceState> {
        self.lock().clone()
    }

    fn set(&self, name: &str, state: ServiceState) {
        match &state {
            ServiceState::Running => {}
            ServiceState::Stopped => tracing::info!(service = name, "service stopped"),
            ServiceState::Failed(_) => tracing::warn!(service = name, %state, "service stopped"),
        }
        self.lock().insert(name.to_owned(), state);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ServiceState>> {
        // A std Mutex: held only to copy or insert, never across an await.
        self.services.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Reports a watched service that ends without a result (a panic, or its
/// future dropped) as failed.
struct Report(Option<(Health, &'static str)>);

impl Report {
    fn take(mut self) -> Option<(Health, &'static str)> {
        self.0.take()
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        if let Some((health, name)) = self.0.take() {
            health.stopped(name, &Err::<(), _>("panicked or was cancelled"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Health, ServiceState};

    #[tokio::test]
    async fn watched_services_report_how_they_end() {
        let health = Health::default();
        let failed = tokio::spawn(health.watch("router", async { Err("disk full") }));
        let stopped = tokio::spawn(health.watch("intake", async { Ok::<(), String>(()) }));
        let panicked = tokio::spawn(health.watch("projections", async {
            if true {
                panic!("bug");
            }
            Ok::<(), String>(())
        }));
        let (stop, mut wait) = tokio::sync::watch::channel(false);
        let running = tokio::spawn(health.watch("commands", async move {
            let _ = wait.wait_for(|s| *s).await;
            Ok::<(), String>(())
        }));
        assert!(failed.await.expect("join").is_err());
        stopped.await.expect("join").expect("ok");
        assert!(panicked.await.is_err(), "it panicked");
        let states = health.services();
        assert_eq!(states["router"], ServiceState::Failed("disk full".into()));
        assert_eq!(states["intake"], ServiceState::Stopped);
        assert!(matches!(&states["projections"], ServiceState::Failed(_)));
        assert_eq!(states["commands"], ServiceState::Running);
        stop.send_replace(true);
        running.await.expect("join").expect("ok");
        assert_eq!(health.services()["commands"], ServiceState::Stopped);
    }
}
