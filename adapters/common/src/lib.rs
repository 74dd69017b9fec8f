//! What indgang's partner-format adapters share. Each adapter reads its own format and words its
//! own messages; the rules a value must follow are kept here once where two formats have the same
//! rule (an email address, a telephone number, a UTC offset, Danish time), so that the formats
//! cannot drift apart by accident. A rule that differs between formats stays in its adapter.
//!
//! A rule here is every format's rule that uses it: Kriminalforsorgen's adapter checks the
//! patterns of its XSD (`schemas/xml/release-notice.v1.xsd`) for CPR numbers, telephone numbers
//! and identifiers with [`is_cpr`], [`is_phone`] and [`is_identifier`], so a change to one of
//! them must be made in that XSD too, or the adapter and the XSD stop agreeing.
//!
//! Like the adapters, everything here is pure: no I/O, no panics on any input.

mod time;
mod values;

#[cfg(feature = "test-support")]
pub mod test_support;

pub use time::{DanishTime, calendar_date, danish_offset, iso_date, offset, offset_text};
pub use values::{email, is_cpr, is_identifier, is_phone, kommunekode, phone, shorten, text};
