//! `aduan.query.status` on NATS: `StatusQuery {tracking_no}` → `StatusReply`
//! (protobuf), or with `Content-Type: application/json` JSON in and the bare
//! `StatusView` or `{"error": …}` out, served in queue group `aduan-query`.

use aduan_bus::{Format, Request, Subjects};
use aduan_domain::{SharedClock, TrackingNo};
use aduan_proto::v1;
use bytes::Bytes;

use crate::{ProjectionError, Projections};

/// The queue group query processes share.
pub const QUEUE_GROUP: &str = "aduan-query";

/// Answers one status query in the request's format.
pub fn handle(p: &Projections, clock: &SharedClock, req: &Request) -> (Format, Bytes) {
    let format = req.format();
    let result = format
        .decode::<v1::StatusQuery>(&req.payload)
        .map_err(|_| ProjectionError::InvalidArgument {
            field: "tracking_no",
            why: "request is not a StatusQuery",
        })
        .and_then(|q| lookup(p, clock, &q.tracking_no));
    let result = match result {
        Ok(view) => v1::status_reply::Result::View(view),
        Err(e) => v1::status_reply::Result::Error(e.to_proto()),
    };
    let bytes = match (format, result) {
        (Format::Json, v1::status_reply::Result::View(v)) => format.encode(&v),
        (Format::Json, v1::status_reply::Result::Error(e)) => {
            let body = serde_json::json!({ "error": e });
            Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
        }
        (_, result) => format.encode(&v1::StatusReply {
            result: Some(result),
        }),
    };
    (format, bytes)
}

fn lookup(
    p: &Projections,
    clock: &SharedClock,
    t: &str,
) -> Result<v1::StatusView, ProjectionError> {
    let t = TrackingNo::parse(t).map_err(|_| ProjectionError::NotFound("complaint"))?;
    p.status(&t, clock.now_ms())?
        .ok_or(ProjectionError::NotFound("complaint"))
}

/// Serves status queries until `shutdown` fires, then drains.
pub async fn serve(
    p: Projections,
    clock: SharedClock,
    client: async_nats::Client,
    subjects: &Subjects,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    aduan_bus::serve(
        client,
        subjects.query_status(),
        QUEUE_GROUP.into(),
        1024,
        shutdown,
        move |req| {
            let (p, clock) = (p.clone(), clock.clone());
            async move { handle(&p, &clock, &req) }
        },
    )
    .await
}
