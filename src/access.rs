//! One place decides who may do what. A handler names what it needs as an extractor (a
//! caseworker of some municipality, an operator, an auditor, a sender of some kinds, a reader of
//! receipts or of reports) and gets it, or the request is answered before the handler runs:
//! `401` without credentials that hold, `403` with credentials of another role. Bearer tokens
//! and the session cookie of a signed-in person (`session`) give the same extractors, so one set
//! of handlers serves both; a person's roles come from the provider's claims
//! (`auth.oidc.roles`). docs/operations.md has the table of every endpoint against every role,
//! and tests/api/access.rs walks it.
//!
//! What is asked of a resource of another municipality is the handler's: it answers `404`,
//! exactly as for one that does not exist.

use crate::auth::{Principal, Role};
use crate::domain::Kind;
use crate::problem::{Problem, kinds};
use crate::store::Receipt;
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use std::future::Future;
use std::pin::Pin;

fn forbidden(detail: &str) -> Problem {
    Problem::new(kinds::FORBIDDEN, detail.to_owned())
}

impl Principal {
    /// The municipality and team a caseworker token, or a person's first caseworker or team
    /// lead role (in the order of `auth.oidc.roles`), works for.
    pub fn caseworker_of(&self) -> Option<(&str, Option<&str>)> {
        match self {
            Principal::Caseworker { municipality, team, .. } => Some((municipality, team.as_deref())),
            Principal::Person { roles, .. } => roles.iter().find_map(|role| match role {
                Role::Caseworker { municipality, team } | Role::TeamLead { municipality, team } => {
                    Some((municipality.as_str(), team.as_deref()))
                }
                Role::Operator | Role::Auditor => None,
            }),
            Principal::Sender { .. } | Principal::Operator { .. } | Principal::Auditor { .. } => None,
        }
    }

    pub fn is_operator(&self) -> bool {
        match self {
            Principal::Operator { .. } => true,
            Principal::Person { roles, .. } => roles.contains(&Role::Operator),
            _ => false,
        }
    }

    pub fn is_auditor(&self) -> bool {
        match self {
            Principal::Auditor { .. } => true,
            Principal::Person { roles, .. } => roles.contains(&Role::Auditor),
            _ => false,
        }
    }
}

/// A caseworker of `municipality`: a caseworker token, or a person with a caseworker or team
/// lead role.
#[derive(Debug, Clone)]
pub struct Caseworker {
    pub municipality: String,
    pub team: Option<String>,
    pub principal: Principal,
}

impl Caseworker {
    pub fn of(principal: Principal) -> Result<Caseworker, Problem> {
        let (municipality, team) = principal
            .caseworker_of()
            .map(|(m, t)| (m.to_owned(), t.map(str::to_owned)))
            .ok_or_else(|| forbidden("this is for caseworkers"))?;
        Ok(Caseworker {
            municipality,
            team,
            principal,
        })
    }
}

/// Runs the gateway: the delivery status, dead letters and replay.
#[derive(Debug, Clone)]
pub struct Operator {
    pub principal: Principal,
}

impl Operator {
    pub fn of(principal: Principal) -> Result<Operator, Problem> {
        if principal.is_operator() {
            Ok(Operator { principal })
        } else {
            Err(forbidden("this is for operators"))
        }
    }
}

/// Reads the audit log (and nothing else: an auditor is refused everywhere else).
#[derive(Debug, Clone)]
pub struct AuditReader {
    pub principal: Principal,
}

impl AuditReader {
    pub fn of(principal: Principal) -> Result<AuditReader, Problem> {
        if principal.is_auditor() {
            Ok(AuditReader { principal })
        } else {
            Err(forbidden("this is for auditors"))
        }
    }
}

/// A sender token: submits messages of `kinds` as `sender_id`. People never send.
#[derive(Debug, Clone)]
pub struct Sender {
    pub sender_id: String,
    pub kinds: Vec<Kind>,
    pub principal: Principal,
}

impl Sender {
    pub fn of(principal: Principal) -> Result<Sender, Problem> {
        match &principal {
            Principal::Sender { sender_id, kinds, .. } => Ok(Sender {
                sender_id: sender_id.clone(),
                kinds: kinds.clone(),
                principal,
            }),
            _ => Err(forbidden("only sender tokens submit messages")),
        }
    }

    /// `403` unless the sender may submit `kind`.
    pub fn may_submit(&self, kind: Kind) -> Result<&str, Problem> {
        if self.kinds.contains(&kind) {
            Ok(&self.sender_id)
        } else {
            Err(forbidden(&format!("this token may not submit {kind} messages")))
        }
    }
}

/// Who may read receipts: the sender of the message, a caseworker of its municipality, an
/// operator. Another's receipt is for the handler to answer `404`.
#[derive(Debug, Clone)]
pub struct ReceiptReader {
    scope: ReceiptScope,
    pub principal: Principal,
}

#[derive(Debug, Clone)]
enum ReceiptScope {
    Sender(String),
    Municipality(String),
    Every,
}

impl ReceiptReader {
    pub fn of(principal: Principal) -> Result<ReceiptReader, Problem> {
        let scope = if let Principal::Sender { sender_id, .. } = &principal {
            ReceiptScope::Sender(sender_id.clone())
        } else if principal.is_operator() {
            ReceiptScope::Every
        } else if let Some((municipality, _)) = principal.caseworker_of() {
            ReceiptScope::Municipality(municipality.to_owned())
        } else {
            return Err(forbidden("receipts are for senders, caseworkers and operators"));
        };
        Ok(ReceiptReader { scope, principal })
    }

    pub fn may_read(&self, receipt: &Receipt) -> bool {
        match &self.scope {
            ReceiptScope::Sender(sender_id) => *sender_id == receipt.sender_id,
            ReceiptScope::Municipality(municipality) => *municipality == receipt.municipality,
            ReceiptScope::Every => true,
        }
    }
}

/// Who may read the reports: a caseworker (of their municipality) or an operator (of every
/// municipality, or the one asked for).
#[derive(Debug, Clone)]
pub struct ReportReader {
    /// `None`: every municipality.
    own_municipality: Option<String>,
    pub principal: Principal,
}

impl ReportReader {
    pub fn of(principal: Principal) -> Result<ReportReader, Problem> {
        let own_municipality = if principal.is_operator() {
            None
        } else if let Some((municipality, _)) = principal.caseworker_of() {
            Some(municipality.to_owned())
        } else {
            return Err(forbidden("reports are for caseworkers and operators"));
        };
        Ok(ReportReader {
            own_municipality,
            principal,
        })
    }

    /// The municipality a report covers (`None`: all): `403` for a caseworker asking for
    /// another municipality's.
    pub fn municipality(&self, asked: Option<&str>) -> Result<Option<String>, Problem> {
        match (&self.own_municipality, asked) {
            (None, Some(asked)) => crate::reports::municipality_arg("municipality", asked)
                .map(Some)
                .map_err(|detail| Problem::new(crate::problem::kinds::BAD_REQUEST, detail)),
            (None, None) => Ok(None),
            (Some(own), None) => Ok(Some(own.clone())),
            (Some(own), Some(asked)) if asked == own => Ok(Some(own.clone())),
            (Some(_), Some(_)) => Err(forbidden("a caseworker reads the reports of their own municipality")),
        }
    }
}

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, Problem>>>>;

macro_rules! from_principal {
    ($($extractor:ident),*) => {$(
        impl FromRequest for $extractor {
            type Error = Problem;
            type Future = Extracted<$extractor>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let principal = Principal::from_request(req, payload);
                Box::pin(async move { $extractor::of(principal.await?) })
            }
        }
    )*};
}

from_principal!(Caseworker, Operator, AuditReader, Sender, ReceiptReader, ReportReader);
