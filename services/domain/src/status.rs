//! The words a complaint's state is described in: its status as a citizen sees
//! it, the reporter's privacy, and the kinds of deadline an owner can miss.
//! Each travels as its contract word (CONTRACT.md), never as a number.

contract_enum! {
    /// Where a complaint stands, as a citizen sees it.
    Status {
        /// Entered through a channel, not yet handed to an owner.
        Received = "received",
        /// Handed to an owner (`didisposisikan`), not yet answered.
        Routed = "routed",
        /// The owner is working on it (`ditindaklanjuti`).
        InProgress = "in_progress",
        /// The owner gave its answer (`selesai`).
        Resolved = "resolved",
        /// Finished for good.
        Closed = "closed",
        /// Not handled: spam, a duplicate, or not a complaint.
        Rejected = "rejected",
        /// The reporter disputed the answer; on its way back to the owner.
        Reopened = "reopened",
    }
}

impl Status {
    /// True while someone still owes the reporter an answer.
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            Self::Received | Self::Routed | Self::InProgress | Self::Reopened
        )
    }
}

contract_enum! {
    /// How much of the reporter's identity may be shown.
    Privacy {
        /// Shown to the owner OPD.
        Public = "public",
        /// Stored, but hidden from OPDs and the public (`rahasia`).
        Confidential = "confidential",
        /// No identity stored at all.
        Anonymous = "anonymous",
    }
}

impl Privacy {
    /// The privacy of a `ComplaintReceived`: no reporter is anonymous, and an
    /// empty or unknown word is confidential, as the contract's default says
    /// (only a reporter who chose `public` is shown to the OPD).
    pub fn of(reporter: Option<&aduan_proto::v1::Reporter>) -> Self {
        match reporter {
            None => Self::Anonymous,
            Some(r) => Self::parse(&r.privacy).unwrap_or(Self::Confidential),
        }
    }
}

contract_enum! {
    /// The service-level deadlines an owner is held to.
    DeadlineKind {
        /// Confirm it has the complaint.
        Acknowledge = "acknowledge",
        /// Post the first follow-up (`tindak lanjut`).
        FollowUp = "follow_up",
        /// Resolve it.
        Resolve = "resolve",
    }
}

contract_enum! {
    /// What a draft answer publishes once approved (`AnswerDrafted.kind`).
    DraftKind {
        /// The resolution (`ComplaintResolved`).
        Resolution = "resolution",
        /// A public follow-up (`FollowUpPosted`).
        FollowUp = "follow_up",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        for k in DeadlineKind::ALL {
            assert_eq!(DeadlineKind::parse(&k.to_string()), Some(*k));
        }
        assert_eq!(Status::InProgress.as_str(), "in_progress");
        assert_eq!(Status::parse("selesai"), None);
    }

    #[test]
    fn privacy_defaults() {
        use aduan_proto::v1::Reporter;
        assert_eq!(Privacy::of(None), Privacy::Anonymous);
        assert_eq!(
            Privacy::of(Some(&Reporter::default())),
            Privacy::Confidential
        );
        let r = Reporter {
            privacy: "confidential".into(),
            ..Reporter::default()
        };
        assert_eq!(Privacy::of(Some(&r)), Privacy::Confidential);
    }
}
