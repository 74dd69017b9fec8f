//! What a checked message becomes before the store files it, in two steps that the pipeline
//! bench (benches/pipeline.rs) times apart with the gateway's own code: [`plan`] (routing and
//! deadline planning) and [`seal`] (the canonical form, its hashes, compression and encryption).

use crate::deadlines::{Arrival, Policies};
use crate::delivery::Target;
use crate::routing::{Facts, Router};
use crate::store::{DeadlineChange, NewDelivery, NewMessage, Subject, SubjectKind};
use crate::validation::{self, Checked};
use crate::vault::Vault;
use jiff::{SignedDuration, Timestamp};

/// Where a checked message goes and what it does to its case's deadlines.
pub struct Planned {
    pub receipt_id: String,
    pub deliveries: Vec<NewDelivery>,
    pub deadlines: Vec<DeadlineChange>,
}

/// Routes `checked` and plans its deadlines; alerts to teams wait `alert_delay`
/// (`alerts.group_window`). An error when a deadline falls beyond the calendar's range.
pub fn plan(
    router: &Router,
    policies: &Policies,
    alert_delay: SignedDuration,
    checked: &Checked,
    now: Timestamp,
) -> anyhow::Result<Planned> {
    let kind = checked.kind;
    let municipality = checked.municipality.to_string();
    let decision = router.route(&Facts {
        kind,
        municipality: &municipality,
        sender_id: &checked.sender_id,
        document: &checked.document,
        birth_date: checked.cpr.as_ref().and_then(|c| c.birth_date()),
        on: crate::domain::copenhagen_date(now),
    });
    let alerts_at = now.saturating_add(alert_delay).unwrap_or(now);
    let deliveries = decision
        .targets()
        .into_iter()
        .map(|target| NewDelivery {
            delivery_id: format!("dlv_{}", uuid::Uuid::now_v7().simple()),
            not_before: match target {
                Target::Webhook(_) => now,
                Target::Mailbox(_) | Target::Lead(_) => alerts_at,
            },
            destination: target.key(),
            routes: decision.routes.clone(),
        })
        .collect();
    let receipt_id = uuid::Uuid::now_v7().to_string();
    let deadlines = policies.plan(&Arrival {
        kind,
        document: &checked.document,
        receipt_id: &receipt_id,
        received_at: now,
        team: decision.teams.first().map(String::as_str),
        alerts_at,
    })?;
    Ok(Planned {
        receipt_id,
        deliveries,
        deadlines,
    })
}

/// The message as the store takes it: canonical, hashed for matching and sealed.
pub fn seal(vault: &Vault, checked: Checked, planned: Planned, now: Timestamp) -> anyhow::Result<NewMessage> {
    let kind = checked.kind;
    // Sized for a typical message (1-3 KB) at once, instead of grown by doubling from empty
    // through a dozen reallocations and copies.
    let mut canonical = Vec::with_capacity(4096);
    validation::json::write_compact(&mut canonical, &checked.document);
    // A housing offer's messages (offer, update, withdrawal) belong together, named or not.
    let offer_hash = checked.document["offer_id"]
        .as_str()
        .map(|offer| vault.match_hash("offer", format!("{}\0{offer}", checked.sender_id).as_bytes()));
    let subject = match &checked.cpr {
        Some(cpr) => Subject {
            kind: SubjectKind::Citizen,
            match_hash: vault.match_hash("cpr", cpr.expose_digits().as_bytes()),
            cpr_sealed: Some(vault.encrypt(cpr.expose_digits().as_bytes())),
        },
        None => Subject {
            kind: SubjectKind::VacantDwelling,
            match_hash: offer_hash.unwrap_or_else(|| vault.match_hash("message", &canonical)),
            cpr_sealed: None,
        },
    };
    Ok(NewMessage {
        deliveries: planned.deliveries,
        deadlines: planned.deadlines,
        receipt_id: planned.receipt_id,
        kind,
        content_hash: vault.match_hash("content", &canonical),
        offer_hash,
        municipality: checked.municipality,
        subject,
        body_sealed: vault.seal_document(&canonical),
        summary: validation::summary_text(kind, &checked.document),
        sender_id: checked.sender_id,
        message_id: checked.message_id,
        warnings: checked.warnings,
        received_at: now,
    })
}
