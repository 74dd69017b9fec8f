//! Members of the published schemas by JSON pointer: whether a kind of message has a member,
//! whether it is a date, which values it may take. Routes and deadline policies use these to
//! check what they match on when they are compiled.

use crate::domain::Kind;
use anyhow::bail;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

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
                    serde_json::from_str(super::schema_text(kind)).expect("the embedded schemas are JSON");
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

/// The text a member's value is matched by: a string as it is, anything else as JSON.
pub fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
