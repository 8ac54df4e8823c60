//! Which event log a service runs on: the embedded sled log in its data
//! directory (one process owns it), or the shared JetStream log that several
//! processes append to (`--log jetstream --nats URL`). [`Log`] is either,
//! and every service takes it through `aduan_log::EventLog`.

use aduan_bus::Edge;
use aduan_log::{Appended, EventLog, ExpectedVersion, LogError, NewEvent, RecordedEvent};
use aduan_log_jetstream::{JetStreamLog, JetStreamOptions, Replicas};
use aduan_log_sled::SledLog;
use clap::{Args, ValueEnum};

use super::Usage;

/// The log backends a service can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Embedded, in `<data>/log`; one process at a time.
    Sled,
    /// A JetStream stream on the NATS server of `--nats`; any number of processes.
    #[value(name = "jetstream")]
    JetStream,
}

/// The flags choosing the log, shared by the service commands.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// The event log: `sled` (embedded in --data, one process) or
    /// `jetstream` (a stream on the NATS server of --nats, shared by every
    /// process; --data then holds only what this process derives from it).
    #[arg(long = "log", env = "ADUAN_LOG", value_enum, default_value = "sled")]
    pub backend: Backend,
    /// The JetStream stream holding the log (with --log jetstream); its
    /// records are published on `<subject-prefix>.log.<stream>`.
    #[arg(long, env = "ADUAN_LOG_STREAM", default_value = "ADUAN_LOG", value_parser = stream_name)]
    pub log_stream: String,
    /// Copies of the JetStream log (and of the token and key buckets): 1, or 3
    /// on a cluster of three servers.
    #[arg(long, env = "ADUAN_LOG_REPLICAS", default_value = "1", value_parser = replicas)]
    pub log_replicas: Replicas,
}

impl LogArgs {
    /// Refuses a JetStream log without a NATS URL (exit 2, naming the flag).
    pub fn check(&self, nats: Option<&str>) -> Result<(), Usage> {
        if self.backend == Backend::JetStream && nats.is_none() {
            return Err(Usage(
                "--log jetstream needs --nats (the NATS server holding the log)".to_owned(),
            ));
        }
        Ok(())
    }

    /// The JetStream options of the log, its subject under `subject_prefix`.
    pub fn jetstream_options(&self, subject_prefix: &str) -> JetStreamOptions {
        let subject = format!("{subject_prefix}.log.{}", self.log_stream);
        JetStreamOptions::new(self.log_stream.clone(), subject).replicas(self.log_replicas)
    }

    /// Opens the JetStream log over `edge`'s connection.
    pub async fn open_jetstream(
        &self,
        edge: &Edge,
        subject_prefix: &str,
    ) -> anyhow::Result<JetStreamLog> {
        let opts = self.jetstream_options(subject_prefix);
        let stream = opts.stream.clone();
        JetStreamLog::open(edge.client.clone(), opts)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the JetStream log {stream}: {e}"))
    }
}

/// A JetStream stream name: no white space, dots, `*`, `>`, `/` or `\`.
fn stream_name(s: &str) -> Result<String, String> {
    let bad = |c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\');
    if s.is_empty() || s.len() > 64 || s.contains(bad) {
        return Err("1 to 64 characters, without white space, '.', '*', '>', '/' or '\\'".into());
    }
    Ok(s.to_owned())
}

fn replicas(s: &str) -> Result<Replicas, String> {
    match s {
        "1" => Ok(Replicas::One),
        "3" => Ok(Replicas::Three),
        _ => Err("1 or 3".to_owned()),
    }
}

/// The event log of a service: embedded or shared.
#[derive(Debug, Clone)]
pub enum Log {
    /// The sled log of the data directory.
    Sled(SledLog),
    /// The JetStream log.
    JetStream(JetStreamLog),
}

impl Log {
    /// Lets the writer finish what it holds and stops taking appends.
    pub async fn close(&self) {
        match self {
            Self::Sled(l) => l.close(),
            Self::JetStream(l) => l.close().await,
        }
    }
}

impl EventLog for Log {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<Appended, LogError> {
        match self {
            Self::Sled(l) => l.append(stream, expected, events).await,
            Self::JetStream(l) => l.append(stream, expected, events).await,
        }
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, LogError> {
        match self {
            Self::Sled(l) => l.read_stream(stream, from_version).await,
            Self::JetStream(l) => l.read_stream(stream, from_version).await,
        }
    }

    async fn read_all(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>, LogError> {
        match self {
            Self::Sled(l) => l.read_all(from, max).await,
            Self::JetStream(l) => l.read_all(from, max).await,
        }
    }

    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        match self {
            Self::Sled(l) => l.head(),
            Self::JetStream(l) => l.head(),
        }
    }

    async fn import(&self, events: Vec<RecordedEvent>) -> Result<Appended, LogError> {
        match self {
            Self::Sled(l) => l.import(events).await,
            Self::JetStream(l) => l.import(events).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        log: LogArgs,
    }

    #[test]
    fn the_log_flags_parse_and_a_jetstream_log_needs_nats() {
        let cli = Cli::try_parse_from(["x"]).expect("defaults");
        assert_eq!(cli.log.backend, Backend::Sled);
        assert!(cli.log.check(None).is_ok());
        let cli = Cli::try_parse_from(["x", "--log", "jetstream", "--log-replicas", "3"])
            .expect("jetstream");
        assert_eq!(cli.log.log_replicas, Replicas::Three);
        assert_eq!(cli.log.log_stream, "ADUAN_LOG");
        let err = cli.log.check(None).expect_err("no --nats");
        assert!(err.0.contains("--nats"), "{err}");
        assert!(cli.log.check(Some("nats://127.0.0.1:4222")).is_ok());
        let opts = cli.log.jetstream_options("aduan");
        assert_eq!(opts.subject, "aduan.log.ADUAN_LOG");
        assert!(Cli::try_parse_from(["x", "--log-replicas", "2"]).is_err());
        assert!(Cli::try_parse_from(["x", "--log-stream", "A.B"]).is_err());
    }
}
