//! The audit log: every look at personal data and every change a person or an operator makes
//! leaves one entry (who, from where, what, about which case or record, and how it went), never
//! a CPR number or a citizen's name. Entries are chained and sealed by the store
//! (`store::audit`); `verify` walks the chain and names every entry that was changed, removed
//! or added, and `indgang audit verify`/`export` and `GET /v1/audit` give the log out.
//!
//! A request whose entry cannot be written is refused (`503`/`500`): what was read without a
//! record was not read at all.

use crate::auth::Principal;
use crate::clock::Clock;
use crate::problem::{Problem, internal};
use crate::store::Store;
use crate::store::audit::{AuditFilter, AuditRecord, NewAuditEntry, head_mac, seal};
use jiff::Timestamp;
use std::sync::Arc;

/// What an entry records, by name (docs/security.md lists them).
pub mod action {
    pub const CASE_READ: &str = "case.read";
    /// The case page's CPR number and name shown in full (`case.read` shows them masked).
    pub const CASE_REVEAL: &str = "case.reveal";
    pub const CASE_SEARCH: &str = "case.search";
    pub const DEADLINE_ACKNOWLEDGE: &str = "deadline.acknowledge";
    pub const DEADLINE_RESOLVE: &str = "deadline.resolve";
    pub const DEADLINE_REOPEN: &str = "deadline.reopen";
    pub const DELIVERY_REPLAY: &str = "delivery.replay";
    pub const DESTINATION_PAUSE: &str = "destination.pause";
    pub const DESTINATION_RESUME: &str = "destination.resume";
    pub const TOKEN_CREATE: &str = "token.create";
    pub const TOKEN_REVOKE: &str = "token.revoke";
    pub const AUDIT_READ: &str = "audit.read";
    pub const AUDIT_EXPORT: &str = "audit.export";
    pub const SESSION_SIGN_IN: &str = "session.sign-in";
    pub const SESSION_SIGN_OUT: &str = "session.sign-out";
    pub const HOUSING_NEEDS_READ: &str = "housing-needs.read";
    pub const HOUSING_NEEDS_WRITE: &str = "housing-needs.write";
    pub const CANDIDATES_READ: &str = "candidates.read";
    /// The answer to the allocation office on a vacant home.
    pub const HOUSING_ANSWER: &str = "housing.answer";
}

/// How an action went.
pub mod outcome {
    pub const OK: &str = "ok";
    pub const NOT_FOUND: &str = "not-found";
    pub const CONFLICT: &str = "conflict";
    pub const REFUSED: &str = "refused";
}

/// Who acted, as the entry names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: &'static str,
    pub id: String,
    pub name: Option<String>,
    pub address: Option<String>,
}

impl Actor {
    /// The caller of a request: a token by its id, a signed-in person by their subject and
    /// display name.
    pub fn of(principal: &Principal, req: &actix_web::HttpRequest) -> Actor {
        if let Principal::Person { subject, name, .. } = principal {
            return Actor::person(subject, name.as_deref(), req);
        }
        let id = principal.credential_id();
        Actor {
            kind: if id.starts_with("crt_") { "certificate" } else { "token" },
            id: id.to_owned(),
            name: None,
            address: req.peer_addr().map(|a| a.ip().to_string()),
        }
    }

    /// A person signed in (or signing in) with OpenID Connect.
    pub fn person(subject: &str, name: Option<&str>, req: &actix_web::HttpRequest) -> Actor {
        Actor {
            kind: "person",
            id: subject.to_owned(),
            name: name.map(str::to_owned),
            address: req.peer_addr().map(|a| a.ip().to_string()),
        }
    }

    /// The person running a command on the gateway's host: their login name, as the
    /// operating system gives it.
    pub fn command_line() -> Actor {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".to_owned());
        Actor {
            kind: "cli",
            id: user,
            name: None,
            address: None,
        }
    }
}

/// What the entry is about, besides the action.
#[derive(Debug, Clone, Default)]
pub struct About {
    pub case_ref: Option<String>,
    pub receipt_id: Option<String>,
    pub target: Option<String>,
}

impl About {
    pub fn case(case_ref: impl Into<String>) -> About {
        About {
            case_ref: Some(case_ref.into()),
            ..About::default()
        }
    }

    pub fn target(target: impl Into<String>) -> About {
        About {
            target: Some(target.into()),
            ..About::default()
        }
    }
}

pub struct Auditor {
    store: Arc<dyn Store>,
    key: [u8; 32],
    clock: Clock,
}

impl Auditor {
    pub fn new(store: Arc<dyn Store>, key: [u8; 32], clock: Clock) -> Auditor {
        Auditor { store, key, clock }
    }

    /// Writes one entry, durably, before the caller answers.
    pub async fn record(&self, actor: &Actor, action: &str, about: About, outcome: &str) -> anyhow::Result<()> {
        let entry = NewAuditEntry {
            at: self.clock.now(),
            actor_kind: actor.kind.to_owned(),
            actor: actor.id.clone(),
            actor_name: actor.name.clone(),
            address: actor.address.clone(),
            action: action.to_owned(),
            case_ref: about.case_ref,
            receipt_id: about.receipt_id,
            target: about.target,
            outcome: outcome.to_owned(),
        };
        self.store.append_audit(vec![entry], self.key).await?;
        Ok(())
    }

    /// `record` for a request: a failure to write is the request's failure.
    pub async fn request(&self, actor: &Actor, action: &str, about: About, outcome: &str) -> Result<(), Problem> {
        self.record(actor, action, about, outcome).await.map_err(internal)
    }

    /// Records how a request that changes something went, by its answer (`ok`, `not-found`,
    /// `conflict`, or `refused` for another client error), and passes the answer on; a server
    /// error is not the caller's action and leaves no entry. When the entry cannot be written
    /// the answer is that failure instead.
    pub async fn answer<T>(
        &self,
        actor: &Actor,
        action: &str,
        about: About,
        answer: Result<T, Problem>,
    ) -> Result<T, Problem> {
        let outcome = match &answer {
            Ok(_) => outcome::OK,
            Err(problem) => match problem.status {
                404 => outcome::NOT_FOUND,
                409 => outcome::CONFLICT,
                400..=499 => outcome::REFUSED,
                _ => return answer,
            },
        };
        self.request(actor, action, about, outcome).await?;
        answer
    }

    /// Prunes at start and every hour after, until the task is dropped.
    pub async fn prune_hourly(self: Arc<Self>, retention: jiff::SignedDuration) {
        loop {
            match self.prune(retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(entries = n, "audit entries past audit.retention_days pruned"),
                Err(e) => tracing::error!(error = format!("{e:#}"), "cannot prune the audit log"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    }

    /// Checks the whole chain from its anchor.
    pub async fn verify(&self) -> anyhow::Result<Verification> {
        verify(self.store.as_ref(), &self.key).await
    }

    /// Removes the entries older than `retention`, leaving the chain verifiable from the new
    /// anchor.
    pub async fn prune(&self, retention: jiff::SignedDuration) -> anyhow::Result<usize> {
        let before = self.clock.now().checked_sub(retention).unwrap_or(Timestamp::MIN);
        self.store.prune_audit(before).await
    }
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    /// Entries checked.
    pub entries: u64,
    /// The first and last entry ids checked (0 when there were none).
    pub first: i64,
    pub last: i64,
    /// The id the chain starts after (the last pruned entry; 0 when never pruned).
    pub anchor: i64,
    /// One line per fault, naming the entry.
    pub faults: Vec<String>,
}

impl Verification {
    pub fn intact(&self) -> bool {
        self.faults.is_empty()
    }
}

/// Entries read per page while verifying.
const PAGE: usize = 1000;

/// Walks the chain in id order: every entry must carry the seal of the one before and a seal of
/// its own that matches its fields, the ids must follow one another from the anchor on, and the
/// stored head must name the last entry.
pub async fn verify(store: &dyn Store, key: &[u8; 32]) -> anyhow::Result<Verification> {
    let (anchor, head) = store.audit_ends().await?;
    let mut report = Verification {
        anchor: anchor.id,
        ..Verification::default()
    };
    let (mut expected, mut prev) = (anchor.id + 1, anchor.seal);
    // From the start: entries the anchor says were pruned must be gone.
    let mut after = 0;
    loop {
        let page = store
            .audit_entries(AuditFilter {
                after,
                limit: PAGE,
                ..AuditFilter::default()
            })
            .await?;
        for record in &page {
            check(record, key, anchor.id, &mut expected, &mut prev, &mut report);
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = last.id,
            _ => break,
        }
    }
    let last_id = expected - 1;
    match head {
        None if last_id > anchor.id => report
            .faults
            .push("the chain's head record is missing (it names the last entry)".to_owned()),
        None => {}
        Some(head) if head_mac(key, head.id, &head.seal) != head.mac => {
            report.faults.push("the chain's head record was changed".to_owned())
        }
        Some(head) if head.id > last_id => report.faults.push(if head.id == last_id + 1 {
            format!("entry {} is missing (the last entry written)", head.id)
        } else {
            format!(
                "entries {} to {} are missing (the last entries written)",
                last_id + 1,
                head.id
            )
        }),
        Some(head) if head.id == last_id && head.seal != prev => report
            .faults
            .push(format!("entry {last_id} is not the last entry written")),
        Some(_) => {}
    }
    Ok(report)
}

fn check(
    record: &AuditRecord,
    key: &[u8; 32],
    anchor: i64,
    expected: &mut i64,
    prev: &mut [u8; 32],
    report: &mut Verification,
) {
    if record.id <= anchor {
        report.faults.push(format!(
            "entry {} is older than the chain's anchor ({anchor}) but was not pruned",
            record.id
        ));
        return;
    }
    report.entries += 1;
    if report.first == 0 {
        report.first = record.id;
    }
    report.last = record.id;
    if record.id > *expected {
        report.faults.push(if record.id == *expected + 1 {
            format!("entry {} is missing", *expected)
        } else {
            format!("entries {} to {} are missing", *expected, record.id - 1)
        });
    } else if record.prev != *prev {
        report.faults.push(format!(
            "entry {} does not follow entry {} (one of them was changed or replaced)",
            record.id,
            record.id - 1
        ));
    }
    if seal(key, record.id, &record.prev, &record.entry) != record.seal {
        report
            .faults
            .push(format!("entry {} was changed after it was written", record.id));
    }
    *expected = record.id + 1;
    *prev = record.seal;
}
