//! Compiling `[routing]` into the route tree, checked against `[teams]`, `[destinations]`, the
//! schemas and `municipalities`: an unknown team or destination, a value no message can have,
//! or a route that can never match stops the start with the key that is wrong.

use super::{Condition, Node, Router};
use crate::config::{RouteSettings, Settings};
use crate::domain::{Kind, Kommunekode, Municipalities};
use crate::validation::schema_paths::check_field;
use anyhow::{Context, bail};
use std::collections::BTreeSet;

impl Router {
    /// Compiles and checks `[routing]` against `[teams]`, `[destinations]`, the schemas and
    /// `municipalities`.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Router> {
        let municipalities = Municipalities::from_settings(&settings.municipalities)?;
        let served: BTreeSet<String> = Kommunekode::all()
            .filter(|code| municipalities.contains(*code))
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
