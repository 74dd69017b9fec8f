//! The tables `indgang migrate-store` copies, in an order that fills every table before the tables
//! that point at it, with each column's type on the PostgreSQL side. Both schemas have the same
//! tables, columns and encodings (src/store/postgres/migrations/0001_init.sql); what differs is
//! converted here: SQLite's 0/1 flags become `BOOLEAN`, and a delivery's claim and a destination's
//! probe are dropped (the gateway that held them is stopped; SQLite would release a claim at its
//! next start too).
//!
//! A table added to the SQLite store must be named here, copied or left out with a reason: the
//! unit test below fails otherwise.

use tokio_postgres::types::Type;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
    Bytes,
    /// An INTEGER 0/1 in SQLite, a BOOLEAN in PostgreSQL.
    Flag,
}

impl Kind {
    pub fn postgres_type(self) -> Type {
        match self {
            Kind::Int => Type::INT8,
            Kind::Text => Type::TEXT,
            Kind::Bytes => Type::BYTEA,
            Kind::Flag => Type::BOOL,
        }
    }
}

pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    /// What is read from SQLite for it: the column itself, or an expression.
    pub from: &'static str,
}

const fn c(name: &'static str, kind: Kind) -> Column {
    Column { name, kind, from: name }
}

pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// The `id` column takes its values from a sequence (an identity column) in PostgreSQL,
    /// which must continue after the copied rows.
    pub id_sequence: bool,
}

use Kind::{Bytes, Flag, Int, Text};

pub const COPIED: &[Table] = &[
    Table {
        name: "meta",
        columns: &[c("key", Text), c("value", Text)],
        id_sequence: false,
    },
    Table {
        name: "cases",
        columns: &[
            c("id", Int),
            c("case_ref", Text),
            c("municipality", Text),
            c("subject_kind", Text),
            c("subject_hash", Bytes),
            c("cpr_sealed", Bytes),
            c("created_at", Int),
            c("updated_at", Int),
        ],
        // Case numbers come from the sequence `case_numbers`, set apart (see `mod.rs`).
        id_sequence: false,
    },
    Table {
        name: "messages",
        columns: &[
            c("id", Int),
            c("receipt_id", Text),
            c("kind", Text),
            c("sender_id", Text),
            c("message_id", Text),
            c("content_hash", Bytes),
            c("offer_hash", Bytes),
            c("case_id", Int),
            c("received_at", Int),
            c("body_sealed", Bytes),
            c("summary", Text),
            c("warnings", Text),
        ],
        id_sequence: true,
    },
    Table {
        name: "tokens",
        columns: &[
            c("id", Text),
            c("hash", Text),
            c("role", Text),
            c("sender_id", Text),
            c("kinds", Text),
            c("municipality", Text),
            c("team", Text),
            c("created_at", Int),
            c("revoked_at", Int),
        ],
        id_sequence: false,
    },
    Table {
        name: "deadlines",
        columns: &[
            c("id", Int),
            c("case_id", Int),
            c("message", Int),
            c("policy", Text),
            c("scope", Text),
            c("title", Text),
            c("team", Text),
            c("state", Text),
            c("due_at", Int),
            c("reminders", Text),
            c("reminders_done", Int),
            c("remind_to", Text),
            c("escalate_to", Text),
            c("next_alert_at", Int),
            c("created_at", Int),
            c("created_by", Text),
            c("resolved_at", Int),
            c("resolved_by", Text),
            c("outcome", Text),
        ],
        id_sequence: true,
    },
    Table {
        name: "deadline_events",
        columns: &[
            c("id", Int),
            c("deadline", Int),
            c("at", Int),
            c("event", Text),
            c("actor", Text),
            c("details", Text),
        ],
        id_sequence: true,
    },
    Table {
        name: "deliveries",
        columns: &[
            c("id", Int),
            c("delivery_id", Text),
            c("message", Int),
            c("case_id", Int),
            c("destination", Text),
            c("routes", Text),
            c("state", Text),
            c("attempts", Int),
            c("failures", Int),
            c("next_attempt_at", Int),
            Column {
                name: "claimed_until",
                kind: Int,
                from: "NULL",
            },
            c("created_at", Int),
            c("finished_at", Int),
            c("last_status", Int),
            c("last_error", Text),
            c("dead_reason", Text),
            c("purpose", Text),
            c("deadline", Int),
            c("payload", Text),
            c("alone", Flag),
        ],
        id_sequence: true,
    },
    Table {
        name: "delivery_attempts",
        columns: &[
            c("id", Int),
            c("delivery", Int),
            c("number", Int),
            c("started_at", Int),
            c("latency_us", Int),
            c("outcome", Text),
            c("status", Int),
            c("error", Text),
        ],
        id_sequence: true,
    },
    Table {
        name: "digests",
        columns: &[
            c("team", Text),
            c("day", Text),
            c("created_at", Int),
            c("delivery", Int),
        ],
        id_sequence: false,
    },
    Table {
        name: "audit_log",
        columns: &[
            c("id", Int),
            c("at", Int),
            c("actor_kind", Text),
            c("actor", Text),
            c("actor_name", Text),
            c("address", Text),
            c("action", Text),
            c("case_ref", Text),
            c("receipt_id", Text),
            c("target", Text),
            c("outcome", Text),
            c("prev", Bytes),
            c("seal", Bytes),
        ],
        // The chain numbers its entries itself, from its head.
        id_sequence: false,
    },
    Table {
        name: "audit_chain",
        columns: &[c("name", Text), c("id", Int), c("seal", Bytes), c("mac", Bytes)],
        id_sequence: false,
    },
    Table {
        name: "sender_certificates",
        columns: &[
            c("id", Text),
            c("sender_id", Text),
            c("kinds", Text),
            c("fingerprint", Text),
            c("subject_serial", Text),
            c("not_after", Int),
            c("created_at", Int),
            c("revoked_at", Int),
        ],
        id_sequence: false,
    },
    Table {
        name: "housing_needs",
        columns: &[
            c("case_id", Int),
            c("dog", Flag),
            c("cat", Flag),
            c("step_free", Flag),
            c("min_rooms", Int),
            c("max_rent_dkk", Int),
            c("preferred_postcodes", Text),
            c("avoided_postcodes", Text),
            c("note_sealed", Bytes),
            c("recorded_at", Int),
            c("updated_at", Int),
            c("updated_by", Text),
        ],
        id_sequence: false,
    },
    Table {
        name: "housing_answers",
        columns: &[
            c("id", Int),
            c("home_case_id", Int),
            c("message", Int),
            c("offer_id", Text),
            c("answer", Text),
            c("citizen_case_id", Int),
            c("candidate_rank", Int),
            c("reason", Text),
            c("answered_at", Int),
            c("answered_by", Text),
            c("delivery", Int),
        ],
        id_sequence: true,
    },
    Table {
        name: "destination_pauses",
        columns: &[
            c("destination", Text),
            c("failures_in_row", Int),
            c("paused_until", Int),
            c("pause_seconds", Int),
            // A probe under way belonged to the stopped gateway: the destination is probed again.
            Column {
                name: "probe_until",
                kind: Int,
                from: "NULL",
            },
            c("held_at", Int),
            c("held_by", Text),
            c("held_by_name", Text),
        ],
        id_sequence: false,
    },
];

/// SQLite tables that are not copied, and why (printed with their counts).
pub const LEFT_OUT: &[(&str, &str)] = &[
    (
        "sessions",
        "not copied: a session is a sign-in credential; people sign in again",
    ),
    (
        "logins",
        "not copied: sign-ins under way, gone after ten minutes anyway",
    ),
];

/// SQLite tables that PostgreSQL does not have: made from the copied rows, so not copied.
pub const DERIVED: &[(&str, &str)] = &[(
    "alarms",
    "not copied: when each case has an alert due, made from deadlines.next_alert_at (PostgreSQL finds \
     them by its index on next_alert_at)",
)];

impl Table {
    pub fn column_list(&self) -> String {
        self.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
    }

    pub fn sqlite_select(&self) -> String {
        let columns: Vec<&str> = self.columns.iter().map(|c| c.from).collect();
        format!("SELECT {} FROM {}", columns.join(", "), self.name)
    }

    pub fn types(&self) -> Vec<Type> {
        self.columns.iter().map(|c| c.kind.postgres_type()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table of a new SQLite database is copied or named as left out, and every column
    /// of a copied table is copied: a table or column added by a new SQLite migration must be
    /// added here, or `migrate-store` would lose it.
    #[test]
    fn every_sqlite_table_and_column_is_copied_or_named_as_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("indgang.db");
        drop(crate::store::sqlite::SqliteStore::open(&path, 1, 1, std::time::Duration::ZERO).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut statement = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        let tables: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for table in &tables {
            let copied = COPIED.iter().find(|t| t.name == table);
            let left_out = LEFT_OUT.iter().chain(DERIVED).any(|(name, _)| name == table);
            assert!(
                copied.is_some() || left_out,
                "the SQLite table {table} is neither copied nor left out"
            );
            if let Some(copied) = copied {
                let mut columns = conn
                    .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .unwrap();
                let names: Vec<String> = columns
                    .query_map([], |row| row.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                let listed: Vec<&str> = copied.columns.iter().map(|c| c.name).collect();
                assert_eq!(names, listed, "the columns of {table}");
            }
        }
        for table in COPIED {
            assert!(
                tables.iter().any(|t| t == table.name),
                "{} is no SQLite table",
                table.name
            );
        }
    }
}
