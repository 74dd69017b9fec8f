//! Danish public holidays and working days. The Easter-based holidays are computed for any
//! Gregorian year; store bededag is a holiday up to and including 2023 (abolished from 2024).

use jiff::ToSpan;
use jiff::civil::{Date, Weekday, date};

/// Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm).
pub fn easter_sunday(year: i16) -> Date {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    date(year, month as i8, day as i8)
}

/// The Danish public holidays of `year`, in date order, with their Danish names.
pub fn public_holidays(year: i16) -> Vec<(Date, &'static str)> {
    let easter = easter_sunday(year);
    let from_easter = |days: i32| easter.checked_add(days.days()).expect("a date near Easter");
    let mut days = vec![
        (date(year, 1, 1), "nytårsdag"),
        (from_easter(-3), "skærtorsdag"),
        (from_easter(-2), "langfredag"),
        (easter, "påskedag"),
        (from_easter(1), "2. påskedag"),
    ];
    if year <= 2023 {
        days.push((from_easter(26), "store bededag"));
    }
    days.extend([
        (from_easter(39), "Kristi himmelfartsdag"),
        (from_easter(49), "pinsedag"),
        (from_easter(50), "2. pinsedag"),
        (date(year, 12, 25), "juledag"),
        (date(year, 12, 26), "2. juledag"),
    ]);
    days
}

/// The name of the public holiday on `day`, if it is one.
pub fn holiday_name(day: Date) -> Option<&'static str> {
    public_holidays(day.year())
        .into_iter()
        .find(|(holiday, _)| *holiday == day)
        .map(|(_, name)| name)
}

pub fn is_weekend(day: Date) -> bool {
    matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_in_known_years() {
        let known = [
            (1900, (4, 15)),
            (1961, (4, 2)),
            (2000, (4, 23)),
            (2008, (3, 23)),
            (2011, (4, 24)),
            (2019, (4, 21)),
            (2024, (3, 31)),
            (2025, (4, 20)),
            (2026, (4, 5)),
            (2027, (3, 28)),
            (2038, (4, 25)),
            (2100, (3, 28)),
            (2200, (4, 6)),
        ];
        for (year, (month, day)) in known {
            assert_eq!(easter_sunday(year), date(year, month, day), "{year}");
        }
    }

    #[test]
    fn store_bededag_ends_with_2023() {
        assert_eq!(holiday_name(date(2023, 5, 5)), Some("store bededag"));
        assert_eq!(holiday_name(date(2024, 4, 26)), None);
        assert!(public_holidays(2024).iter().all(|(_, name)| *name != "store bededag"));
    }

    #[test]
    fn the_2026_holidays() {
        let days: Vec<String> = public_holidays(2026).iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(
            days,
            [
                "2026-01-01",
                "2026-04-02",
                "2026-04-03",
                "2026-04-05",
                "2026-04-06",
                "2026-05-14",
                "2026-05-24",
                "2026-05-25",
                "2026-12-25",
                "2026-12-26"
            ]
        );
    }
}
