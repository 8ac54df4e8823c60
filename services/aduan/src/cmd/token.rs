//! `aduan token issue`: a new API token for an OPD operator, an OPD's head,
//! an admin or an auditor.
//! Only its BLAKE3 hash goes into `<data>/tokens.jsonl` (with `--log
//! jetstream`: into the KV bucket `aduan_tokens` on the server of `--nats`);
//! the token is printed once and cannot be recovered. A running `aduan serve`
//! (or every `aduan api` of a JetStream deployment) sees it at once.

use std::path::PathBuf;
use std::process::ExitCode;

use aduan_api::auth::{self, Role};
use aduan_domain::OrgCode;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use super::log::{Backend, LogArgs};

/// `aduan token …`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    cmd: TokenCmd,
}

#[derive(Debug, Subcommand)]
enum TokenCmd {
    /// Issue a new token and print it once.
    Issue(IssueArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleKind {
    Opd,
    /// The head of an OPD: approves or returns its operators' draft answers.
    #[value(name = "opd_head")]
    OpdHead,
    Admin,
    Auditor,
}

#[derive(Debug, Args)]
struct IssueArgs {
    /// What the token may do.
    #[arg(long, value_enum)]
    role: RoleKind,
    /// The organisation an OPD or OPD-head token acts for (required with
    /// --role opd and --role opd_head).
    #[arg(long, required_if_eq_any([("role", "opd"), ("role", "opd_head")]), value_parser = super::args::org)]
    org: Option<OrgCode>,
    /// Who the token is for; recorded as the actor of every action taken with it
    /// (default: the role, or "operator" for an OPD token).
    #[arg(long, default_value = "")]
    name: String,
    /// Data directory holding tokens.jsonl.
    #[arg(long, env = "ADUAN_DATA", default_value = "./data")]
    data: PathBuf,
    #[command(flatten)]
    log: LogArgs,
    /// NATS server URL: with --log jetstream, the server holding the bucket.
    #[arg(long, env = "ADUAN_NATS", value_parser = super::args::nats_url)]
    nats: Option<String>,
}

/// Runs `aduan token …`.
pub fn token(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let TokenCmd::Issue(a) = args.cmd;
    let role = match (a.role, a.org) {
        (RoleKind::Opd, Some(org)) => Role::Opd {
            org,
            name: non_blank(a.name, auth::UNNAMED_OPERATOR)?,
        },
        (RoleKind::OpdHead, Some(org)) => Role::OpdHead {
            org,
            name: non_blank(a.name, "head")?,
        },
        (RoleKind::Opd | RoleKind::OpdHead, None) => anyhow::bail!("this role needs --org"),
        (RoleKind::Admin, _) => Role::Admin {
            name: non_blank(a.name, "admin")?,
        },
        (RoleKind::Auditor, _) => Role::Auditor {
            name: non_blank(a.name, "auditor")?,
        },
    };
    a.log.check(a.nats.as_deref())?;
    let (token, place) = match (a.log.backend, a.nats.as_deref()) {
        (Backend::JetStream, Some(url)) => (issue_into_bucket(url, &a.log, &role)?, bucket(url)),
        _ => {
            let path = super::layout::Layout::new(&a.data).tokens();
            let token = auth::issue(&path, &role).context("issuing the token")?;
            (token, path.display().to_string())
        }
    };
    eprintln!(
        "issued token (role {}) into {place}; it is shown once:",
        role.kind()
    );
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

fn bucket(url: &str) -> String {
    format!(
        "the KV bucket {} at {}",
        aduan_secrets::TOKENS_BUCKET,
        super::process::redacted(url)
    )
}

/// Issues the token into the shared bucket.
fn issue_into_bucket(url: &str, log: &LogArgs, role: &Role) -> anyhow::Result<String> {
    super::process::runtime()?.block_on(async {
        let edge = super::process::edge(Some(url), "aduan")
            .await?
            .context("a NATS connection")?;
        let buckets = aduan_secrets::Buckets::open(edge.client, log.log_replicas.count()).await?;
        buckets.issue(role).await.context("issuing the token")
    })
}

/// Every token acts under its name, so it may not be blank; without --name a
/// fallback is used.
fn non_blank(name: String, fallback: &str) -> anyhow::Result<String> {
    let name = name.trim();
    Ok(if name.is_empty() { fallback } else { name }.to_owned())
}
