use serde::{Deserialize, Serialize};
use std::fmt;

/// The three kinds of message the gateway takes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    ReleaseNotice,
    HousingOffer,
    JobcenterMessage,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::ReleaseNotice, Kind::HousingOffer, Kind::JobcenterMessage];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ReleaseNotice => "release-notice",
            Kind::HousingOffer => "housing-offer",
            Kind::JobcenterMessage => "jobcenter-message",
        }
    }

    pub fn parse(input: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == input)
    }

    /// The member that only this kind has, used to tell the kind from a document's content.
    pub fn type_field(self) -> &'static str {
        match self {
            Kind::ReleaseNotice => "notice_type",
            Kind::HousingOffer => "offer_type",
            Kind::JobcenterMessage => "message_type",
        }
    }

    /// The kind a JSON document is, judged by its type member; `None` when it has none or several.
    pub fn detect(document: &serde_json::Value) -> Option<Kind> {
        let object = document.as_object()?;
        let mut found = Kind::ALL
            .into_iter()
            .filter(|kind| object.contains_key(kind.type_field()));
        let kind = found.next()?;
        found.next().is_none().then_some(kind)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
