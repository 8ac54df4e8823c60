//! `aduan deploy nats-config`: the nats-server authorization config generated
//! from a rule set (aduan-deploy), written with its credentials file. Exit 1
//! for a rule set with problems, 2 for bad usage; both before anything is
//! written.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aduan_domain::Channel;
use anyhow::Context;
use clap::{Args, Subcommand};

use super::{args, rules, Usage};

/// Flags of `aduan deploy`.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    #[command(subcommand)]
    cmd: DeployCmd,
}

#[derive(Debug, Clone, Subcommand)]
enum DeployCmd {
    /// Write the nats-server authorization config for a rule set: a user per
    /// OPD (only its own durable consumer opd-<org> on ADUAN_OPD, its own
    /// .cmd and the status query), per channel adapter (submit and status
    /// query) and per aduan service (svc-intake, svc-router,
    /// svc-projections, svc-api, svc-serve); each gets replies only under
    /// _INBOX_<user>, and a client without credentials is refused.
    ///
    /// Passwords are random and new on every run; the config holds their
    /// bcrypt hashes, the clear passwords go once to the --credentials file
    /// (created 0600, refused if it exists). Include the config from the
    /// server's own (`include ./aduan-auth.conf`) and reload it; aduan
    /// services take their password in the URL, best from the environment
    /// (ADUAN_NATS=nats://svc-serve:PASSWORD@HOST:4222), and set their inbox
    /// prefix themselves. To rotate, generate again, replace the config,
    /// reload the server and hand out the new passwords.
    NatsConfig(NatsConfigArgs),
}

/// Flags of `aduan deploy nats-config`.
#[derive(Debug, Clone, Args)]
pub struct NatsConfigArgs {
    /// The rule set (TOML) whose organisations get a user each.
    #[arg(value_parser = args::existing_file)]
    rules: PathBuf,
    /// Write the config to this file instead of standard output.
    #[arg(long, value_parser = args::new_file)]
    out: Option<PathBuf>,
    /// Where the clear passwords go, created 0600; it must not exist yet
    /// (to rotate, move the old one away first).
    #[arg(long, default_value = "aduan-nats.credentials", value_parser = args::new_file)]
    credentials: PathBuf,
    /// Subject prefix the services use (as their --subject-prefix).
    #[arg(
        long,
        env = "ADUAN_SUBJECT_PREFIX",
        default_value = "aduan",
        value_parser = args::subject_prefix
    )]
    subject_prefix: String,
    /// The JetStream stream of the log (as the services' --log-stream): the
    /// svc-* users, and only they, may use it and its subject
    /// `<subject-prefix>.log.<stream>`.
    #[arg(
        long,
        env = "ADUAN_LOG_STREAM",
        default_value = aduan_deploy::DEFAULT_LOG_STREAM,
        value_parser = log_stream
    )]
    log_stream: String,
    /// A channel that gets an adapter user (repeat the flag); default: every
    /// channel the rule set knows (CONTRACT.md's nine unless it names its own).
    #[arg(long = "channel", value_parser = args::channel)]
    channels: Vec<Channel>,
    /// bcrypt cost of the password hashes; nats-server checks the hash on
    /// every connection, so a high cost slows each connect.
    #[arg(
        long,
        default_value_t = aduan_deploy::DEFAULT_COST,
        value_parser = clap::value_parser!(u32).range(4..=31)
    )]
    bcrypt_cost: u32,
}

/// Runs `aduan deploy …`.
pub fn deploy(args: DeployArgs) -> anyhow::Result<ExitCode> {
    match args.cmd {
        DeployCmd::NatsConfig(a) => nats_config(a),
    }
}

fn nats_config(a: NatsConfigArgs) -> anyhow::Result<ExitCode> {
    if a.credentials.exists() {
        return Err(Usage(format!(
            "--credentials {} exists: move it away (or name another file) to generate new passwords",
            a.credentials.display()
        ))
        .into());
    }
    if a.out.as_deref() == Some(a.credentials.as_path()) {
        return Err(Usage("--out and --credentials name the same file".to_owned()).into());
    }
    let Some(rules) = rules::load(&a.rules) else {
        return Ok(ExitCode::from(1));
    };
    let mut opts =
        aduan_deploy::Options::new(&rules).prefix_and_log(&a.subject_prefix, &a.log_stream);
    opts.bcrypt_cost = a.bcrypt_cost;
    if !a.channels.is_empty() {
        opts.channels = a.channels;
    }
    let generated = aduan_deploy::nats_config(&rules, &opts).context("generating the config")?;
    write_private(&a.credentials, generated.credentials_text().as_bytes())?;
    match &a.out {
        Some(out) => std::fs::write(out, &generated.config)
            .with_context(|| format!("cannot write {}", out.display()))?,
        None => std::io::stdout()
            .write_all(generated.config.as_bytes())
            .context("writing the config")?,
    }
    eprintln!(
        "{} users for rule set {}; passwords in {} (0600)",
        generated.credentials.len(),
        generated.version,
        a.credentials.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A JetStream stream name that is also one subject token: 1 to 64
/// characters, none of them white space, '.', '*', '>', '/' or '\\'.
fn log_stream(s: &str) -> Result<String, String> {
    let bad = |c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\');
    if s.is_empty() || s.len() > 64 || s.contains(bad) {
        return Err("1 to 64 characters, without white space, '.', '*', '>', '/' or '\\'".into());
    }
    Ok(s.to_owned())
}

/// Creates `path` readable by its owner only and writes `bytes`, synced; an
/// existing file is refused, never overwritten.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}
