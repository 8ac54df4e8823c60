//! The router as one of an active/standby pair (or more): it campaigns for
//! the lease and, while standing by, follows the log without acting; when it
//! takes the lease it reads the OPD stream's tail, rewinds its checkpoint to
//! where the previous active may have left work undone, and acts until it
//! loses the lease; then it stands by again.

use std::time::Instant;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use aduan_log::EventLog;

use crate::fenced::{FencedSink, Tail};
use crate::service::{phase, Mode, RouterConfig, MAX_IN_FLIGHT};
use crate::store::Store;
use crate::RouterError;

/// Runs an elected router until `shutdown` turns true (or the log closes):
/// it acts only while `sink`'s lease is held, and resigns the lease when
/// it stops.
pub async fn run_elected<L>(
    log: L,
    views: &aduan_kv::Db,
    sink: FencedSink,
    config: RouterConfig,
    shutdown: watch::Receiver<bool>,
) -> Result<(), RouterError>
where
    L: EventLog + Clone,
{
    let lease = sink.lease().clone();
    let store = Store::open(views)?;
    // The campaign stops (and resigns) only after the last phase has
    // drained, so in-flight assignments are still published under the lease.
    let (resign, resigned) = watch::channel(false);
    let campaign = Aborting(Some(tokio::spawn(lease.clone().campaign(resigned))));
    let active = lease.watch();
    let result = async {
        loop {
            let stop = until(&shutdown, &active, true);
            phase(
                &log,
                store.clone(),
                sink.clone(),
                config.clone(),
                Mode::Standby,
                stop.rx.clone(),
            )
            .await?;
            // Stopped without being asked: the log closed.
            if *shutdown.borrow() || !*stop.rx.borrow() {
                return Ok(());
            }
            if !lease.is_held() {
                continue;
            }
            let taken = Instant::now();
            let tail = match sink.take_over().await {
                Ok(tail) => tail,
                Err(e) => {
                    tracing::warn!(error = %e, "taking over the OPD stream failed; standing by");
                    lease.resign().await;
                    continue;
                }
            };
            let checkpoint = store.checkpoint()?;
            let resume = resume_point(checkpoint, store.acted()?, &tail);
            store.set_checkpoint(resume)?;
            tracing::info!(
                holder = lease.holder(),
                checkpoint,
                resume,
                fence = tail.last_sequence,
                took_ms = taken.elapsed().as_millis() as u64,
                "router active"
            );
            let stop = until(&shutdown, &active, false);
            phase(
                &log,
                store.clone(),
                sink.clone(),
                config.clone(),
                Mode::Active,
                stop.rx.clone(),
            )
            .await?;
            if *shutdown.borrow() || !*stop.rx.borrow() {
                return Ok(());
            }
        }
    }
    .await;
    let _ = resign.send(true);
    if let Some(handle) = campaign.take() {
        let _ = handle.await;
    }
    result
}

/// Where a new active router resumes: no later than its own checkpoint,
/// and no later than where the previous active may have left an effect
/// undone. That one published the assignment of the event at the highest
/// position the tail names only while its checkpoint was within
/// `MAX_IN_FLIGHT` events of it (it reads no further ahead), so every event
/// before that distance had its effect. With no position named: an empty
/// stream means nothing was ever published, so everything is redone (each
/// effect is idempotent); assignments of a version that named no position
/// leave only this router's own last active checkpoint (`acted`) to trust.
pub(crate) fn resume_point(checkpoint: u64, acted: Option<u64>, tail: &Tail) -> u64 {
    match tail.max_position {
        Some(p) => checkpoint.min(p.saturating_sub(MAX_IN_FLIGHT as u64)),
        None if tail.messages == 0 => 0,
        None => checkpoint.min(acted.unwrap_or(0)),
    }
}

/// A stop switch for one phase: on when shutdown comes or the lease turns
/// `to`; its forwarding task ends with it.
struct Until {
    rx: watch::Receiver<bool>,
    _task: Aborting,
}

fn until(shutdown: &watch::Receiver<bool>, active: &watch::Receiver<bool>, to: bool) -> Until {
    let (tx, rx) = watch::channel(false);
    let (mut shutdown, mut active) = (shutdown.clone(), active.clone());
    let task = tokio::spawn(async move {
        tokio::select! {
            _ = shutdown.wait_for(|v| *v) => {}
            _ = active.wait_for(|a| *a == to) => {}
        }
        let _ = tx.send(true);
    });
    Until {
        rx,
        _task: Aborting(Some(task)),
    }
}

/// A task aborted when this is dropped (the router's own task aborted or
/// dropped takes its lease campaign with it, as a killed process would).
struct Aborting(Option<JoinHandle<()>>);

impl Aborting {
    /// The task, to be awaited instead.
    fn take(mut self) -> Option<JoinHandle<()>> {
        self.0.take()
    }
}

impl Drop for Aborting {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(max_position: Option<u64>, messages: u64) -> Tail {
        Tail {
            last_sequence: messages,
            max_position,
            messages,
        }
    }

    #[test]
    fn a_takeover_resumes_where_the_previous_active_may_have_left_work() {
        let far = 100_000;
        // The previous active was at most MAX_IN_FLIGHT events behind its last publish.
        assert_eq!(
            resume_point(far, None, &tail(Some(50_000), 9)),
            50_000 - 4096
        );
        // A standby that followed less far resumes at its own checkpoint.
        assert_eq!(resume_point(10, None, &tail(Some(50_000), 9)), 10);
        // Nothing published yet: everything.
        assert_eq!(resume_point(far, Some(far), &tail(None, 0)), 0);
        // Unnamed positions: only what this router itself did when active.
        assert_eq!(resume_point(far, Some(7), &tail(None, 3)), 7);
        assert_eq!(resume_point(far, None, &tail(None, 3)), 0);
    }
}
