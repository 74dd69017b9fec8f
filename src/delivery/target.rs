//! Where a delivery goes, and the key it is stored and reported under.

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
