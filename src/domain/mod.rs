//! Always-valid domain types. Handlers turn input into these once; inner code trusts them.

pub mod calendar;
pub mod case_ref;
pub mod cpr;
pub mod kind;
pub mod kommune;
pub mod working_days;

pub use case_ref::CaseRef;
pub use cpr::Cpr;
pub use kind::Kind;
pub use kommune::{Kommunekode, Municipalities};

static COPENHAGEN: std::sync::LazyLock<jiff::tz::TimeZone> = std::sync::LazyLock::new(|| {
    jiff::tz::TimeZone::get("Europe/Copenhagen").expect("the bundled tz database has Europe/Copenhagen")
});

/// The Danish civil time zone: deadlines and date checks are made in it. Looked up once; each
/// message's date checks only clone the handle.
pub fn copenhagen() -> jiff::tz::TimeZone {
    COPENHAGEN.clone()
}

/// Today's date in Copenhagen at the instant `now`.
pub fn copenhagen_date(now: jiff::Timestamp) -> jiff::civil::Date {
    now.to_zoned(copenhagen()).date()
}
