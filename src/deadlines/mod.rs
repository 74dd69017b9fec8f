//! Deadline policies: which deadlines a message creates, moves or cancels. Policies are data
//! (`[deadlines.<id>]`, defaults from domain.md's table) and are checked when the configuration
//! is loaded. `Policies::plan` turns an accepted message into deadline changes, which the store
//! applies in the transaction that files the message; the scheduler (`scheduler`) then sends
//! the reminders and the breach escalation through the delivery outbox.

pub mod scheduler;

use crate::config::{FieldMatchSettings, Settings};
use crate::delivery::Target;
use crate::domain::working_days::Calendar;
use crate::domain::{Kind, copenhagen_date};
use crate::store::{DeadlineChange, DeadlinePlan, MetByResolving};
use anyhow::{Context, bail};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Message,
    Case,
    Offer,
}

#[derive(Debug, Clone)]
enum Base {
    Received,
    Member(String),
}

#[derive(Debug, Clone)]
struct Policy {
    id: String,
    title: String,
    kinds: Vec<Kind>,
    base: Base,
    /// Working days after (positive) or before (negative) the base day.
    offset: i32,
    reminders: Vec<u32>,
    when: Vec<(String, Vec<String>)>,
    cancelled_by: Vec<(String, Vec<String>)>,
    scope: Scope,
    outcomes: Vec<String>,
    escalate_to_lead: bool,
    met_by: Option<(String, Vec<String>)>,
    moves_with_citizen: bool,
}

#[derive(Debug, Clone)]
pub struct Policies {
    policies: Vec<Policy>,
    met_by_resolving: Vec<MetByResolving>,
    calendar: Calendar,
}

/// What the planner needs to know about an accepted message.
pub struct Arrival<'a> {
    pub kind: Kind,
    pub document: &'a Value,
    pub receipt_id: &'a str,
    pub received_at: Timestamp,
    /// The team the message was routed to first; its mailbox gets the reminders.
    pub team: Option<&'a str>,
    /// When an alert the message itself causes may go out (`alerts.group_window` after receipt).
    pub alerts_at: Timestamp,
}

/// `received + 1`, `/release/expected_date`, `/release/expected_date - 10`.
fn parse_due(text: &str) -> Option<(Base, i32)> {
    let text = text.trim();
    let (base, rest) = match text.find([' ', '+', '-']) {
        Some(at) if !text[..at].is_empty() => (text[..at].trim(), text[at..].trim()),
        _ => (text, ""),
    };
    let base = match base {
        "received" => Base::Received,
        pointer if pointer.starts_with('/') && !pointer.contains('~') => Base::Member(pointer.to_owned()),
        _ => return None,
    };
    let offset = if rest.is_empty() {
        0
    } else {
        let (sign, number) = rest.split_at(1);
        let n: i32 = number.trim().parse().ok().filter(|n| (0..=250).contains(n))?; // 0 to 250 working days
        match sign {
            "+" => n,
            "-" => -n,
            _ => return None,
        }
    };
    Some((base, offset))
}

fn matchers(key: &str, list: &[FieldMatchSettings], kinds: &[Kind]) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    list.iter()
        .enumerate()
        .map(|(i, f)| {
            let key = format!("{key}[{i}]");
            let having = crate::validation::schema_paths::check_field(&key, &f.path, &f.values)?;
            if !kinds.iter().any(|k| having.contains(k)) {
                bail!("{key}: none of the policy's kinds has a member {}", f.path);
            }
            Ok((f.path.clone(), f.values.clone()))
        })
        .collect()
}

fn matches(document: &Value, conditions: &[(String, Vec<String>)]) -> bool {
    conditions.iter().all(|(path, values)| {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match crate::validation::member(document, path) {
            Some(Value::Array(items)) => items.iter().any(|item| values.contains(&text(item))),
            Some(Value::Null) | None => false,
            Some(value) => values.contains(&text(value)),
        }
    })
}

impl Policies {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Policies> {
        let mut policies = Vec::new();
        for (id, p) in &settings.deadlines {
            let key = format!("deadlines.{id}");
            if !p.enabled {
                continue;
            }
            if !crate::config::valid_id(id) {
                bail!("{key}: a policy id is lower-case letters, digits and '_'");
            }
            if p.name.trim().is_empty() {
                bail!("{key}.name: give the deadline a name");
            }
            let kinds = p
                .kinds
                .iter()
                .map(|k| Kind::parse(k).with_context(|| format!("{key}.kinds: {k:?} is not a kind")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if kinds.is_empty() {
                bail!("{key}.kinds: name at least one kind");
            }
            let (base, offset) = parse_due(&p.due).with_context(|| {
                format!(
                    "{key}.due: {:?} is not `received + N` or a message member with an optional `+ N` / `- N` working days",
                    p.due
                )
            })?;
            if let Base::Member(path) = &base
                && let Some(kind) = kinds
                    .iter()
                    .find(|k| !crate::validation::schema_paths::member_is_date(**k, path))
            {
                bail!("{key}.due: {path} is not a date or date-time member of a {kind}");
            }
            if matches!(base, Base::Received) && offset < 1 {
                bail!("{key}.due: received + N needs N of at least 1 working day");
            }
            if p.reminders.iter().any(|r| !(1..=250).contains(r)) {
                bail!("{key}.reminders: each between 1 and 250 working days");
            }
            let scope = match p.scope.as_str() {
                "message" => Scope::Message,
                "case" => Scope::Case,
                "offer" if kinds == [Kind::HousingOffer] => Scope::Offer,
                "offer" => bail!("{key}.scope: offer is for policies of housing offers only"),
                other => bail!("{key}.scope: {other:?} is not message, case or offer"),
            };
            if p.outcomes.is_empty() || p.outcomes.iter().any(|o| !crate::config::valid_id(o)) {
                bail!("{key}.outcomes: name at least one outcome (lower-case letters, digits and '_')");
            }
            let escalate_to_lead = match p.escalate_to.as_str() {
                "lead" => true,
                "mailbox" => false,
                other => bail!("{key}.escalate_to: {other:?} is not lead or mailbox"),
            };
            let mut reminders = p.reminders.clone();
            reminders.sort_unstable_by(|a, b| b.cmp(a));
            reminders.dedup();
            let met_by = match &p.met_by {
                Some(m) => {
                    let found = matchers(&format!("{key}.met_by"), std::slice::from_ref(m), &kinds)?;
                    if let Some(bad) = m.values.iter().find(|v| !p.outcomes.contains(v)) {
                        bail!("{key}.met_by: {bad:?} is not one of the policy's outcomes");
                    }
                    found.into_iter().next()
                }
                None => None,
            };
            if p.moves_with_citizen && scope != Scope::Case {
                bail!("{key}.moves_with_citizen: only a policy of scope case moves with the citizen");
            }
            if !p.met_by_resolving.is_empty() && scope != Scope::Case {
                bail!("{key}.met_by_resolving: only a policy of scope case can be met by resolving another");
            }
            for (i, m) in p.met_by_resolving.iter().enumerate() {
                let at = format!("{key}.met_by_resolving[{i}]");
                let other = settings
                    .deadlines
                    .get(&m.policy)
                    .filter(|_| m.policy != *id)
                    .with_context(|| format!("{at}.policy: {:?} is not another policy", m.policy))?;
                if m.outcomes.is_empty() || m.outcomes.iter().any(|o| !other.outcomes.contains(o)) {
                    bail!(
                        "{at}.outcomes: name outcomes of {} ({})",
                        m.policy,
                        other.outcomes.join(", ")
                    );
                }
                if !p.outcomes.contains(&m.outcome) {
                    bail!("{at}.outcome: {:?} is not one of the policy's outcomes", m.outcome);
                }
            }
            let when = matchers(&format!("{key}.when"), &p.when, &kinds)?;
            let cancelled_by = matchers(&format!("{key}.cancelled_by"), &p.cancelled_by, &kinds)?;
            policies.push(Policy {
                id: id.clone(),
                title: p.name.trim().to_owned(),
                kinds,
                base,
                offset,
                reminders,
                when,
                cancelled_by,
                scope,
                outcomes: p.outcomes.clone(),
                escalate_to_lead,
                met_by,
                moves_with_citizen: p.moves_with_citizen,
            });
        }
        // A rule naming a policy switched off has nothing to act on.
        let enabled = |id: &str| settings.deadlines.get(id).is_some_and(|p| p.enabled);
        let met_by_resolving = settings
            .deadlines
            .iter()
            .filter(|(_, p)| p.enabled)
            .flat_map(|(id, p)| {
                p.met_by_resolving
                    .iter()
                    .filter(|m| enabled(&m.policy))
                    .map(|m| MetByResolving {
                        policy: m.policy.clone(),
                        outcomes: m.outcomes.clone(),
                        meets: id.clone(),
                        outcome: m.outcome.clone(),
                    })
            })
            .collect();
        Ok(Policies {
            policies,
            met_by_resolving,
            calendar: Calendar::from_settings(&settings.calendar)?,
        })
    }

    /// What resolving a deadline meets besides (`met_by_resolving` of every policy).
    pub fn met_by_resolving(&self) -> &[MetByResolving] {
        &self.met_by_resolving
    }

    /// The outcomes a deadline of `policy` may be resolved with.
    pub fn outcomes(&self, policy: &str) -> Option<&[String]> {
        self.policies
            .iter()
            .find(|p| p.id == policy)
            .map(|p| p.outcomes.as_slice())
    }

    /// What an accepted message does to the deadlines of its case. An error when a deadline
    /// would fall beyond the dates the calendar can count (the rules keep messages' dates far
    /// from there; see docs/messages.md).
    pub fn plan(&self, arrival: &Arrival) -> anyhow::Result<Vec<DeadlineChange>> {
        let mut changes = Vec::new();
        if arrival.kind == Kind::ReleaseNotice && arrival.document["notice_type"] == "transfer" {
            changes.push(DeadlineChange::Note {
                event: "transferred".to_owned(),
                details: serde_json::json!({
                    "to_institution": arrival.document["transfer"]["to_institution"]["id"],
                    "date": arrival.document["transfer"]["date"],
                }),
            });
        }
        // The team's destination keys, made once for all the policies that apply.
        let team = arrival.team.map(str::to_owned);
        let mailbox = arrival.team.map(|t| Target::Mailbox(t.to_owned()).key());
        let lead = arrival.team.map(|t| Target::Lead(t.to_owned()).key());
        for policy in self.policies.iter().filter(|p| p.kinds.contains(&arrival.kind)) {
            let scope = match policy.scope {
                Scope::Message => format!("message:{}", arrival.receipt_id),
                Scope::Case => String::new(),
                Scope::Offer => match arrival.document["offer_id"].as_str() {
                    Some(offer) => format!("offer:{offer}"),
                    None => continue,
                },
            };
            if !policy.cancelled_by.is_empty() && matches(arrival.document, &policy.cancelled_by) {
                changes.push(DeadlineChange::Cancel {
                    policy: policy.id.clone(),
                    scope,
                });
                continue;
            }
            if !matches(arrival.document, &policy.when) {
                continue;
            }
            let beyond = || {
                format!(
                    "deadlines.{}: the deadline falls beyond the calendar's range",
                    policy.id
                )
            };
            let Some((due_day, exact)) = self.due(policy, arrival)? else {
                continue;
            };
            // The value at `met_by`'s member: one of its values meets the deadline, another
            // opens one met by a message again; a message without the member says nothing.
            let stated = policy.met_by.as_ref().and_then(|(path, values)| {
                let value = crate::validation::member(arrival.document, path)?.as_str()?;
                Some((values.iter().any(|v| v == value), value.to_owned()))
            });
            let due_at = match exact {
                Some(at) => at,
                None => self.calendar.due_at(due_day).with_context(beyond)?,
            };
            let mut reminders = Vec::with_capacity(policy.reminders.len());
            for days in &policy.reminders {
                let at = self
                    .calendar
                    .add_working_days(due_day, -(*days as i32))
                    .and_then(|day| self.calendar.due_at(day))
                    .with_context(beyond)?;
                if at > arrival.received_at && at < due_at {
                    reminders.push(at);
                }
            }
            changes.push(DeadlineChange::Set(DeadlinePlan {
                policy: policy.id.clone(),
                title: policy.title.clone(),
                scope,
                team: team.clone(),
                due_at,
                reminders,
                remind_to: mailbox.clone(),
                escalate_to: if policy.escalate_to_lead {
                    lead.clone()
                } else {
                    mailbox.clone()
                },
                meets: stated.as_ref().filter(|(home, _)| *home).map(|(_, v)| v.clone()),
                reopens: stated.as_ref().is_some_and(|(home, _)| !home),
            }));
        }
        let moving: Vec<String> = changes
            .iter()
            .filter_map(|c| match c {
                DeadlineChange::Set(plan) => Some(plan),
                _ => None,
            })
            .filter(|plan| {
                self.policies
                    .iter()
                    .any(|p| p.id == plan.policy && p.moves_with_citizen)
            })
            .map(|plan| plan.policy.clone())
            .collect();
        if !moving.is_empty() {
            changes.push(DeadlineChange::Transfer {
                policies: moving,
                alert_at: arrival.alerts_at,
            });
        }
        Ok(changes)
    }

    /// The due day, and the exact instant when the base is a date-time without an offset;
    /// `None` when the message has no such member, an error when the day lies beyond the
    /// calendar's range.
    fn due(&self, policy: &Policy, arrival: &Arrival) -> anyhow::Result<Option<(Date, Option<Timestamp>)>> {
        let base = || -> Option<(Date, Option<Timestamp>)> {
            match &policy.base {
                Base::Received => Some((copenhagen_date(arrival.received_at), None)),
                Base::Member(path) => {
                    let text = crate::validation::member(arrival.document, path)?.as_str()?;
                    // A date alone (jiff would read a date out of a date-time too).
                    if text.len() == 10 {
                        Some((text.parse::<Date>().ok()?, None))
                    } else {
                        let at = text.parse::<Timestamp>().ok()?;
                        Some((copenhagen_date(at), Some(at)))
                    }
                }
            }
        };
        let Some((day, exact)) = base() else {
            return Ok(None);
        };
        if policy.offset == 0 {
            return Ok(Some((day, exact)));
        }
        let day = self.calendar.add_working_days(day, policy.offset).with_context(|| {
            format!(
                "deadlines.{}: the deadline falls beyond the calendar's range",
                policy.id
            )
        })?;
        Ok(Some((day, None)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let settings = Settings::load_from(None, env.iter().map(|(k, v)| (k.to_string(), v.to_string())))?;
        Policies::from_settings(&settings)?;
        Ok(settings)
    }

    fn refusal(env: &[(&str, &str)]) -> String {
        format!("{:#}", load(env).expect_err("refused"))
    }

    #[test]
    fn bad_policies_stop_the_start_naming_the_key() {
        assert!(
            refusal(&[("INDGANG__DEADLINES__HOUSING__DUE", "/notice_type")])
                .contains("deadlines.housing.due: /notice_type is not a date or date-time member")
        );
        assert!(
            refusal(&[("INDGANG__DEADLINES__ACKNOWLEDGE__DUE", "received - 1")]).contains("deadlines.acknowledge.due")
        );
        assert!(refusal(&[("INDGANG__DEADLINES__HOUSING__DUE", "next week")]).contains("deadlines.housing.due"));
        assert!(refusal(&[("INDGANG__DEADLINES__HOUSING__KINDS", "parole")]).contains("deadlines.housing.kinds"));
        assert!(refusal(&[("INDGANG__DEADLINES__HOUSING__SCOPE", "offer")]).contains("deadlines.housing.scope"));
        assert!(
            refusal(&[("INDGANG__DEADLINES__HOUSING__ESCALATE_TO", "mayor")]).contains("deadlines.housing.escalate_to")
        );
        assert!(refusal(&[("INDGANG__DEADLINES__HOUSING__OUTCOMES", "")]).contains("deadlines.housing.outcomes"));
        assert!(refusal(&[("INDGANG__REPORTS__HOUSING_POLICY", "nope")]).contains("reports.housing_policy"));
        assert!(
            refusal(&[("INDGANG__DEADLINES__HOUSING__ENABLED", "false")]).contains("reports.housing_policy"),
            "the report's housing policy cannot be switched off"
        );
        assert!(
            refusal(&[("INDGANG__DEADLINES__HOUSING__OUTCOMES", "owner,housing_offer")])
                .contains(r#"deadlines.housing.met_by: "public_housing" is not one of the policy's outcomes"#)
        );
        assert!(
            refusal(&[("INDGANG__DEADLINES__OFFER_ANSWER__OUTCOMES", "yes,no")])
                .contains("deadlines.housing.met_by_resolving[0].outcomes: name outcomes of offer_answer (yes, no)")
        );
        assert!(
            refusal(&[("INDGANG__DEADLINES__OFFER_ANSWER__MOVES_WITH_CITIZEN", "true")])
                .contains("deadlines.offer_answer.moves_with_citizen: only a policy of scope case")
        );
        let without_offers = load(&[("INDGANG__DEADLINES__OFFER_ANSWER__ENABLED", "false")]).unwrap();
        assert!(
            Policies::from_settings(&without_offers)
                .unwrap()
                .met_by_resolving()
                .is_empty()
        );
    }

    #[test]
    fn a_disabled_policy_makes_no_deadlines() {
        let settings = load(&[("INDGANG__DEADLINES__BENEFIT__ENABLED", "false")]).unwrap();
        let policies = Policies::from_settings(&settings).unwrap();
        let document: Value = serde_json::from_slice(
            &std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/schemas/examples/release-notice/valid/initial-parole.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let changes = policies
            .plan(&Arrival {
                kind: Kind::ReleaseNotice,
                document: &document,
                receipt_id: "r",
                received_at: "2026-11-23T12:00:00Z".parse().unwrap(),
                team: Some("intake"),
                alerts_at: "2026-11-23T12:02:00Z".parse().unwrap(),
            })
            .unwrap();
        let made: Vec<&str> = changes
            .iter()
            .filter_map(|c| match c {
                DeadlineChange::Set(p) => Some(p.policy.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(made, ["acknowledge", "action_plan", "housing"]);
    }

    #[test]
    fn due_expressions() {
        assert!(matches!(parse_due("received + 1"), Some((Base::Received, 1))));
        assert!(
            matches!(parse_due("/release/expected_date"), Some((Base::Member(p), 0)) if p == "/release/expected_date")
        );
        assert!(matches!(
            parse_due("/release/expected_date - 10"),
            Some((Base::Member(_), -10))
        ));
        assert!(matches!(parse_due("/due_date+2"), Some((Base::Member(_), 2))));
        assert!(parse_due("tomorrow").is_none());
        assert!(parse_due("received * 2").is_none());
        assert!(parse_due("received + many").is_none());
    }
}
