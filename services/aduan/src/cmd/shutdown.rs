//! One shutdown path: SIGTERM or Ctrl-C flips a watch that every loop selects on.

use std::sync::Arc;

use tokio::sync::watch;

/// A receiver that turns `true` on SIGTERM or Ctrl-C.
pub fn on_signal() -> watch::Receiver<bool> {
    on_signal_or_failure().1
}

/// Like [`on_signal`], plus a sender the process can use to stop itself
/// (when one of its services fails).
pub fn on_signal_or_failure() -> (Arc<watch::Sender<bool>>, watch::Receiver<bool>) {
    let (tx, rx) = watch::channel(false);
    let tx = Arc::new(tx);
    let trigger = tx.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::warn!(error = %e, "no SIGTERM handler; Ctrl-C only");
                        let _ = ctrl_c.await;
                        let _ = tx.send(true);
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = tx.send(true);
    });
    (trigger, rx)
}

/// Resolves when `rx` turns true (or its sender is gone).
pub async fn wait(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}
