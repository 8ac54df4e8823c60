//! `aduan rules check|explain|publish`: jurisdiction rule sets from the
//! command line. Exit 0 on success, 1 when the file has problems or the
//! publication failed, 2 on bad usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use aduan_domain::{Channel, RegionCode};
use aduan_geo::Boundaries;
use aduan_log::LogError;
use aduan_log_sled::{SledLog, SledOptions};
use aduan_rules::{Facts, Kind, LoadError, RuleSet};
use anyhow::Context;
use clap::{Args, Subcommand};

use super::args;

/// The sample rule set, built in so `aduan serve` runs from anywhere.
pub const SAMPLE_RULES: &str = include_str!("../../../../deploy/rules/sample.toml");

/// The sample's boundary file (approximate boxes), built in beside it.
pub const SAMPLE_BOUNDARIES: &str =
    include_str!("../../../../deploy/rules/sample-boundaries.geojson");

/// The region boundaries of the rule set in force, for Open311 points: the
/// file its `[geo] boundaries` names, next to the rule file given with
/// `--rules`; the built-in sample's when the built-in sample is in force;
/// otherwise none (a warning: points then map to no region, so to triage).
pub fn boundaries(
    rule_file: Option<&Path>,
    in_force: &RuleSet,
) -> anyhow::Result<Option<Arc<Boundaries>>> {
    let Some(name) = in_force.boundaries() else {
        return Ok(None);
    };
    if let Some(file) = rule_file {
        let path = file.parent().unwrap_or(Path::new(".")).join(name);
        let b = Boundaries::load(&path)
            .with_context(|| format!("{}: [geo] boundaries {}", file.display(), path.display()))?;
        return Ok(Some(Arc::new(b)));
    }
    let sample = RuleSet::load(SAMPLE_RULES).context("the built-in sample rule set")?;
    if sample.version() == in_force.version() && sample.boundaries() == Some(name) {
        let b = Boundaries::parse(SAMPLE_BOUNDARIES).context("the built-in sample boundaries")?;
        return Ok(Some(Arc::new(b)));
    }
    tracing::warn!(
        boundaries = name,
        "the rule set in force names a boundary file, but no --rules file says where it is: Open311 points map to no region"
    );
    Ok(None)
}

/// Checks the boundary file a rule file names; prints the problem and
/// returns false when it is missing or unusable.
fn check_boundaries(file: &Path, rules: &RuleSet) -> bool {
    let Some(name) = rules.boundaries() else {
        return true;
    };
    let path = file.parent().unwrap_or(Path::new(".")).join(name);
    match Boundaries::load(&path) {
        Ok(b) => {
            println!("{}: {} regions", path.display(), b.len());
            true
        }
        Err(e) => {
            eprintln!("{}: [geo] boundaries: {e}", file.display());
            eprintln!("{}: 1 problem(s)", file.display());
            false
        }
    }
}

/// Puts a rule set in force before a service starts: the file at `path`
/// unless it is already the latest publication; without a file, the rule set
/// in force in the log stays, and the built-in sample is published only into
/// a log that holds none.
pub async fn put_in_force<L: aduan_log::EventLog>(
    log: &L,
    path: Option<&Path>,
) -> anyhow::Result<()> {
    let source = match path {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read rule set {}", p.display()))?,
        None => match aduan_complaints::latest_published(log)
            .await
            .context("reading the rule set in force")?
        {
            (_, Some(latest)) => {
                tracing::info!(version = latest.version, "keeping the rule set in force");
                return Ok(());
            }
            (_, None) => SAMPLE_RULES.to_owned(),
        },
    };
    if let Some(a) = aduan_complaints::publish_ruleset(log, &source)
        .await
        .context("publishing the rule set")?
    {
        tracing::info!(position = a.last_position, "rule set published");
    }
    Ok(())
}

/// Flags of `aduan rules`.
#[derive(Debug, Clone, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    cmd: RulesCmd,
}

#[derive(Debug, Clone, Subcommand)]
enum RulesCmd {
    /// Validate a rule set; print each problem with its line (exit 1 on problems).
    Check {
        /// The rule set (TOML).
        #[arg(value_parser = args::existing_file)]
        file: PathBuf,
    },
    /// Show which rule routes a complaint and why, with the runners-up.
    Explain {
        /// The rule set (TOML).
        #[arg(value_parser = args::existing_file)]
        file: PathBuf,
        /// Region code (Kemendagri), e.g. 33.18.
        #[arg(long, value_parser = args::region)]
        region: Option<RegionCode>,
        /// Category; without it one is derived from the text.
        #[arg(long)]
        category: Option<String>,
        /// Title and body of the complaint.
        #[arg(long, default_value = "")]
        text: String,
        /// complaint, aspiration or information_request.
        #[arg(long, default_value = "complaint", value_parser = args::kind)]
        kind: Kind,
        /// The channel it came through.
        #[arg(long, default_value = "web", value_parser = args::channel)]
        channel: Channel,
    },
    /// Append the rule set to the log; it routes complaints received after it.
    Publish {
        /// The rule set (TOML).
        #[arg(value_parser = args::existing_file)]
        file: PathBuf,
        /// Data directory of the log.
        #[arg(long, env = "ADUAN_DATA", default_value = "./data")]
        data: PathBuf,
    },
}

/// Runs `aduan rules …`.
pub fn rules(args: RulesArgs) -> anyhow::Result<ExitCode> {
    match args.cmd {
        RulesCmd::Check { file } => Ok(check(&file)),
        RulesCmd::Explain {
            file,
            region,
            category,
            text,
            kind,
            channel,
        } => {
            let facts = Facts {
                region,
                category: category.filter(|c| !c.is_empty()),
                title: String::new(),
                body: text,
                kind,
                channel,
            };
            let Some(rules) = load(&file) else {
                return Ok(ExitCode::from(1));
            };
            print!("{}", rules.explain(&facts));
            Ok(ExitCode::SUCCESS)
        }
        RulesCmd::Publish { file, data } => publish(&file, &data),
    }
}

fn check(file: &Path) -> ExitCode {
    match load(file) {
        Some(rules) if !check_boundaries(file, &rules) => ExitCode::from(1),
        Some(rules) => {
            println!(
                "{}: ok (version {}, {} orgs, {} categories, {} rules)",
                file.display(),
                rules.version(),
                rules.orgs().len(),
                rules.categories().len(),
                rules.rules().len()
            );
            ExitCode::SUCCESS
        }
        None => ExitCode::from(1),
    }
}

/// The rule set, or None after printing every problem as `FILE:LINE: message`.
pub(super) fn load(file: &Path) -> Option<RuleSet> {
    match RuleSet::load_file(file) {
        Ok(r) => Some(r),
        Err(LoadError { problems }) => {
            for p in &problems {
                match p.line {
                    Some(line) => eprintln!("{}:{line}: {}", file.display(), p.message),
                    None => eprintln!("{}: {}", file.display(), p.message),
                }
            }
            eprintln!("{}: {} problem(s)", file.display(), problems.len());
            None
        }
    }
}

fn publish(file: &Path, data: &Path) -> anyhow::Result<ExitCode> {
    let source =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    if load(file).is_none() {
        return Ok(ExitCode::from(1));
    }
    let log = SledLog::open(SledOptions::new(super::layout::Layout::new(data).log())).map_err(|e| match e {
        LogError::Locked { .. } => anyhow::anyhow!(
            "the log in {} is in use by a running aduan (serve or router); stop it, or restart it with --rules {}",
            data.display(),
            file.display()
        ),
        e => anyhow::Error::new(e).context(format!("cannot open the log in {}", data.display())),
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let result = rt.block_on(aduan_complaints::publish_ruleset(&log, &source));
    log.close();
    match result.context("publishing the rule set")? {
        Some(a) => println!(
            "published {} at position {}",
            file.display(),
            a.last_position
        ),
        None => println!("{} is already the rule set in force", file.display()),
    }
    Ok(ExitCode::SUCCESS)
}
