//! An admin's actions: reject, re-route by hand, return a resolution as
//! insufficient. The same `AdminCommand` arrives as JSON over HTTP and as
//! protobuf or JSON on `aduan.admin.<org>.cmd`; it is parsed here once.

use aduan_complaints::{sla, At};
use aduan_domain::{Command, Complaint, ComplaintId, OrgCode, RejectReason, RouteReason};
use aduan_log::EventLog;
use aduan_proto::v1;
use aduan_proto::v1::admin_command::Action;
use aduan_rules::RuleSet;
use time::OffsetDateTime;

use crate::{checked_actor, CommandError, Commands};

/// What an admin does to a complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAction {
    /// Not handled as a complaint: spam, a duplicate (of `duplicate_of`) or not a complaint.
    Reject {
        /// Why, as a contract word.
        reason_code: RejectReason,
        /// For the reporter to read.
        reason: String,
        /// With a duplicate: the original.
        duplicate_of: Option<ComplaintId>,
    },
    /// Hand it by hand to `org`, with fresh deadlines.
    Reroute {
        /// The new owner.
        org: OrgCode,
        /// Why (recorded in the log as the reason of the admin's action; the
        /// routing event itself says "manual").
        reason: String,
    },
    /// The resolution is insufficient: back to the org that resolved it,
    /// with a fresh follow-up deadline (the rule set's `sla.follow_up`
    /// working days from now).
    ReturnResolution {
        /// Why, shown to the reporter.
        reason: String,
    },
}

impl AdminAction {
    /// The action of an `AdminCommand`, its ids and words parsed.
    pub fn from_proto(action: Option<Action>) -> Result<Self, CommandError> {
        Ok(match action {
            None => return Err(CommandError::invalid("action", "is missing")),
            Some(Action::Reject(r)) => {
                let duplicate_of = match r.duplicate_of.trim() {
                    "" => None,
                    d => Some(ComplaintId::parse(d).map_err(|_| {
                        CommandError::invalid("duplicate_of", "is not a complaint id")
                    })?),
                };
                let reason_code = match (r.reason_code.trim(), &duplicate_of) {
                    ("", Some(_)) => RejectReason::Duplicate,
                    (code, _) => RejectReason::parse(code).ok_or_else(|| {
                        CommandError::invalid(
                            "reason_code",
                            "must be spam, duplicate or not_a_complaint",
                        )
                    })?,
                };
                Self::Reject {
                    reason_code,
                    reason: r.reason,
                    duplicate_of,
                }
            }
            Some(Action::Reroute(r)) => Self::Reroute {
                org: OrgCode::parse(r.org.trim())
                    .map_err(|_| CommandError::invalid("org", "is not an organisation code"))?,
                reason: r.reason,
            },
            Some(Action::ReturnResolution(r)) => Self::ReturnResolution { reason: r.reason },
        })
    }
}

impl<L: EventLog + Clone> Commands<L> {
    /// An admin's action, recorded with `admin:<name>` as the actor.
    pub async fn admin(
        &self,
        id: &ComplaintId,
        name: &str,
        action: AdminAction,
    ) -> Result<v1::CommandAck, CommandError> {
        let name = checked_actor(name)?;
        let rules = self.store().rules_in_force(At::Latest).await?;
        if let AdminAction::Reroute { org, reason } = &action {
            if rules.as_ref().is_none_or(|r| r.org(org).is_none()) {
                return Err(CommandError::invalid(
                    "org",
                    "is not an organisation of the rule set",
                ));
            }
            if reason.trim().is_empty() {
                return Err(CommandError::invalid("reason", "must not be blank"));
            }
        }
        let actor = format!("admin:{name}");
        let rules = rules.as_deref();
        self.execute(id, &actor, move |c, now| {
            Ok(admin_command(rules, c, now, &action))
        })
        .await
    }
}

/// The domain command of an admin's action on `c` at `now`, under `rules`.
fn admin_command(
    rules: Option<&RuleSet>,
    c: &Complaint,
    now: OffsetDateTime,
    action: &AdminAction,
) -> Command {
    match action.clone() {
        AdminAction::Reject {
            reason_code,
            reason,
            duplicate_of,
        } => Command::AdminReject {
            reason_code,
            reason,
            duplicate_of,
        },
        AdminAction::Reroute { org, reason } => Command::Route {
            org,
            rule_id: String::new(),
            ruleset_version: rules.map(|r| r.version().to_owned()).unwrap_or_default(),
            reason: RouteReason::Manual,
            due: sla::deadlines(rules, now),
            category: c.category.clone(),
            reason_text: reason.trim().to_owned(),
            // An admin's choice overrides "each org at most once": the
            // admin may send it back to an org that already had it.
            triage: true,
        },
        AdminAction::ReturnResolution { reason } => Command::ReturnResolution {
            reason,
            calendar: sla::calendar(rules),
            follow_up_days: sla::sla(rules).follow_up,
        },
    }
}
