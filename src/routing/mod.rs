//! The route tree: which teams and destinations a message goes to. Routes are data
//! (`[routing]` and its `[[routing.routes]]` in the configuration) and are checked when they
//! are compiled (`Router::from_settings`, in `compile`): an unknown team or destination, a
//! value no message can have, or a route that can never match stops the start with the key
//! that is wrong.
//!
//! A message goes down the tree from the root (the default route, the municipality's single
//! intake). Among a node's children the first that matches takes the message; with
//! `continue = true` the later siblings are tried too. A matching node none of whose children
//! match is a result. A route without teams and destinations of its own has its parent's.

mod compile;
#[cfg(test)]
mod tests;

use crate::delivery::Target;
use crate::domain::Kind;
use crate::validation::schema_paths::text_of;
use jiff::civil::Date;
use serde_json::Value;
use std::collections::BTreeSet;

/// What the router needs to know about a message.
pub struct Facts<'a> {
    pub kind: Kind,
    pub municipality: &'a str,
    pub sender_id: &'a str,
    pub document: &'a Value,
    /// From the CPR number; `None` for a vacant dwelling.
    pub birth_date: Option<Date>,
    /// The day the message arrived (Copenhagen).
    pub on: Date,
}

/// The routes a message matched and the deliveries that follow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    pub routes: Vec<String>,
    pub teams: Vec<String>,
    pub destinations: Vec<String>,
}

impl Decision {
    /// One target per team mailbox and per destination, teams first.
    pub fn targets(&self) -> Vec<Target> {
        self.teams
            .iter()
            .map(|t| Target::Mailbox(t.clone()))
            .chain(self.destinations.iter().map(|d| Target::Webhook(d.clone())))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Kinds(BTreeSet<Kind>),
    Municipalities(BTreeSet<String>),
    Senders(BTreeSet<String>),
    Field { path: String, values: BTreeSet<String> },
    AgeUnder(u32),
    AgeAtLeast(u32),
}

impl Condition {
    fn holds(&self, facts: &Facts) -> bool {
        match self {
            Condition::Kinds(kinds) => kinds.contains(&facts.kind),
            Condition::Municipalities(codes) => codes.contains(facts.municipality),
            Condition::Senders(ids) => ids.contains(facts.sender_id),
            Condition::Field { path, values } => match crate::validation::member(facts.document, path) {
                Some(Value::Array(items)) => items.iter().any(|item| values.contains(&text_of(item))),
                Some(Value::Null) | None => false,
                Some(value) => values.contains(&text_of(value)),
            },
            Condition::AgeUnder(years) => facts.birth_date.is_some_and(|b| age(b, facts.on) < *years as i32),
            Condition::AgeAtLeast(years) => facts.birth_date.is_some_and(|b| age(b, facts.on) >= *years as i32),
        }
    }

    /// Whether every message this condition (of a later route) lets through also passes `self`.
    fn implied_by(&self, later: &[Condition]) -> bool {
        later.iter().any(|other| match (self, other) {
            (Condition::Kinds(a), Condition::Kinds(b)) => b.is_subset(a),
            (Condition::Municipalities(a), Condition::Municipalities(b)) => b.is_subset(a),
            (Condition::Senders(a), Condition::Senders(b)) => b.is_subset(a),
            (Condition::Field { path: p, values: a }, Condition::Field { path: q, values: b }) => {
                p == q && b.is_subset(a)
            }
            (Condition::AgeUnder(a), Condition::AgeUnder(b)) => b <= a,
            (Condition::AgeAtLeast(a), Condition::AgeAtLeast(b)) => b >= a,
            _ => false,
        })
    }
}

/// Whole years from `birth` to `on`.
fn age(birth: Date, on: Date) -> i32 {
    let years = i32::from(on.year()) - i32::from(birth.year());
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years - 1
    } else {
        years
    }
}

#[derive(Debug, Clone)]
struct Node {
    name: String,
    continue_matching: bool,
    conditions: Vec<Condition>,
    teams: Vec<String>,
    destinations: Vec<String>,
    children: Vec<Node>,
}

impl Node {
    fn route<'n>(&'n self, facts: &Facts, out: &mut Vec<&'n Node>) -> bool {
        if !self.conditions.iter().all(|c| c.holds(facts)) {
            return false;
        }
        let mut taken = false;
        for child in &self.children {
            if child.route(facts, out) {
                taken = true;
                if !child.continue_matching {
                    break;
                }
            }
        }
        if !taken {
            out.push(self);
        }
        true
    }
}

#[derive(Debug, Clone)]
pub struct Router {
    root: Node,
}

impl Router {
    pub fn route(&self, facts: &Facts) -> Decision {
        let mut matched = Vec::new();
        self.root.route(facts, &mut matched);
        let mut decision = Decision {
            routes: Vec::new(),
            teams: Vec::new(),
            destinations: Vec::new(),
        };
        for node in matched {
            decision.routes.push(node.name.clone());
            for team in &node.teams {
                if !decision.teams.contains(team) {
                    decision.teams.push(team.clone());
                }
            }
            for destination in &node.destinations {
                if !decision.destinations.contains(destination) {
                    decision.destinations.push(destination.clone());
                }
            }
        }
        decision
    }
}
