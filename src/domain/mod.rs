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
    // The zone's offset at `now` alone: a `Zoned` would clone the handle and work the offset
    // out a second time.
    COPENHAGEN.to_datetime(now).date()
}

/// The instant of a civil date and time in Copenhagen, as `DateTime::to_zoned` gives it (a time
/// skipped or repeated by a daylight-saving change taken the "compatible" way), without making
/// a `Zoned`. An error beyond the instants the time library knows.
pub fn copenhagen_instant(at: jiff::civil::DateTime) -> Result<jiff::Timestamp, jiff::Error> {
    COPENHAGEN.to_timestamp(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_ways_give_what_zoned_gives_across_daylight_saving() {
        // 2026 changes on 29 March (02:00–03:00 skipped) and 25 October (02:00–03:00 twice).
        for day in [
            "2026-03-28",
            "2026-03-29",
            "2026-03-30",
            "2026-10-24",
            "2026-10-25",
            "2026-12-31",
        ] {
            let day: jiff::civil::Date = day.parse().unwrap();
            for hour in [0, 1, 2, 3, 16, 23] {
                for minute in [0, 30, 59] {
                    let at = day.at(hour, minute, 0, 0);
                    let zoned = at.to_zoned(copenhagen()).unwrap();
                    assert_eq!(copenhagen_instant(at).unwrap(), zoned.timestamp(), "{at}");
                    let instant = jiff::Timestamp::from_second(zoned.timestamp().as_second() - 3600 * 2).unwrap();
                    assert_eq!(
                        copenhagen_date(instant),
                        instant.to_zoned(copenhagen()).date(),
                        "{instant}"
                    );
                }
            }
        }
    }
}
