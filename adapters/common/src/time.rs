//! The parts of dates and times the formats share: ISO dates, UTC offsets, and the offset of a
//! time on Danish clocks. How a whole date and time is written differs between the formats, so
//! each adapter reads that itself and comes here for the parts.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// A date in the calendar, from year 1900 to 2199: dates outside that span are taken for typing
/// errors, the same in every format.
pub fn calendar_date(year: i16, month: i8, day: i8) -> Option<Date> {
    if !(1900..=2199).contains(&year) {
        return None;
    }
    Date::new(year, month, day).ok()
}

/// `YYYY-MM-DD`, exactly four, two and two digits, that exists in the calendar (see
/// [`calendar_date`]).
pub fn iso_date(s: &str) -> Option<Date> {
    let fields: Vec<&str> = s.split('-').collect();
    let [year, month, day] = fields.as_slice() else {
        return None;
    };
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    calendar_date(year.parse().ok()?, two(month)?, two(day)?)
}

fn two(s: &str) -> Option<i8> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `±hh:mm`, in seconds east of UTC; hours up to 23. Whether `Z` also stands for UTC is the
/// format's rule, so it is not read here.
pub fn offset(s: &str) -> Option<i32> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s.get(1..)?.split_once(':')?;
    let (h, m) = (i32::from(two(h)?), i32::from(two(m)?));
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// An offset in seconds east of UTC as RFC 3339 writes it, `±hh:mm`; UTC itself is `+00:00`.
pub fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.unsigned_abs();
    format!("{sign}{:02}:{:02}", seconds / 3600, seconds % 3600 / 60)
}

/// A time read on Danish clocks (Europe/Copenhagen), as UTC sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DanishTime {
    /// The offset in force then, in seconds east of UTC.
    Offset(i32),
    /// The clocks skip this time when summer time begins: it never happens.
    Skipped,
    /// The clocks show this time twice when summer time ends: without an offset it is not one
    /// instant.
    Repeated,
}

/// The offset of a time without one that partners mean as Danish time. `None` only when the
/// numbers are not a time of day.
pub fn danish_offset(date: Date, hour: i8, minute: i8, second: i8) -> Option<DanishTime> {
    let datetime = DateTime::new(date.year(), date.month(), date.day(), hour, minute, second, 0).ok()?;
    let tz = TimeZone::get("Europe/Copenhagen").ok()?;
    Some(match tz.to_ambiguous_zoned(datetime).offset() {
        AmbiguousOffset::Unambiguous { offset } => DanishTime::Offset(offset.seconds()),
        AmbiguousOffset::Gap { .. } => DanishTime::Skipped,
        AmbiguousOffset::Fold { .. } => DanishTime::Repeated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso_date("2027-02-09"), Date::new(2027, 2, 9).ok());
        assert_eq!(iso_date("2028-02-29"), Date::new(2028, 2, 29).ok());
        for bad in [
            "2027-02-30",
            "2027-2-09",
            "09-02-2027",
            "2027-02-09T00:00:00",
            "2027-02-09-",
            "+027-02-09",
            "1899-12-31",
            "2200-01-01",
            "",
        ] {
            assert_eq!(iso_date(bad), None, "{bad}");
        }
        assert!(iso_date("1900-01-01").is_some() && iso_date("2199-12-31").is_some());
    }

    #[test]
    fn calendar_dates() {
        assert_eq!(calendar_date(2026, 12, 1), Date::new(2026, 12, 1).ok());
        assert_eq!(calendar_date(2027, 2, 29), None);
        assert_eq!(calendar_date(2026, 13, 1), None);
        assert_eq!(calendar_date(1899, 1, 1), None);
    }

    #[test]
    fn offsets() {
        assert_eq!(offset("+01:00"), Some(3600));
        assert_eq!(offset("-02:30"), Some(-9000));
        assert_eq!(offset("+00:00"), Some(0));
        assert_eq!(offset("+23:59"), Some(86_340));
        for bad in [
            "Z",
            "z",
            "+1:00",
            "+0100",
            "+24:00",
            "+01:60",
            "01:00",
            "+01:00:00",
            "+",
            "",
        ] {
            assert_eq!(offset(bad), None, "{bad}");
        }
        assert_eq!(offset_text(3600), "+01:00");
        assert_eq!(offset_text(0), "+00:00");
        assert_eq!(offset_text(-9000), "-02:30");
        for text in ["+01:00", "-02:30", "+23:59", "-00:01"] {
            assert_eq!(offset(text).map(offset_text).as_deref(), Some(text));
        }
    }

    #[test]
    fn danish_clocks() {
        let day = |m, d| Date::new(2026, m, d).unwrap();
        assert_eq!(danish_offset(day(11, 19), 10, 0, 0), Some(DanishTime::Offset(3600)));
        assert_eq!(danish_offset(day(6, 19), 10, 30, 0), Some(DanishTime::Offset(7200)));
        // 29 March 2026 02:30 does not exist; 25 October 2026 02:30 happens twice.
        assert_eq!(danish_offset(day(3, 29), 2, 30, 0), Some(DanishTime::Skipped));
        assert_eq!(danish_offset(day(10, 25), 2, 30, 0), Some(DanishTime::Repeated));
        assert_eq!(danish_offset(day(10, 25), 3, 0, 0), Some(DanishTime::Offset(3600)));
        assert_eq!(danish_offset(day(1, 1), 24, 0, 0), None);
    }
}
