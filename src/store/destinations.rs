//! Destination pauses, kept in the database so that every instance on it sees the same: the run
//! of failures in a row, the automatic pause it leads to (and its one probe), and an operator's
//! pause with who made it and when. A destination with no row sends normally.
//!
//! Both backends load the rows an outcome touches, apply `note` (one rule for both), and write
//! back what changed, in the transaction that records the attempts: the count of failures moves
//! with the attempts it counts, and several instances counting at once add up (SQLite has one
//! writer; PostgreSQL locks the rows `FOR UPDATE`, and two first failures that race to insert the
//! same row run again, the loser then seeing the winner's row).

use jiff::{SignedDuration, Timestamp};

/// The operator's pause: until an operator resumes the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The token id or the signed-in person's subject.
    pub by: String,
    /// A signed-in person's display name.
    pub by_name: Option<String>,
    pub since: Timestamp,
}

/// A destination's stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationState {
    pub destination: String,
    pub failures_in_row: u32,
    /// Paused after failures until then; then one probe.
    pub paused_until: Option<Timestamp>,
    /// The length of the current automatic pause.
    pub pause_seconds: u64,
    /// A probe is out, taken by one worker until then.
    pub probe_until: Option<Timestamp>,
    pub hold: Option<Hold>,
}

impl DestinationState {
    pub fn new(destination: &str) -> DestinationState {
        DestinationState {
            destination: destination.to_owned(),
            failures_in_row: 0,
            paused_until: None,
            pause_seconds: 0,
            probe_until: None,
            hold: None,
        }
    }

    /// Whether nothing may be claimed for it but a probe.
    pub fn paused(&self) -> bool {
        self.hold.is_some() || self.paused_until.is_some()
    }

    /// Whether its cool-down has passed at `now` and no probe is out (or the one out has
    /// outlived its lease: its worker died).
    pub fn probe_due(&self, now: Timestamp) -> bool {
        self.hold.is_none()
            && self.paused_until.is_some_and(|until| until <= now)
            && self.probe_until.is_none_or(|lease| lease <= now)
    }
}

/// `delivery.pause_after_failures`, `pause_seconds` and `pause_max_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PausePolicy {
    pub after_failures: u32,
    pub first_seconds: u64,
    pub max_seconds: u64,
}

/// One attempt's outcome (a group's, once for the group) as it counts towards a pause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthNote {
    pub destination: String,
    /// A failure to be retried; a success or a permanent refusal counts as an answer.
    pub failed: bool,
    /// The attempt was the probe after a cool-down.
    pub probe: bool,
    pub at: Timestamp,
    pub policy: PausePolicy,
}

/// What an outcome changed, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PauseChange {
    /// Paused after failing (again, after a failed probe).
    Paused {
        destination: String,
        failures_in_row: u32,
        pause_seconds: u64,
    },
    /// An automatic pause ended: the destination answered.
    Ended { destination: String },
}

/// The state after an outcome: `None` when nothing is left to keep (the row goes).
pub fn note(state: Option<DestinationState>, n: &HealthNote) -> (Option<DestinationState>, Option<PauseChange>) {
    if !n.failed {
        return match state {
            None => (None, None),
            // An attempt under way when an operator paused the destination may succeed; the
            // operator's pause stands all the same.
            Some(s) if s.hold.is_some() => (
                Some(DestinationState {
                    hold: s.hold,
                    ..DestinationState::new(&s.destination)
                }),
                None,
            ),
            Some(s) => {
                let ended = s.paused_until.is_some().then(|| PauseChange::Ended {
                    destination: s.destination.clone(),
                });
                (None, ended)
            }
        };
    }
    let mut s = state.unwrap_or_else(|| DestinationState::new(&n.destination));
    s.failures_in_row = s.failures_in_row.saturating_add(1);
    let pause = if n.probe && s.paused_until.is_some() {
        s.probe_until = None;
        Some(
            s.pause_seconds
                .max(n.policy.first_seconds)
                .saturating_mul(2)
                .min(n.policy.max_seconds),
        )
    } else if s.paused_until.is_none() && s.failures_in_row >= n.policy.after_failures {
        Some(n.policy.first_seconds)
    } else {
        None
    };
    let change = pause.map(|seconds| {
        s.pause_seconds = seconds;
        let length = SignedDuration::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX));
        s.paused_until = Some(n.at.saturating_add(length).unwrap_or(n.at));
        PauseChange::Paused {
            destination: s.destination.clone(),
            failures_in_row: s.failures_in_row,
            pause_seconds: seconds,
        }
    });
    (Some(s), change)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: PausePolicy = PausePolicy {
        after_failures: 2,
        first_seconds: 30,
        max_seconds: 100,
    };

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn outcome(failed: bool, probe: bool, seconds: i64) -> HealthNote {
        HealthNote {
            destination: "case_system".to_owned(),
            failed,
            probe,
            at: at(seconds),
            policy: POLICY,
        }
    }

    #[test]
    fn failures_in_a_row_pause_and_a_failed_probe_doubles_the_pause_up_to_the_most() {
        let (s, change) = note(None, &outcome(true, false, 0));
        assert_eq!(change, None);
        let (s, change) = note(s, &outcome(true, false, 1));
        let s = s.unwrap();
        assert_eq!(s.paused_until, Some(at(31)));
        assert!(matches!(change, Some(PauseChange::Paused { pause_seconds: 30, .. })));
        // An attempt under way when the pause began fails too: counted, the pause unchanged.
        let (s, change) = note(Some(s), &outcome(true, false, 5));
        assert_eq!((s.as_ref().unwrap().paused_until, change), (Some(at(31)), None));
        let mut s = s.unwrap();
        assert!(!s.probe_due(at(30)) && s.probe_due(at(31)));
        s.probe_until = Some(at(331));
        assert!(!s.probe_due(at(40)), "one probe at a time");
        let (s, _) = note(Some(s), &outcome(true, true, 40));
        let s = s.unwrap();
        assert_eq!(
            (s.pause_seconds, s.paused_until, s.probe_until),
            (60, Some(at(100)), None)
        );
        let (s, _) = note(Some(s), &outcome(true, true, 100));
        assert_eq!(s.unwrap().pause_seconds, 100, "no longer than pause_max_seconds");
    }

    #[test]
    fn an_answer_ends_the_automatic_pause_but_not_the_operators() {
        let (s, _) = note(None, &outcome(true, false, 0));
        let (s, _) = note(s, &outcome(true, false, 0));
        let (gone, change) = note(s.clone(), &outcome(false, true, 40));
        assert_eq!(gone, None);
        assert!(matches!(change, Some(PauseChange::Ended { .. })));
        let mut held = s.unwrap();
        held.hold = Some(Hold {
            by: "tok_1".to_owned(),
            by_name: None,
            since: at(2),
        });
        let (kept, change) = note(Some(held.clone()), &outcome(false, false, 41));
        let kept = kept.unwrap();
        assert_eq!(change, None);
        assert_eq!(
            (kept.hold, kept.failures_in_row, kept.paused_until),
            (held.hold.clone(), 0, None)
        );
        assert!(!held.probe_due(at(1000)), "no probe while an operator holds it");
    }
}
