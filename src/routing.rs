//! The route tree: which teams and destinations a message goes to. Routes are data
//! (`[routing]` and its `[[routing.routes]]` in the configuration) and are checked when the
//! configuration is loaded: an unknown team or destination, a value no message can have, or a
//! route that can never match stops the start with the key that is wrong.
//!
//! A message goes down the tree from the root (the default route, the municipality's single
//! intake). Among a node's children the first that matches takes the message; with
//! `continue = true` the later siblings are tried too. A matching node none of whose children
//! match is a result. A route without teams and destinations of its own has its parent's.

use crate::config::{RouteSettings, Settings};
use crate::domain::{Kind, Kommunekode};
use anyhow::{Context, bail};
use jiff::civil::Date;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Where a delivery goes: a configured webhook destination, or a team's mailbox.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Webhook(String),
    Mailbox(String),
}

impl Target {
    /// The destination key deliveries are stored and reported under: the destination id, or
    /// `mail:<team>`.
    pub fn key(&self) -> String {
        match self {
            Target::Webhook(id) => id.clone(),
            Target::Mailbox(team) => format!("mail:{team}"),
        }
    }

    pub fn parse(key: &str) -> Target {
        match key.strip_prefix("mail:") {
            Some(team) => Target::Mailbox(team.to_owned()),
            None => Target::Webhook(key.to_owned()),
        }
    }
}

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

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
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
    /// Compiles and checks `[routing]` against `[teams]`, `[destinations]`, the schemas and
    /// `municipalities`.
    pub fn new(settings: &Settings) -> anyhow::Result<Router> {
        let schemas = Kind::ALL
            .into_iter()
            .map(|kind| {
                let schema: Value =
                    serde_json::from_str(crate::validation::schema_text(kind)).expect("the embedded schemas are JSON");
                (kind, schema)
            })
            .collect();
        let served: BTreeSet<String> = Kommunekode::all()
            .filter(|code| settings.municipalities.contains(*code))
            .map(|code| code.to_string())
            .collect();
        let checker = Checker {
            settings,
            schemas,
            served,
        };
        let root = &settings.routing;
        if has_matchers(root) || root.continue_matching {
            bail!("routing: the root route takes every message; put matchers in [[routing.routes]]");
        }
        if root.teams.is_empty() && root.destinations.is_empty() {
            bail!("routing: the default route must name at least one team or destination (the single intake)");
        }
        let scope = Scope {
            kinds: Kind::ALL.into_iter().collect(),
            municipalities: checker.served.clone(),
        };
        let root = checker.compile(root, "routing", &scope, None)?;
        Ok(Router { root })
    }

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

fn has_matchers(r: &RouteSettings) -> bool {
    !(r.kinds.is_empty()
        && r.municipalities.is_empty()
        && r.senders.is_empty()
        && r.notice_types.is_empty()
        && r.custody.is_empty()
        && r.needs.is_empty()
        && r.offer_types.is_empty()
        && r.message_types.is_empty()
        && r.fields.is_empty()
        && r.age_under.is_none()
        && r.age_at_least.is_none())
}

/// What can still reach a node: the kinds and municipalities its ancestors let through.
struct Scope {
    kinds: BTreeSet<Kind>,
    municipalities: BTreeSet<String>,
}

struct Checker<'s> {
    settings: &'s Settings,
    schemas: BTreeMap<Kind, Value>,
    served: BTreeSet<String>,
}

impl Checker<'_> {
    fn compile(&self, r: &RouteSettings, key: &str, scope: &Scope, parent: Option<&Node>) -> anyhow::Result<Node> {
        let name = if r.name.trim().is_empty() {
            key.to_owned()
        } else {
            r.name.trim().to_owned()
        };
        let mut conditions = Vec::new();
        let mut kinds = scope.kinds.clone();
        let mut municipalities = scope.municipalities.clone();
        if !r.kinds.is_empty() {
            let set = r
                .kinds
                .iter()
                .map(|k| {
                    Kind::parse(k).with_context(|| {
                        format!("{key}.kinds: {k:?} is not a kind (release-notice, housing-offer, jobcenter-message)")
                    })
                })
                .collect::<anyhow::Result<BTreeSet<_>>>()?;
            kinds.retain(|k| set.contains(k));
            conditions.push(Condition::Kinds(set));
        }
        if !r.municipalities.is_empty() {
            let set = r
                .municipalities
                .iter()
                .map(|code| {
                    let parsed =
                        Kommunekode::parse(code).map_err(|e| anyhow::anyhow!("{key}.municipalities: {code:?}: {e}"))?;
                    let code = parsed.to_string();
                    if !self.served.contains(&code) {
                        bail!("{key}.municipalities: {code} is not among the municipalities this gateway serves");
                    }
                    Ok(code)
                })
                .collect::<anyhow::Result<BTreeSet<_>>>()?;
            municipalities.retain(|m| set.contains(m));
            conditions.push(Condition::Municipalities(set));
        }
        if !r.senders.is_empty() {
            for id in &r.senders {
                if !crate::auth::valid_sender_id(id) {
                    bail!("{key}.senders: {id:?} is not a sender id");
                }
            }
            conditions.push(Condition::Senders(r.senders.iter().cloned().collect()));
        }
        let named = [
            ("notice_types", "/notice_type", &r.notice_types),
            ("custody", "/custody/type", &r.custody),
            ("needs", "/needs", &r.needs),
            ("offer_types", "/offer_type", &r.offer_types),
            ("message_types", "/message_type", &r.message_types),
        ];
        let fields = named
            .into_iter()
            .filter(|(_, _, values)| !values.is_empty())
            .map(|(field, path, values)| (format!("{key}.{field}"), path.to_owned(), values.clone()))
            .chain(
                r.fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (format!("{key}.fields[{i}]"), f.path.clone(), f.values.clone())),
            );
        for (field_key, path, values) in fields {
            let having = self.check_field(&field_key, &path, &values)?;
            kinds.retain(|k| having.contains(k));
            conditions.push(Condition::Field {
                path,
                values: values.into_iter().collect(),
            });
        }
        for (field, years) in [("age_under", r.age_under), ("age_at_least", r.age_at_least)] {
            if let Some(years) = years {
                if !(1..=150).contains(&years) {
                    bail!("{key}.{field}: must lie between 1 and 150");
                }
                conditions.push(if field == "age_under" {
                    Condition::AgeUnder(years)
                } else {
                    Condition::AgeAtLeast(years)
                });
            }
        }
        if let (Some(under), Some(least)) = (r.age_under, r.age_at_least)
            && least >= under
        {
            bail!("{key}: can never match: nobody is at least {least} and under {under}");
        }
        if kinds.is_empty() {
            bail!("{key}: can never match: no kind of message that reaches it has all the fields it looks at");
        }
        if municipalities.is_empty() {
            bail!("{key}: can never match: none of its municipalities reaches it");
        }
        for team in &r.teams {
            if !self.settings.teams.contains_key(team) {
                let known: Vec<&str> = self.settings.teams.keys().map(String::as_str).collect();
                bail!("{key}.teams: unknown team {team:?} (known: {})", known.join(", "));
            }
        }
        for destination in &r.destinations {
            if !self.settings.destinations.contains_key(destination) {
                let known: Vec<&str> = self.settings.destinations.keys().map(String::as_str).collect();
                bail!(
                    "{key}.destinations: unknown destination {destination:?} (known: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                );
            }
        }
        let (teams, destinations) = match parent {
            Some(p) if r.teams.is_empty() && r.destinations.is_empty() => (p.teams.clone(), p.destinations.clone()),
            _ => (r.teams.clone(), r.destinations.clone()),
        };
        let mut node = Node {
            name,
            continue_matching: r.continue_matching,
            conditions,
            teams,
            destinations,
            children: Vec::new(),
        };
        let scope = Scope { kinds, municipalities };
        for (i, child) in r.routes.iter().enumerate() {
            let child_key = format!("{key}.routes[{i}]");
            let compiled = self.compile(child, &child_key, &scope, Some(&node))?;
            if let Some((j, earlier)) =
                node.children.iter().enumerate().find(|(_, e)| {
                    !e.continue_matching && e.conditions.iter().all(|c| c.implied_by(&compiled.conditions))
                })
            {
                bail!(
                    "{child_key} ({:?}) can never match: {key}.routes[{j}] ({:?}) before it takes every message it would; \
                     give that one continue = true or move this one before it",
                    compiled.name,
                    earlier.name
                );
            }
            node.children.push(compiled);
        }
        Ok(node)
    }

    /// Checks a field matcher against the schemas; returns the kinds whose messages have the
    /// field.
    fn check_field(&self, key: &str, path: &str, values: &[String]) -> anyhow::Result<BTreeSet<Kind>> {
        if !path.starts_with('/') || path.contains('~') {
            bail!("{key}: {path:?} is not a JSON pointer such as /custody/type");
        }
        if path.starts_with("/citizen") {
            bail!("{key}: routing on the citizen's personal data is not allowed; use age_under or age_at_least");
        }
        if values.is_empty() {
            bail!("{key}: can never match: name at least one value of {path}");
        }
        let mut having = BTreeSet::new();
        for (kind, schema) in &self.schemas {
            let Some(node) = schema_node(schema, schema, path) else {
                continue;
            };
            if node.get("properties").is_some() || node.get("type").and_then(Value::as_str) == Some("object") {
                bail!("{key}: {path} is an object in a {kind} and has no value to match; name one of its members");
            }
            having.insert(*kind);
            if let Some(allowed) = allowed_values(schema, node)
                && let Some(bad) = values.iter().find(|v| !allowed.contains(v))
            {
                bail!(
                    "{key}: {bad:?} is not a value of {path} in a {kind} (one of: {})",
                    allowed.join(", ")
                );
            }
        }
        if having.is_empty() {
            bail!("{key}: no kind of message has a member {path}");
        }
        Ok(having)
    }
}

fn resolve<'s>(root: &'s Value, mut node: &'s Value) -> &'s Value {
    for _ in 0..8 {
        match node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/"))
        {
            Some(reference) => match root.pointer(&format!("/{reference}")) {
                Some(target) => node = target,
                None => break,
            },
            None => break,
        }
    }
    node
}

/// The schema of the member at `path`, following `$ref`, and array items on the way.
fn schema_node<'s>(root: &'s Value, schema: &'s Value, path: &str) -> Option<&'s Value> {
    path.split('/')
        .skip(1)
        .try_fold(resolve(root, schema), |node, segment| {
            let node = match node.get("items") {
                Some(items) if node.get("properties").is_none() => resolve(root, items),
                _ => node,
            };
            node.get("properties")?.get(segment).map(|child| resolve(root, child))
        })
}

/// The values a member may take, when the schema lists them.
fn allowed_values(root: &Value, node: &Value) -> Option<Vec<String>> {
    let node = match node.get("items") {
        Some(items) => resolve(root, items),
        None => node,
    };
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        return Some(values.iter().map(text_of).collect());
    }
    (node.get("type").and_then(Value::as_str) == Some("boolean")).then(|| vec!["true".to_owned(), "false".to_owned()])
}
