//! OPD commands on NATS: `aduan.opd.<org>.cmd`, request-reply, served in the
//! queue group `aduan-commands`. The `<org>` token of the subject is the
//! acting organisation (NATS permissions decide who may publish on it), so a
//! worker cannot act for an org by naming it in the payload.

use aduan_bus::{Format, Request, Subjects};
use aduan_domain::OrgCode;
use aduan_log::EventLog;
use aduan_proto::v1;
use bytes::Bytes;

use crate::{CommandError, Commands};

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
    let org = subjects
        .org_of(&req.subject)
        .and_then(|o| OrgCode::parse(o).ok())
        .ok_or_else(|| CommandError::invalid("org", "the subject names no organisation"))?;
    if req.payload.len() > MAX_REQUEST_BYTES {
        return Err(CommandError::TooLarge {
            size: req.payload.len(),
            max: MAX_REQUEST_BYTES,
        });
    }
    let cmd: v1::OpdCommand = format
        .decode(&req.payload)
        .map_err(|e| CommandError::Malformed(e.to_string()))?;
    commands.opd(&org, cmd).await
}

/// Serves OPD commands on `aduan.opd.*.cmd` until `shutdown` fires, then drains.
pub async fn serve<L: EventLog + Clone>(
    commands: Commands<L>,
    client: async_nats::Client,
    subjects: Subjects,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    let subject = subjects.all_cmds();
    aduan_bus::serve(
        client,
        subject,
        QUEUE_GROUP.into(),
        256,
        shutdown,
        move |req| {
            let (commands, subjects) = (commands.clone(), subjects.clone());
            async move { handle(&commands, &subjects, req).await }
        },
    )
    .await
}

/// Runs the OPD command handler on `edge` until `shutdown`.
pub async fn run<L: EventLog + Clone>(
    commands: Commands<L>,
    edge: aduan_bus::Edge,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    serve(commands, edge.client, edge.subjects, shutdown).await
}
