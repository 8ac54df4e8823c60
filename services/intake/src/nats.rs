//! Intake on NATS: `aduan.intake.submit`, request-reply, served in the queue
//! group `aduan-intake` so several intake processes share the load.

use aduan_bus::{Format, Request, Subjects};
use aduan_log::EventLog;
use aduan_proto::v1;
use bytes::Bytes;

use crate::{Intake, IntakeError, MAX_REQUEST_BYTES};

/// The queue group intake processes share.
pub const QUEUE_GROUP: &str = "aduan-intake";

/// Answers one request: a `SubmitReply` in the request's format.
pub async fn handle<L: EventLog + Clone>(intake: &Intake<L>, req: Request) -> (Format, Bytes) {
    let format = req.format();
    let result = submit(intake, format, &req.payload).await;
    let reply = v1::SubmitReply {
        result: Some(match result {
            Ok(ack) => v1::submit_reply::Result::Ack(ack),
            Err(e) => v1::submit_reply::Result::Error(e.to_proto()),
        }),
    };
    (format, format.encode(&reply))
}

async fn submit<L: EventLog + Clone>(
    intake: &Intake<L>,
    format: Format,
    payload: &[u8],
) -> Result<v1::SubmitAck, IntakeError> {
    if payload.len() > MAX_REQUEST_BYTES {
        return Err(IntakeError::TooLarge {
            size: payload.len(),
            max: MAX_REQUEST_BYTES,
        });
    }
    let req: v1::SubmitComplaint = format
        .decode(payload)
        .map_err(|e| IntakeError::Malformed(e.to_string()))?;
    intake.submit(req).await
}

/// Serves intake on NATS until `shutdown` fires, then drains.
pub async fn serve<L: EventLog + Clone>(
    intake: Intake<L>,
    client: async_nats::Client,
    subjects: &Subjects,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    aduan_bus::serve(
        client,
        subjects.intake_submit(),
        QUEUE_GROUP.into(),
        1024,
        shutdown,
        move |req| {
            let intake = intake.clone();
            async move { handle(&intake, req).await }
        },
    )
    .await
}

/// Runs intake until `shutdown`: the indexer, and with `nats` the
/// `aduan.intake.submit` responder. Submissions over HTTP go to the same
/// `intake` handle, which the caller keeps.
pub async fn run<L: EventLog + Clone>(
    intake: Intake<L>,
    nats: Option<aduan_bus::Edge>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    let indexer = {
        let (intake, shutdown) = (intake.clone(), shutdown.clone());
        async move { intake.run_indexer(shutdown).await }
    };
    let responder = async move {
        match nats {
            Some(edge) => serve(intake, edge.client, &edge.subjects, shutdown).await,
            None => Ok(()),
        }
    };
    let ((), served) = tokio::join!(indexer, responder);
    served
}
