//! From the element tree to canonical JSON, checking the tree against the format table: the root,
//! the namespace, which elements may appear where and in what order, how often, and their values.
//! Every fault is collected; the elements inside an unknown element are not looked at.

use crate::format::{Content, Field, MESSAGE, Rule};
use crate::parse::Element;
use crate::text::Faults;
use crate::values;
use crate::{NAMESPACE, ROOT_ELEMENT};
use serde_json::{Map, Value};

/// The canonical message, if the root is a release notice; its faults are in `faults`.
pub(crate) fn message(root: &Element, faults: &mut Faults) -> Option<Value> {
    if root.unbound {
        return None;
    }
    if root.namespace.as_deref() != Some(NAMESPACE) || root.local != ROOT_ELEMENT {
        faults.add(
            root.at,
            format!(
                "the root element must be {ROOT_ELEMENT} in the namespace {NAMESPACE}; found <{}> {}",
                root.name,
                namespace_phrase(root)
            ),
        );
        return None;
    }
    Some(Value::Object(group(root, MESSAGE, faults)))
}

fn namespace_phrase(element: &Element) -> String {
    match &element.namespace {
        Some(namespace) => format!("in the namespace {namespace}"),
        None => "without a namespace".into(),
    }
}

/// Whether `child` is an element of the format (in its namespace), reporting it if not.
fn in_format(child: &Element, parent: &Element, faults: &mut Faults) -> bool {
    if child.namespace.as_deref() == Some(NAMESPACE) {
        return true;
    }
    if child.unbound {
        return false;
    }
    faults.add(
        child.at,
        format!(
            "unknown element <{}> {} in <{}>: the elements of a release notice are in the namespace {NAMESPACE}",
            child.name,
            namespace_phrase(child),
            parent.name
        ),
    );
    false
}

fn element_only(element: &Element, faults: &mut Faults) {
    if let Some(at) = element.text_at.or(element.cdata_at) {
        faults.add(
            at,
            format!(
                "<{}> holds elements only; text is not allowed directly in it",
                element.name
            ),
        );
    }
}

fn group(element: &Element, fields: &[Field], faults: &mut Faults) -> Map<String, Value> {
    element_only(element, faults);
    let mut object = Map::new();
    let mut seen = vec![false; fields.len()];
    let mut furthest: Option<usize> = None;
    for child in &element.children {
        if !in_format(child, element, faults) {
            continue;
        }
        let Some(index) = fields.iter().position(|f| f.element == child.local) else {
            faults.add(
                child.at,
                format!("unknown element <{}> in <{}>", child.name, element.name),
            );
            continue;
        };
        let field = &fields[index];
        if seen[index] {
            faults.add(
                child.at,
                format!("<{}> appears more than once in <{}>", child.name, element.name),
            );
            continue;
        }
        seen[index] = true;
        match furthest {
            Some(last) if index < last => faults.add(
                child.at,
                format!(
                    "<{}> is out of order in <{}>: it must come before <{}>",
                    child.name, element.name, fields[last].element
                ),
            ),
            _ => furthest = Some(index),
        }
        if let Some(value) = content(child, &field.content, faults) {
            object.insert(field.member.to_owned(), value);
        }
    }
    for (field, seen) in fields.iter().zip(seen) {
        if field.required && !seen {
            faults.add(
                element.at,
                format!("<{}> lacks the required element <{}>", element.name, field.element),
            );
        }
    }
    object
}

fn content(element: &Element, content: &Content, faults: &mut Faults) -> Option<Value> {
    match content {
        Content::Text(rule) => simple(element, *rule, faults),
        Content::Group(fields) => Some(Value::Object(group(element, fields, faults))),
        Content::List { item, rule, max } => list(element, item, *rule, *max, faults),
    }
}

fn simple(element: &Element, rule: Rule, faults: &mut Faults) -> Option<Value> {
    if let Some(child) = element.children.first() {
        faults.add(
            child.at,
            format!(
                "<{}> holds text only; the element <{}> is not allowed in it",
                element.name, child.name
            ),
        );
        return None;
    }
    match values::check(rule, &element.text) {
        Ok(value) => Some(value),
        Err(why) => {
            faults.add(element.at, format!("<{}> {why}", element.name));
            None
        }
    }
}

fn list(element: &Element, item: &str, rule: Rule, max: usize, faults: &mut Faults) -> Option<Value> {
    element_only(element, faults);
    let mut items: Vec<Value> = Vec::new();
    let mut count = 0;
    for child in &element.children {
        if !in_format(child, element, faults) {
            continue;
        }
        if child.local != item {
            faults.add(
                child.at,
                format!(
                    "unknown element <{}> in <{}>: it holds <{item}> elements only",
                    child.name, element.name
                ),
            );
            continue;
        }
        count += 1;
        if count == max + 1 {
            faults.add(
                child.at,
                format!("<{}> holds at most {max} <{item}> elements", element.name),
            );
        }
        let Some(value) = simple(child, rule, faults) else {
            continue;
        };
        if items.contains(&value) {
            faults.add(
                child.at,
                format!("<{}> repeats a value; each value may appear once", element.name),
            );
            continue;
        }
        items.push(value);
    }
    Some(Value::Array(items))
}
