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
    /// The lead of a team (escalations).
    Lead(String),
}

impl Target {
    /// The destination key deliveries are stored and reported under: the destination id, or
    /// `mail:<team>`.
    pub fn key(&self) -> String {
        match self {
            Target::Webhook(id) => id.clone(),
            Target::Mailbox(team) => format!("mail:{team}"),
            Target::Lead(team) => format!("lead:{team}"),
        }
    }

    pub fn parse(key: &str) -> Target {
        if let Some(team) = key.strip_prefix("mail:") {
            Target::Mailbox(team.to_owned())
        } else if let Some(team) = key.strip_prefix("lead:") {
            Target::Lead(team.to_owned())
        } else {
            Target::Webhook(key.to_owned())
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
        let served: BTreeSet<String> = Kommunekode::all()
            .filter(|code| settings.municipalities.contains(*code))
            .map(|code| code.to_string())
            .collect();
        let checker = Checker { settings, served };
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
            let having = check_field(&field_key, &path, &values)?;
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
}

/// Checks a field matcher (a JSON pointer and the values it may have) against the published
/// schemas; returns the kinds whose messages have the field. Routes and deadline policies use it.
pub fn check_field(key: &str, path: &str, values: &[String]) -> anyhow::Result<BTreeSet<Kind>> {
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
    for (kind, schema) in schemas() {
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

/// The published schemas, parsed once.
fn schemas() -> &'static BTreeMap<Kind, Value> {
    static SCHEMAS: std::sync::LazyLock<BTreeMap<Kind, Value>> = std::sync::LazyLock::new(|| {
        Kind::ALL
            .into_iter()
            .map(|kind| {
                let schema: Value =
                    serde_json::from_str(crate::validation::schema_text(kind)).expect("the embedded schemas are JSON");
                (kind, schema)
            })
            .collect()
    });
    &SCHEMAS
}

/// Whether the member at `path` of a `kind` is a date or a date-time.
pub fn member_is_date(kind: Kind, path: &str) -> bool {
    schemas().get(&kind).is_some_and(|schema| {
        schema_node(schema, schema, path)
            .and_then(|node| node.get("format"))
            .and_then(Value::as_str)
            .is_some_and(|format| format == "date" || format == "date-time")
    })
}

/// Whether messages of `kind` have a member at `path` (a plain JSON pointer).
pub fn kind_has_member(kind: Kind, path: &str) -> bool {
    schemas()
        .get(&kind)
        .is_some_and(|schema| schema_node(schema, schema, path).is_some())
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

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TEAMS_AND_DESTINATIONS: &str = r#"
[teams.misbrug]
name = "Misbrugscenteret"
mailbox = "misbrug@kommune.example"
lead = "leder@kommune.example"

[teams.bolig]
name = "Boligsocialt team"
mailbox = "bolig@kommune.example"
lead = "bolig-leder@kommune.example"

[destinations.case_system]
type = "webhook"
url = "https://esdh.example/events"
secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

[destinations.housing_portal]
type = "webhook"
url = "https://bolig.example/hooks"
secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
"#;

    /// Settings from the defaults, two extra teams, two destinations, `routes` and `env`.
    fn load(routes: &str, env: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("indgang.toml");
        std::fs::write(&path, format!("{TEAMS_AND_DESTINATIONS}\n{routes}")).unwrap();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::load_from(Some(&path), env)
    }

    fn router(routes: &str) -> Router {
        let settings = load(routes, &[]).unwrap_or_else(|e| panic!("{e:#}"));
        Router::new(&settings).unwrap()
    }

    /// The whole error chain of a configuration that must not start.
    fn error(routes: &str, env: &[(&str, &str)]) -> String {
        match load(routes, env) {
            Ok(_) => panic!("the configuration was accepted:\n{routes}"),
            Err(e) => format!("{e:#}"),
        }
    }

    fn assert_error(routes: &str, env: &[(&str, &str)], expected: &[&str]) {
        let message = error(routes, env);
        for part in expected {
            assert!(message.contains(part), "{part:?} is not in {message:?}");
        }
    }

    fn example(kind: &str, name: &str) -> Value {
        let path = format!(
            "{}/schemas/examples/{kind}/valid/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    }

    fn release(name: &str) -> Value {
        example("release-notice", name)
    }

    fn offer(name: &str) -> Value {
        example("housing-offer", name)
    }

    fn jobcenter(name: &str) -> Value {
        example("jobcenter-message", name)
    }

    const TODAY: Date = date(2026, 10, 14);

    fn decide_on(router: &Router, document: &Value, birth_date: Option<Date>, on: Date) -> Decision {
        router.route(&Facts {
            kind: Kind::detect(document).expect("an example has one type member"),
            municipality: document["municipality"].as_str().unwrap(),
            sender_id: document["sender"]["id"].as_str().unwrap(),
            document,
            birth_date,
            on,
        })
    }

    fn decide(router: &Router, document: &Value) -> Decision {
        decide_on(router, document, Some(date(1985, 3, 15)), TODAY)
    }

    fn keys(decision: &Decision) -> Vec<String> {
        decision.targets().iter().map(Target::key).collect()
    }

    // Tree semantics.

    #[test]
    fn without_routes_everything_goes_to_the_single_intake() {
        let settings = Settings::load_from(None, Vec::<(String, String)>::new()).unwrap();
        let router = Router::new(&settings).unwrap();
        for document in [release("initial-parole"), offer("withdrawal"), jobcenter("appointment")] {
            let decision = decide(&router, &document);
            assert_eq!(decision.routes, ["default"]);
            assert_eq!(decision.teams, ["intake"]);
            assert!(decision.destinations.is_empty());
            assert_eq!(keys(&decision), ["mail:intake"]);
        }
    }

    #[test]
    fn the_root_teams_can_come_from_the_environment() {
        let settings = Settings::load_from(
            None,
            [
                ("INDGANG__TEAMS__MODTAGELSE__NAME", "Modtagelsen"),
                ("INDGANG__TEAMS__MODTAGELSE__MAILBOX", "modtagelse@kommune.example"),
                ("INDGANG__TEAMS__MODTAGELSE__LEAD", "leder@kommune.example"),
                ("INDGANG__ROUTING__TEAMS", "intake, modtagelse"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        let decision = decide(&Router::new(&settings).unwrap(), &release("initial-parole"));
        assert_eq!(decision.teams, ["intake", "modtagelse"]);
        assert_eq!(keys(&decision), ["mail:intake", "mail:modtagelse"]);
    }

    #[test]
    fn the_default_route_takes_what_no_route_matches() {
        let router = router(
            r#"
[[routing.routes]]
name = "addiction"
needs = ["addiction_treatment"]
teams = ["misbrug"]
"#,
        );
        let decision = decide(&router, &release("initial-parole"));
        assert_eq!(decision.routes, ["addiction"]);
        assert_eq!(decision.teams, ["misbrug"]);
        for document in [
            release("initial-consent-refused"),
            offer("offer-youth-housing"),
            jobcenter("case-closed"),
        ] {
            let decision = decide(&router, &document);
            assert_eq!(decision.routes, ["default"]);
            assert_eq!(decision.teams, ["intake"]);
        }
    }

    const TWO_SIBLINGS: &str = r#"
[[routing.routes]]
name = "addiction"
needs = ["addiction_treatment"]
teams = ["misbrug"]
destinations = ["case_system"]

[[routing.routes]]
name = "housing"
needs = ["housing"]
teams = ["bolig"]
destinations = ["housing_portal"]
"#;

    #[test]
    fn the_first_matching_route_takes_the_message() {
        let router = router(TWO_SIBLINGS);
        // initial-parole needs both housing and addiction treatment: the first route wins.
        let decision = decide(&router, &release("initial-parole"));
        assert_eq!(decision.routes, ["addiction"]);
        assert_eq!(decision.teams, ["misbrug"]);
        assert_eq!(decision.destinations, ["case_system"]);
        assert_eq!(keys(&decision), ["mail:misbrug", "case_system"]);
        // admission-sentence needs housing only: the second route.
        let decision = decide(&router, &release("admission-sentence"));
        assert_eq!(decision.routes, ["housing"]);
        assert_eq!(keys(&decision), ["mail:bolig", "housing_portal"]);
    }

    #[test]
    fn continue_lets_later_siblings_match_too() {
        let router =
            router(&TWO_SIBLINGS.replacen("teams = [\"misbrug\"]", "teams = [\"misbrug\"]\ncontinue = true", 1));
        let decision = decide(&router, &release("initial-parole"));
        assert_eq!(decision.routes, ["addiction", "housing"]);
        assert_eq!(decision.teams, ["misbrug", "bolig"]);
        assert_eq!(decision.destinations, ["case_system", "housing_portal"]);
        assert_eq!(
            keys(&decision),
            ["mail:misbrug", "mail:bolig", "case_system", "housing_portal"]
        );
        // A message the continuing route does not match still goes to the next one alone.
        assert_eq!(decide(&router, &release("admission-sentence")).routes, ["housing"]);
        // Nothing matches: the default route.
        assert_eq!(decide(&router, &release("cancellation")).routes, ["default"]);
    }

    const NESTED: &str = r#"
[[routing.routes]]
name = "release"
kinds = ["release-notice"]
teams = ["misbrug"]
destinations = ["case_system"]

[[routing.routes.routes]]
name = "addiction"
needs = ["addiction_treatment"]

[[routing.routes.routes.routes]]
name = "addiction-young"
age_under = 30

[[routing.routes.routes]]
name = "refused"
fields = [{ path = "/consent", values = ["refused"] }]
teams = ["bolig"]

[[routing.routes]]
name = "housing-offers"
kinds = ["housing-offer"]
destinations = ["housing_portal"]
"#;

    #[test]
    fn child_routes_refine_their_parent() {
        let router = router(NESTED);
        // A child with no teams or destinations of its own has its parent's.
        let decision = decide(&router, &release("initial-parole"));
        assert_eq!(decision.routes, ["addiction"]);
        assert_eq!(decision.teams, ["misbrug"]);
        assert_eq!(decision.destinations, ["case_system"]);
        // A child with teams of its own does not inherit the parent's destinations.
        let decision = decide(&router, &release("initial-consent-refused"));
        assert_eq!(decision.routes, ["refused"]);
        assert_eq!(decision.teams, ["bolig"]);
        assert!(decision.destinations.is_empty());
        // No child matches: the parent is the result.
        let decision = decide(&router, &release("cancellation"));
        assert_eq!(decision.routes, ["release"]);
        assert_eq!(keys(&decision), ["mail:misbrug", "case_system"]);
        // The parent does not match: its children are never tried.
        let decision = decide(&router, &offer("offer-youth-housing"));
        assert_eq!(decision.routes, ["housing-offers"]);
        assert!(decision.teams.is_empty());
        assert_eq!(keys(&decision), ["housing_portal"]);
        assert_eq!(decide(&router, &jobcenter("appointment")).routes, ["default"]);
    }

    #[test]
    fn inheritance_passes_through_generations() {
        let router = router(NESTED);
        let young = Some(date(2000, 1, 1));
        let decision = decide_on(&router, &release("initial-parole"), young, TODAY);
        assert_eq!(decision.routes, ["addiction-young"]);
        assert_eq!(decision.teams, ["misbrug"]);
        assert_eq!(decision.destinations, ["case_system"]);
    }

    #[test]
    fn teams_and_destinations_are_named_once() {
        let router = router(
            r#"
[[routing.routes]]
name = "one"
kinds = ["release-notice"]
teams = ["misbrug", "intake"]
destinations = ["case_system"]
continue = true

[[routing.routes]]
name = "two"
municipalities = ["751"]
teams = ["intake", "misbrug", "bolig"]
destinations = ["case_system", "housing_portal"]
"#,
        );
        let decision = decide(&router, &release("initial-parole"));
        assert_eq!(decision.routes, ["one", "two"]);
        assert_eq!(decision.teams, ["misbrug", "intake", "bolig"]);
        assert_eq!(decision.destinations, ["case_system", "housing_portal"]);
        assert_eq!(
            keys(&decision),
            [
                "mail:misbrug",
                "mail:intake",
                "mail:bolig",
                "case_system",
                "housing_portal"
            ]
        );
    }

    #[test]
    fn a_route_without_a_name_is_named_by_its_key() {
        let router = router(
            r#"
[[routing.routes]]
kinds = ["jobcenter-message"]
teams = ["bolig"]
"#,
        );
        assert_eq!(decide(&router, &jobcenter("appointment")).routes, ["routing.routes[0]"]);
    }

    #[test]
    fn target_keys_read_back() {
        for target in [Target::Mailbox("intake".into()), Target::Webhook("case_system".into())] {
            assert_eq!(Target::parse(&target.key()), target);
        }
        assert_eq!(Target::Mailbox("misbrug".into()).key(), "mail:misbrug");
        assert_eq!(Target::Webhook("case_system".into()).key(), "case_system");
    }

    // Matchers.

    /// Whether a single route with `matchers` takes `document` (given the birth date and day).
    fn takes_on(matchers: &str, document: &Value, birth_date: Option<Date>, on: Date) -> bool {
        let router = router(&format!(
            "[[routing.routes]]\nname = \"hit\"\nteams = [\"misbrug\"]\n{matchers}\n"
        ));
        let decision = decide_on(&router, document, birth_date, on);
        match decision.routes.as_slice() {
            [hit] if hit == "hit" => {
                assert_eq!(decision.teams, ["misbrug"]);
                true
            }
            [default] if default == "default" => {
                assert_eq!(decision.teams, ["intake"]);
                false
            }
            other => panic!("unexpected routes {other:?}"),
        }
    }

    fn takes(matchers: &str, document: &Value) -> bool {
        takes_on(matchers, document, Some(date(1985, 3, 15)), TODAY)
    }

    #[test]
    fn kinds_matcher() {
        let m = r#"kinds = ["housing-offer", "jobcenter-message"]"#;
        assert!(takes(m, &offer("withdrawal")));
        assert!(takes(m, &jobcenter("case-closed")));
        assert!(!takes(m, &release("initial-parole")));
    }

    #[test]
    fn municipalities_matcher() {
        let m = r#"municipalities = ["751", "461"]"#;
        assert!(takes(m, &release("initial-parole")));
        assert!(takes(m, &release("transfer-to-open-prison")));
        assert!(takes(m, &jobcenter("appointment")));
        assert!(!takes(m, &release("initial-consent-refused")));
        assert!(!takes(m, &offer("withdrawal")));
        // The environment's comma-separated form works too.
        assert!(takes(
            r#"municipalities = "101, 730""#,
            &release("update-release-on-friday")
        ));
    }

    #[test]
    fn senders_matcher() {
        let m = r#"senders = ["jobcenter-aarhus"]"#;
        assert!(takes(m, &jobcenter("appointment")));
        assert!(!takes(m, &release("initial-parole")));
        assert!(!takes(m, &offer("withdrawal")));
    }

    #[test]
    fn notice_types_matcher() {
        let m = r#"notice_types = ["update", "transfer"]"#;
        assert!(takes(m, &release("update-release-on-friday")));
        assert!(takes(m, &release("transfer-to-open-prison")));
        assert!(!takes(m, &release("initial-parole")));
        assert!(!takes(m, &jobcenter("appointment")));
    }

    #[test]
    fn custody_matcher() {
        let m = r#"custody = ["remand", "arrest"]"#;
        let mut notice = release("initial-parole");
        assert_eq!(notice["custody"]["type"], "sentence");
        assert!(!takes(m, &notice));
        notice["custody"]["type"] = "remand".into();
        assert!(takes(m, &notice));
        assert!(takes(r#"custody = "sentence""#, &release("initial-parole")));
    }

    #[test]
    fn needs_matcher_looks_for_any_listed_need() {
        let m = r#"needs = ["mental_health", "physical_health"]"#;
        assert!(takes(m, &release("update-release-on-friday")));
        assert!(!takes(m, &release("initial-parole")));
        // A notice without needs.
        assert!(release("cancellation").get("needs").is_none());
        assert!(!takes(m, &release("cancellation")));
        assert!(takes(r#"needs = ["addiction_treatment"]"#, &release("initial-parole")));
        let mut notice = release("initial-parole");
        notice["needs"] = serde_json::json!([]);
        assert!(!takes(r#"needs = ["addiction_treatment"]"#, &notice));
    }

    #[test]
    fn offer_types_matcher() {
        let m = r#"offer_types = ["withdrawal"]"#;
        assert!(takes(m, &offer("withdrawal")));
        assert!(!takes(m, &offer("offer-youth-housing")));
        assert!(!takes(m, &release("initial-parole")));
    }

    #[test]
    fn message_types_matcher() {
        let m = r#"message_types = ["appointment", "appointment_cancelled"]"#;
        assert!(takes(m, &jobcenter("appointment")));
        assert!(takes(m, &jobcenter("appointment-cancelled")));
        assert!(!takes(m, &jobcenter("benefit-decision-granted")));
        assert!(!takes(m, &offer("withdrawal")));
    }

    #[test]
    fn field_matcher_on_a_text_member() {
        let m = r#"fields = [{ path = "/consent", values = ["given"] }]"#;
        assert!(takes(m, &release("initial-parole")));
        assert!(!takes(m, &release("initial-consent-refused")));
        assert!(!takes(m, &offer("offer-youth-housing")));
        let nested = r#"fields = [{ path = "/dwelling/kind", values = ["youth_housing", "skaev_bolig"] }]"#;
        assert!(takes(nested, &offer("offer-youth-housing")));
        assert!(takes(nested, &offer("vacant-skaev-bolig")));
        assert!(!takes(nested, &offer("offer-named-citizen-dogs-allowed")));
        assert!(!takes(nested, &offer("withdrawal")));
    }

    #[test]
    fn field_matcher_on_a_boolean_member() {
        let m = r#"fields = [{ path = "/cover_letter", values = ["true"] }]"#;
        assert_eq!(release("initial-parole")["cover_letter"], true);
        assert!(takes(m, &release("initial-parole")));
        assert_eq!(release("admission-sentence")["cover_letter"], false);
        assert!(!takes(m, &release("admission-sentence")));
        assert!(release("cancellation").get("cover_letter").is_none());
        assert!(!takes(m, &release("cancellation")));
        let mut notice = release("initial-parole");
        notice["cover_letter"] = Value::Null;
        assert!(!takes(m, &notice));
        assert!(takes(
            r#"fields = [{ path = "/cover_letter", values = ["false"] }]"#,
            &release("admission-sentence")
        ));
    }

    #[test]
    fn field_matcher_on_a_number_member() {
        let m = r#"fields = [{ path = "/custody/sentence_length_days", values = ["730"] }]"#;
        assert_eq!(release("initial-parole")["custody"]["sentence_length_days"], 730);
        assert!(takes(m, &release("initial-parole")));
        let mut notice = release("initial-parole");
        notice["custody"]["sentence_length_days"] = 731.into();
        assert!(!takes(m, &notice));
    }

    #[test]
    fn every_matcher_of_a_route_must_hold() {
        let m = r#"
municipalities = ["751"]
needs = ["housing"]
fields = [{ path = "/consent", values = ["given"] }]
"#;
        assert!(takes(m, &release("initial-parole")));
        // Needs housing and consented, but from 101.
        assert!(!takes(m, &release("initial-consent-refused")));
        let mut notice = release("initial-parole");
        notice["consent"] = "not_asked".into();
        assert!(!takes(m, &notice));
        // From 751, but has no needs.
        assert!(!takes(m, &jobcenter("appointment")));
    }

    #[test]
    fn age_under_counts_whole_years_to_the_day() {
        let m = "age_under = 25";
        let parole = release("initial-parole");
        let birth = Some(date(2001, 3, 10));
        assert!(
            takes_on(m, &parole, birth, date(2026, 3, 9)),
            "the day before the 25th birthday"
        );
        assert!(!takes_on(m, &parole, birth, date(2026, 3, 10)), "on the 25th birthday");
        assert!(!takes_on(m, &parole, birth, date(2026, 3, 11)));
        // Month earlier but day later still counts by month first.
        assert!(takes_on(m, &parole, birth, date(2026, 2, 28)));
        assert!(!takes_on(m, &parole, birth, date(2026, 4, 1)));
        // No birth date (a vacant dwelling): no age matcher holds.
        assert!(!takes_on(m, &offer("vacant-skaev-bolig"), None, date(2026, 3, 9)));
    }

    #[test]
    fn age_at_least_counts_whole_years_to_the_day() {
        let m = "age_at_least = 25";
        let parole = release("initial-parole");
        let birth = Some(date(2001, 3, 10));
        assert!(
            !takes_on(m, &parole, birth, date(2026, 3, 9)),
            "the day before the 25th birthday"
        );
        assert!(takes_on(m, &parole, birth, date(2026, 3, 10)), "on the 25th birthday");
        assert!(takes_on(m, &parole, birth, date(2027, 1, 1)));
        assert!(!takes_on(m, &offer("vacant-skaev-bolig"), None, date(2030, 1, 1)));
    }

    #[test]
    fn an_age_band() {
        let m = "age_at_least = 18\nage_under = 30";
        let parole = release("initial-parole");
        let on = date(2026, 10, 14);
        assert!(!takes_on(m, &parole, Some(date(2008, 10, 15)), on), "17");
        assert!(takes_on(m, &parole, Some(date(2008, 10, 14)), on), "18 today");
        assert!(takes_on(m, &parole, Some(date(1996, 10, 15)), on), "29");
        assert!(!takes_on(m, &parole, Some(date(1996, 10, 14)), on), "30 today");
    }

    #[test]
    fn age_of_someone_born_on_a_leap_day() {
        assert_eq!(age(date(2004, 2, 29), date(2022, 2, 28)), 17);
        assert_eq!(age(date(2004, 2, 29), date(2022, 3, 1)), 18);
        assert_eq!(age(date(2004, 2, 29), date(2024, 2, 29)), 20);
    }

    // Configurations that stop the start.

    #[test]
    fn an_unknown_team_stops_the_start() {
        assert_error(
            "[[routing.routes]]\nkinds = [\"release-notice\"]\nteams = [\"misbrugg\"]\n",
            &[],
            &["routing.routes[0].teams", "\"misbrugg\"", "bolig, intake, misbrug"],
        );
        assert_error(
            "",
            &[("INDGANG__ROUTING__TEAMS", "nobody")],
            &["routing.teams", "unknown team \"nobody\""],
        );
    }

    #[test]
    fn an_unknown_destination_stops_the_start() {
        assert_error(
            "[[routing.routes]]\nkinds = [\"release-notice\"]\ndestinations = [\"esdh\"]\n",
            &[],
            &[
                "routing.routes[0].destinations",
                "\"esdh\"",
                "case_system, housing_portal",
            ],
        );
    }

    #[test]
    fn a_kind_that_does_not_exist_stops_the_start() {
        assert_error(
            "[[routing.routes]]\nkinds = [\"release-notice\", \"release-notices\"]\nteams = [\"misbrug\"]\n",
            &[],
            &["routing.routes[0].kinds", "\"release-notices\" is not a kind"],
        );
    }

    #[test]
    fn a_value_outside_the_schema_stops_the_start() {
        assert_error(
            "[[routing.routes]]\nneeds = [\"housing\", \"addiction\"]\nteams = [\"misbrug\"]\n",
            &[],
            &["routing.routes[0].needs", "\"addiction\"", "addiction_treatment"],
        );
        assert_error(
            "[[routing.routes]]\ncustody = [\"prison\"]\nteams = [\"misbrug\"]\n",
            &[],
            &["routing.routes[0].custody", "\"prison\"", "/custody/type"],
        );
        assert_error(
            "[[routing.routes]]\nmessage_types = [\"appointments\"]\nteams = [\"misbrug\"]\n",
            &[],
            &["routing.routes[0].message_types", "\"appointments\""],
        );
        assert_error(
            "[[routing.routes]]\nfields = [{ path = \"/cover_letter\", values = [\"yes\"] }]\nteams = [\"misbrug\"]\n",
            &[],
            &["routing.routes[0].fields[0]", "\"yes\"", "true, false"],
        );
    }

    #[test]
    fn a_field_no_kind_has_stops_the_start() {
        assert_error(
            r#"
[[routing.routes]]
name = "consenting"
teams = ["misbrug"]
fields = [{ path = "/consent", values = ["given"] }, { path = "/custody/kind", values = ["x"] }]
"#,
            &[],
            &[
                "routing.routes[0].fields[1]",
                "no kind of message has a member /custody/kind",
            ],
        );
        assert_error(
            "[[routing.routes]]\nfields = [{ path = \"consent\", values = [\"given\"] }]\nteams = [\"misbrug\"]\n",
            &[],
            &["routing.routes[0].fields[0]", "not a JSON pointer"],
        );
    }

    #[test]
    fn routing_on_the_citizen_stops_the_start() {
        for path in ["/citizen/cpr", "/citizen/name", "/citizen"] {
            assert_error(
                &format!(
                    "[[routing.routes]]\nfields = [{{ path = \"{path}\", values = [\"x\"] }}]\nteams = [\"misbrug\"]\n"
                ),
                &[],
                &["routing.routes[0].fields[0]", "citizen's personal data is not allowed"],
            );
        }
    }

    #[test]
    fn a_field_matcher_that_can_never_match_stops_the_start() {
        // An object has no value of its own.
        assert_error(
            "[[routing.routes]]\nfields = [{ path = \"/custody\", values = [\"sentence\"] }]\nteams = [\"misbrug\"]\n",
            &[],
            &["routing.routes[0].fields[0]", "/custody is an object"],
        );
        // No values at all.
        assert_error(
            "[[routing.routes]]\nfields = [{ path = \"/consent\", values = [] }]\nteams = [\"misbrug\"]\n",
            &[],
            &["routing.routes[0].fields[0]", "can never match"],
        );
    }

    #[test]
    fn a_municipality_not_served_stops_the_start() {
        let routes = "[[routing.routes]]\nmunicipalities = [\"101\"]\nteams = [\"misbrug\"]\n";
        assert_error(
            routes,
            &[("INDGANG__MUNICIPALITIES", "751")],
            &[
                "routing.routes[0].municipalities",
                "101 is not among the municipalities this gateway serves",
            ],
        );
        assert!(load(routes, &[("INDGANG__MUNICIPALITIES", "751,101")]).is_ok());
        assert_error(
            "[[routing.routes]]\nmunicipalities = [\"999\"]\nteams = [\"misbrug\"]\n",
            &[],
            &["routing.routes[0].municipalities", "\"999\""],
        );
    }

    #[test]
    fn fields_of_two_kinds_in_one_route_stop_the_start() {
        assert_error(
            r#"
[[routing.routes]]
kinds = ["release-notice"]
teams = ["misbrug"]

[[routing.routes]]
name = "impossible"
needs = ["housing"]
offer_types = ["offer"]
teams = ["bolig"]
"#,
            &[],
            &["routing.routes[1]", "can never match"],
        );
        assert_error(
            "[[routing.routes]]\nkinds = [\"housing-offer\"]\nneeds = [\"housing\"]\nteams = [\"bolig\"]\n",
            &[],
            &["routing.routes[0]", "can never match"],
        );
    }

    #[test]
    fn a_child_outside_its_parent_stops_the_start() {
        assert_error(
            r#"
[[routing.routes]]
kinds = ["release-notice"]
teams = ["misbrug"]

[[routing.routes.routes]]
offer_types = ["offer"]
"#,
            &[],
            &["routing.routes[0].routes[0]", "can never match"],
        );
        assert_error(
            r#"
[[routing.routes]]
municipalities = ["751"]
teams = ["misbrug"]

[[routing.routes.routes]]
municipalities = ["101"]
"#,
            &[],
            &[
                "routing.routes[0].routes[0]",
                "can never match",
                "none of its municipalities",
            ],
        );
        // The wrong key deep in the tree is named in full.
        assert_error(
            r#"
[[routing.routes]]
kinds = ["release-notice"]
teams = ["misbrug"]

[[routing.routes.routes]]
needs = ["housing"]

[[routing.routes.routes]]
needs = ["employment"]
teams = ["nobody"]
"#,
            &[],
            &["routing.routes[0].routes[1].teams", "\"nobody\""],
        );
    }

    #[test]
    fn a_route_after_a_catch_all_sibling_stops_the_start() {
        let routes = r#"
[[routing.routes]]
name = "everything"
teams = ["misbrug"]

[[routing.routes]]
name = "addiction"
needs = ["addiction_treatment"]
teams = ["bolig"]
"#;
        assert_error(
            routes,
            &[],
            &[
                "routing.routes[1] (\"addiction\") can never match",
                "routing.routes[0] (\"everything\")",
            ],
        );
        // With continue = true on the catch-all the later route is reachable.
        let router = router(&routes.replacen("teams = [\"misbrug\"]", "teams = [\"misbrug\"]\ncontinue = true", 1));
        assert_eq!(
            decide(&router, &release("initial-parole")).routes,
            ["everything", "addiction"]
        );
        assert_eq!(decide(&router, &offer("withdrawal")).routes, ["everything"]);
    }

    #[test]
    fn a_route_after_a_wider_sibling_stops_the_start() {
        let wider_first = r#"
[[routing.routes]]
name = "wide"
kinds = ["release-notice", "housing-offer"]
teams = ["misbrug"]

[[routing.routes]]
name = "narrow"
kinds = ["release-notice"]
municipalities = ["751"]
teams = ["bolig"]
"#;
        assert_error(
            wider_first,
            &[],
            &[
                "routing.routes[1] (\"narrow\") can never match",
                "routing.routes[0] (\"wide\")",
            ],
        );
        // Narrow first is fine.
        let router = router(
            r#"
[[routing.routes]]
name = "narrow"
kinds = ["release-notice"]
municipalities = ["751"]
teams = ["bolig"]

[[routing.routes]]
name = "wide"
kinds = ["release-notice", "housing-offer"]
teams = ["misbrug"]
"#,
        );
        assert_eq!(decide(&router, &release("initial-parole")).routes, ["narrow"]);
        assert_eq!(decide(&router, &release("cancellation")).routes, ["wide"]);
        // So is a wider sibling that lets messages through.
        router_ok(&wider_first.replacen("teams = [\"misbrug\"]", "teams = [\"misbrug\"]\ncontinue = true", 1));
        // Shadowing by values and ages is found too.
        assert_error(
            r#"
[[routing.routes]]
needs = ["housing", "employment"]
age_under = 30
teams = ["misbrug"]

[[routing.routes]]
needs = ["housing"]
age_under = 25
teams = ["bolig"]
"#,
            &[],
            &["routing.routes[1]", "can never match", "routing.routes[0]"],
        );
        // Overlapping but not contained: accepted.
        router_ok(
            r#"
[[routing.routes]]
needs = ["housing"]
teams = ["misbrug"]

[[routing.routes]]
needs = ["housing", "employment"]
teams = ["bolig"]
"#,
        );
    }

    fn router_ok(routes: &str) {
        if let Err(e) = load(routes, &[]) {
            panic!("{e:#}\n{routes}");
        }
    }

    #[test]
    fn an_empty_age_band_stops_the_start() {
        assert_error(
            "[[routing.routes]]\nage_at_least = 30\nage_under = 30\nteams = [\"misbrug\"]\n",
            &[],
            &["routing.routes[0]", "can never match", "at least 30 and under 30"],
        );
        assert_error(
            "[[routing.routes]]\nage_at_least = 40\nage_under = 30\nteams = [\"misbrug\"]\n",
            &[],
            &["routing.routes[0]", "can never match"],
        );
        assert_error(
            "[[routing.routes]]\nage_under = 0\nteams = [\"misbrug\"]\n",
            &[],
            &["routing.routes[0].age_under", "between 1 and 150"],
        );
        router_ok("[[routing.routes]]\nage_at_least = 29\nage_under = 30\nteams = [\"misbrug\"]\n");
    }

    #[test]
    fn matchers_on_the_root_stop_the_start() {
        assert_error(
            "",
            &[("INDGANG__ROUTING__KINDS", "release-notice")],
            &["routing:", "root"],
        );
        assert_error("[routing]\nneeds = [\"housing\"]\n", &[], &["routing:", "root"]);
        assert_error("[routing]\ncontinue = true\n", &[], &["routing:", "root"]);
        assert_error(
            "",
            &[("INDGANG__ROUTING__TEAMS", "")],
            &["routing:", "at least one team or destination"],
        );
    }
}
