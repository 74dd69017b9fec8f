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
///
/// The last instants worked out on this thread are kept, a slot per day and hour: a message's
/// deadlines and reminders fall on a few days, mostly the same as the messages' before, and
/// the time library works the year's daylight-saving rule out again on each call, a quarter of
/// planning a release notice's deadlines (docs/benchmarks.md, "The writer's statements").
pub fn copenhagen_instant(at: jiff::civil::DateTime) -> Result<jiff::Timestamp, jiff::Error> {
    type Slot = Option<(jiff::civil::DateTime, jiff::Timestamp)>;
    const SLOTS: usize = 512;
    thread_local! {
        static RECENT: std::cell::RefCell<[Slot; SLOTS]> = const { std::cell::RefCell::new([None; SLOTS]) };
    }
    // In i64 and Euclid's remainder: years before 1 are negative, and the slot is only a hash.
    let day = i64::from(at.year()) * 372 + i64::from(at.month()) * 31 + i64::from(at.day());
    let slot = (day * 24 + i64::from(at.hour())).rem_euclid(SLOTS as i64) as usize;
    if let Some((key, instant)) = RECENT.with_borrow(|recent| recent[slot])
        && key == at
    {
        return Ok(instant);
    }
    let instant = COPENHAGEN.to_timestamp(at)?;
    RECENT.with_borrow_mut(|recent| recent[slot] = Some((at, instant)));
    Ok(instant)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Years before 1 (a member date of year 0 with working days counted back) and the last
    /// ones the time library knows: the same instant as `to_zoned`, or the same refusal.
    #[test]
    fn far_years_give_what_zoned_gives() {
        for (year, month, day) in [(-1, 12, 31), (0, 1, 3), (1, 6, 1), (2199, 12, 31), (9999, 12, 31)] {
            let at = jiff::civil::date(year, month, day).at(23, 30, 0, 0);
            for _ in 0..2 {
                match at.to_zoned(copenhagen()) {
                    Ok(zoned) => assert_eq!(copenhagen_instant(at).unwrap(), zoned.timestamp(), "{at}"),
                    Err(_) => assert!(copenhagen_instant(at).is_err(), "{at}"),
                }
            }
        }
    }

    #[test]
    fn the_short_ways_give_what_zoned_gives_across_daylight_saving() {
        // 2026 changes on 29 March (02:00–03:00 skipped) and 25 October (02:00–03:00 twice).
        // Each instant asked for twice in a row: the second answer comes from the instants kept.
        // The minutes of an hour share a slot, so a slot's instant must not answer for another minute.
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
                    assert_eq!(copenhagen_instant(at).unwrap(), zoned.timestamp(), "{at}, again");
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
