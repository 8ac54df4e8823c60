//! Each lane's own copy of the complaints it handled lately, folded from the
//! events it is handed in log order: an event of a complaint it holds is
//! applied to the copy instead of reading the complaint's whole stream from
//! the log again. The copy is never ahead of the log (it only ever holds
//! what was read or handed to the lane), and a change decided from it is
//! appended expecting its version, so a copy the stream has moved past
//! loses that race and the next attempt reads the stream.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};

use aduan_complaints::Loaded;
use aduan_domain::{ComplaintEvent, ComplaintId};
use aduan_log::RecordedEvent;

/// Complaints a lane holds, the oldest forgotten first past a bound.
pub(crate) struct Folded {
    held: HashMap<ComplaintId, Loaded>,
    /// Ids in the order they were first held, oldest first.
    order: VecDeque<ComplaintId>,
    capacity: usize,
}

impl Folded {
    /// Holding at most `capacity` complaints.
    pub fn new(capacity: usize) -> Self {
        Self {
            held: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Whether complaint `id` is held through event `e` (decoded as
    /// `event`): `e` is applied when it is the next event of the copy, and
    /// the copy is forgotten when events before `e` are missing from it.
    pub fn advance(&mut self, id: &ComplaintId, e: &RecordedEvent, event: &ComplaintEvent) -> bool {
        let Some(loaded) = self.held.get_mut(id) else {
            return false;
        };
        let version = loaded.complaint.version;
        if version + 1 == e.stream_version {
            loaded.push(e.clone(), event.clone());
        } else if version < e.stream_version {
            self.held.remove(id);
            return false;
        }
        true
    }

    /// Complaint `id`, when held.
    pub fn get(&self, id: &ComplaintId) -> Option<&Loaded> {
        self.held.get(id)
    }

    /// Holds `loaded` (read from the log, or started from its first event)
    /// as complaint `id`.
    pub fn hold(&mut self, id: ComplaintId, loaded: Loaded) -> &Loaded {
        if !self.held.contains_key(&id) {
            self.order.push_back(id);
            // A forgotten id may still be in `order`: the bound is on both.
            while self.order.len() > self.capacity {
                if let Some(oldest) = self.order.pop_front() {
                    self.held.remove(&oldest);
                }
            }
        }
        match self.held.entry(id) {
            Entry::Occupied(mut held) => {
                held.insert(loaded);
                held.into_mut()
            }
            Entry::Vacant(free) => free.insert(loaded),
        }
    }

    /// How many complaints are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use aduan_complaints::Loaded;
    use aduan_domain::{Complaint, ComplaintEvent, ComplaintId};
    use aduan_log::RecordedEvent;
    use aduan_proto::v1;

    use super::Folded;

    /// Event `version` of complaint `id`'s stream: its `Received` first, then
    /// routings to `org-<version>`.
    fn event(id: &ComplaintId, version: u64) -> (RecordedEvent, ComplaintEvent) {
        let event: ComplaintEvent = if version == 1 {
            v1::ComplaintReceived {
                complaint_id: id.to_string(),
                tracking_no: "ABCDE23456".into(),
                channel: "web".into(),
                kind: "complaint".into(),
                body: "Jalan rusak".into(),
                received_at_ms: 1,
                ..Default::default()
            }
            .into()
        } else {
            v1::ComplaintRouted {
                org: format!("org-{version}"),
                hop: u32::try_from(version - 1).expect("small"),
                ..Default::default()
            }
            .into()
        };
        let record = RecordedEvent {
            event_id: uuid::Uuid::now_v7(),
            stream_id: id.stream(),
            stream_version: version,
            position: version,
            recorded_at_ms: 1,
            event_type: event.type_name().to_owned(),
            schema_version: 1,
            actor: "test".into(),
            correlation_id: uuid::Uuid::now_v7(),
            causation_id: None,
            payload: event.encode(),
            prev_hash: [0; 32],
            hash: [0; 32],
        };
        (record, event)
    }

    /// Complaint `id` as a read of its first `n` events loads it.
    fn read(id: &ComplaintId, n: u64) -> Loaded {
        let (records, events): (Vec<_>, Vec<_>) = (1..=n).map(|v| event(id, v)).unzip();
        Loaded {
            complaint: Complaint::fold(&events).expect("a complaint"),
            events,
            records,
        }
    }

    #[test]
    fn a_held_complaint_takes_its_next_event_as_a_read_would_and_forgets_a_gap() {
        let id = ComplaintId::new();
        let mut folded = Folded::new(8);
        let (e2, routed) = event(&id, 2);
        assert!(!folded.advance(&id, &e2, &routed), "nothing held yet");
        folded.hold(id, read(&id, 1));
        assert!(folded.advance(&id, &e2, &routed));
        let held = folded.get(&id).expect("held");
        let fresh = read(&id, 2);
        assert_eq!(held.complaint, fresh.complaint);
        assert_eq!(held.events, fresh.events);
        assert_eq!(held.records.last(), Some(&e2));
        // The same event again (held through it already) changes nothing.
        assert!(folded.advance(&id, &e2, &routed));
        assert_eq!(folded.get(&id).expect("held").complaint.version, 2);
        // Event 4 with event 3 never seen: the copy is forgotten.
        let (e4, routed4) = event(&id, 4);
        assert!(!folded.advance(&id, &e4, &routed4));
        assert!(folded.get(&id).is_none());
    }

    #[test]
    fn past_its_bound_the_complaint_held_first_is_forgotten() {
        let ids: Vec<ComplaintId> = (0..3).map(|_| ComplaintId::new()).collect();
        let mut folded = Folded::new(2);
        for id in &ids {
            folded.hold(*id, read(id, 1));
        }
        assert_eq!(folded.len(), 2);
        assert!(folded.get(&ids[0]).is_none());
        assert!(folded.get(&ids[1]).is_some() && folded.get(&ids[2]).is_some());
        // Held again, a complaint is not counted twice.
        folded.hold(ids[2], read(&ids[2], 2));
        assert_eq!(folded.len(), 2);
        assert_eq!(folded.get(&ids[2]).expect("held").complaint.version, 2);
    }
}
