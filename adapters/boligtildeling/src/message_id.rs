//! Stable message ids for rows without a `besked_id`.
//!
//! The gateway de-duplicates by (sender, message_id) and answers 409 when an id comes back with
//! different content. A row's id must therefore be the same every time the same row is sent, and
//! differ when the offer it carries differs. It is
//!
//! ```text
//! {tilbud_id}:{offer_type}:{hash}
//! ```
//!
//! where `hash` is the first 16 hex digits of the SHA-256 of the canonical offer **without**
//! `message_id`, `sent_at` and the sender's id and name (they come from the caller), written as
//! JSON with the members of every object in sorted order and no spaces. So the id depends on
//! what the row says, not on how the file spells it (`6.450,50` or `6450,5`, `Ja` or `ja`, the
//! order of the columns, the row's place in the file). `sent_at` is left out on purpose: an
//! unchanged offer exported again with a new `sendt` keeps its id, and the gateway reports the
//! changed time as a conflict rather than filing the same offer twice. `tilbud_id` is cut to its
//! first 100 characters so the id keeps within the schema's 128.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The id of `offer` (a canonical housing offer) with offer id `offer_id` and type `offer_type`.
pub fn derive(offer: &Value, offer_id: &str, offer_type: &str) -> String {
    let mut content = offer.clone();
    if let Some(members) = content.as_object_mut() {
        members.remove("message_id");
        members.remove("sent_at");
        if let Some(sender) = members.get_mut("sender").and_then(Value::as_object_mut) {
            sender.remove("id");
            sender.remove("name");
        }
    }
    let mut text = String::new();
    write_canonical(&content, &mut text);
    let digest = Sha256::digest(text.as_bytes());
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let prefix: String = offer_id.chars().take(100).collect();
    format!("{prefix}:{offer_type}:{hash}")
}

/// JSON with sorted members and no whitespace, whatever order the map keeps.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(members) => {
            let mut keys: Vec<&String> = members.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                if let Some(member) = members.get(key) {
                    write_canonical(member, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_id_ignores_order_time_and_sender() {
        let a = json!({"offer_id": "T-1", "sent_at": "2026-11-10T14:20:00+01:00",
                       "sender": {"id": "a", "name": "A"}, "dwelling": {"rooms": 2, "kind": "other"}});
        let b = json!({"dwelling": {"kind": "other", "rooms": 2}, "offer_id": "T-1",
                       "sender": {"name": "B", "id": "b"}, "sent_at": "2026-11-11T08:00:00+01:00"});
        let c = json!({"offer_id": "T-1", "dwelling": {"kind": "other", "rooms": 3}});
        assert_eq!(derive(&a, "T-1", "offer"), derive(&b, "T-1", "offer"));
        assert_ne!(derive(&a, "T-1", "offer"), derive(&c, "T-1", "offer"));
        assert!(derive(&a, "T-1", "offer").starts_with("T-1:offer:"));
        assert_eq!(derive(&a, &"X".repeat(128), "withdrawal").len(), 100 + 12 + 16);
    }
}
