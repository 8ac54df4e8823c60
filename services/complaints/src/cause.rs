//! Why a change is made, as the envelope records it: the one place where
//! correlation and causation ids are chosen for every event a service appends
//! to a complaint.

use aduan_log::RecordedEvent;
use uuid::Uuid;

/// What caused a change to a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// An event in the log (a complaint received, declined, reopened): the
    /// new events continue its conversation and name it as their cause.
    Event {
        /// The causing event's correlation id.
        correlation_id: Uuid,
        /// The causing event's id.
        event_id: Uuid,
    },
    /// A person's request (an OPD's, a reporter's, an admin's): a fresh
    /// conversation, caused by no event.
    Request {
        /// The new conversation's id, the same on every retry of the request.
        correlation_id: Uuid,
    },
    /// A timer on the complaint's state (a passed deadline): the new events
    /// continue the conversation of the complaint's last event, read at the
    /// attempt that appends them.
    Timer,
}

impl Cause {
    /// Caused by `e`.
    pub fn event(e: &RecordedEvent) -> Self {
        Self::Event {
            correlation_id: e.correlation_id,
            event_id: e.event_id,
        }
    }

    /// A person's request: a fresh correlation id.
    pub fn request() -> Self {
        Self::Request {
            correlation_id: Uuid::now_v7(),
        }
    }

    /// The (correlation, causation) ids of events appended after `last`, the
    /// complaint's last event at the time.
    pub(crate) fn ids(&self, last: Option<&RecordedEvent>) -> (Option<Uuid>, Option<Uuid>) {
        match *self {
            Self::Event {
                correlation_id,
                event_id,
            } => (Some(correlation_id), Some(event_id)),
            Self::Request { correlation_id } => (Some(correlation_id), None),
            Self::Timer => match last {
                Some(e) => (Some(e.correlation_id), Some(e.event_id)),
                None => (None, None),
            },
        }
    }
}
