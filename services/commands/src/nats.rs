//! OPD commands on NATS: `aduan.opd.<org>.cmd`, and admin commands on
//! `aduan.admin.<org>.cmd`, request-reply, served in the queue group
//! `aduan-commands`. The `<org>` token of the subject is the acting
//! organisation (NATS permissions decide who may publish on it), so a worker
//! cannot act for an org by naming it in the payload.
//!
//! NATS authorization is per subject, not per person: whoever may publish on
//! `aduan.opd.<org>.cmd` speaks for that org. Its `approve_answer` and
//! `return_answer` are taken as the head's (they mean nothing from anyone
//! else), its other actions as an operator's, so a reviewed org's resolution
//! sent there is a draft. Give the publish permission of an org under review
//! only to the worker its head controls. An admin subject's `<org>` must be
//! a region's admin org (or `nasional`) of the rule set in force.

use aduan_bus::{Format, Request, Subjects};
use aduan_complaints::At;
use aduan_domain::{ComplaintId, OrgCode, OrgRole, Rejection};
use aduan_log::EventLog;
use aduan_proto::v1;
use aduan_proto::v1::opd_command::Action;
use bytes::Bytes;

use crate::{AdminAction, CommandError, Commands};

/// The queue group command handlers share.
pub const QUEUE_GROUP: &str = "aduan-commands";
/// Largest request accepted, in bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Answers one request: a `CommandReply` in the request's format, sent only
/// after the events it reports are durable.
pub async fn handle<L: EventLog + Clone>(
    commands: &Commands<L>,
    subjects: &Subjects,
    req: Request,
) -> (Format, Bytes) {
    let format = req.format();
    let result = command(commands, subjects, format, &req).await;
    let reply = v1::CommandReply {
        result: Some(match result {
            Ok(ack) => v1::command_reply::Result::Ack(ack),
            Err(e) => {
                tracing::debug!(subject = %req.subject, error = %e, "command refused");
                v1::command_reply::Result::Error(e.to_proto())
            }
        }),
    };
    (format, format.encode(&reply))
}

async fn command<L: EventLog + Clone>(
    commands: &Commands<L>,
    subjects: &Subjects,
    format: Format,
    req: &Request,
) -> Result<v1::CommandAck, CommandError> {
    if req.payload.len() > MAX_REQUEST_BYTES {
        return Err(CommandError::TooLarge {
            size: req.payload.len(),
            max: MAX_REQUEST_BYTES,
        });
    }
    let decode_error = |e: aduan_bus::DecodeError| CommandError::Malformed(e.to_string());
    if let Some(org) = subjects.admin_org_of(&req.subject) {
        let org = subject_org(Some(org))?;
        let cmd: v1::AdminCommand = format.decode(&req.payload).map_err(decode_error)?;
        return admin(commands, &org, cmd).await;
    }
    let org = subject_org(subjects.org_of(&req.subject))?;
    let cmd: v1::OpdCommand = format.decode(&req.payload).map_err(decode_error)?;
    let role = match cmd.action {
        Some(Action::ApproveAnswer(_) | Action::ReturnAnswer(_)) => OrgRole::Head,
        _ => OrgRole::Operator,
    };
    commands.opd_as(&org, role, cmd).await
}

fn subject_org(token: Option<&str>) -> Result<OrgCode, CommandError> {
    token
        .and_then(|o| OrgCode::parse(o).ok())
        .ok_or_else(|| CommandError::invalid("org", "the subject names no organisation"))
}

/// An admin command of `org`'s admins, recorded as `admin:<org>:<actor>`.
async fn admin<L: EventLog + Clone>(
    commands: &Commands<L>,
    org: &OrgCode,
    cmd: v1::AdminCommand,
) -> Result<v1::CommandAck, CommandError> {
    let rules = commands.store().rules_in_force(At::Latest).await?;
    let is_admin = org.as_str() == OrgCode::NATIONAL
        || rules.is_some_and(|r| r.org(org).is_some_and(|o| o.admin));
    if !is_admin {
        return Err(Rejection::Forbidden("the subject names no admin organisation").into());
    }
    let id = ComplaintId::parse(cmd.complaint_id.trim())
        .map_err(|_| CommandError::invalid("complaint_id", "is not a complaint id"))?;
    let actor = crate::checked_actor(&cmd.actor)?;
    let action = AdminAction::from_proto(cmd.action)?;
    commands.admin(&id, &format!("{org}:{actor}"), action).await
}

/// Serves OPD commands on `aduan.opd.*.cmd` and admin commands on
/// `aduan.admin.*.cmd` until `shutdown` fires, then drains both.
pub async fn serve<L: EventLog + Clone>(
    commands: Commands<L>,
    client: async_nats::Client,
    subjects: Subjects,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    let serve_on = |subject: String| {
        let (commands, subjects, shutdown) = (commands.clone(), subjects.clone(), shutdown.clone());
        aduan_bus::serve(
            client.clone(),
            subject,
            QUEUE_GROUP.into(),
            256,
            shutdown,
            move |req| {
                let (commands, subjects) = (commands.clone(), subjects.clone());
                async move { handle(&commands, &subjects, req).await }
            },
        )
    };
    let opd = serve_on(subjects.all_cmds());
    let admin = serve_on(subjects.all_admin_cmds());
    tokio::try_join!(opd, admin).map(|_| ())
}

/// Runs the OPD command handler on `edge` until `shutdown`.
pub async fn run<L: EventLog + Clone>(
    commands: Commands<L>,
    edge: aduan_bus::Edge,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    serve(commands, edge.client, edge.subjects, shutdown).await
}
