//! Working days: Monday to Friday in Europe/Copenhagen, minus the Danish public holidays and the
//! extra closing days an operator configures (e.g. grundlovsdag, 24 and 31 December). Deadlines
//! fall at a configured time of day, Copenhagen time, correct across daylight-saving changes.

use super::calendar::{is_weekend, public_holidays};
use super::copenhagen_instant;
use crate::config::CalendarSettings;
use jiff::Timestamp;
use jiff::civil::{Date, Time};

/// An extra closing day: every year on a day of a month, or once on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClosingDay {
    Yearly { month: i8, day: i8, name: String },
    Once { date: Date, name: String },
}

impl ClosingDay {
    /// `MM-DD name` (every year) or `YYYY-MM-DD name` (once).
    pub fn parse(text: &str) -> Result<ClosingDay, String> {
        let (when, name) = text
            .trim()
            .split_once(' ')
            .ok_or("write \"MM-DD name\" or \"YYYY-MM-DD name\"")?;
        let name = name.trim().to_owned();
        if name.is_empty() {
            return Err("the closing day needs a name".into());
        }
        if let Ok(date) = when.parse::<Date>() {
            return Ok(ClosingDay::Once { date, name });
        }
        let (month, day) = when
            .split_once('-')
            .ok_or("write \"MM-DD name\" or \"YYYY-MM-DD name\"")?;
        let month: i8 = month.parse().map_err(|_| format!("{when:?} is not MM-DD"))?;
        let day: i8 = day.parse().map_err(|_| format!("{when:?} is not MM-DD"))?;
        // A leap year, so that 02-29 is accepted (it closes only in leap years).
        Date::new(2024, month, day).map_err(|_| format!("{when:?} is no day of the year"))?;
        Ok(ClosingDay::Yearly { month, day, name })
    }

    fn in_year(&self, year: i16) -> Option<(Date, &str)> {
        match self {
            ClosingDay::Yearly { month, day, name } => Date::new(year, *month, *day).ok().map(|d| (d, name.as_str())),
            ClosingDay::Once { date, name } => (date.year() == year).then_some((*date, name.as_str())),
        }
    }
}

/// The years whose closing days are worked out once, when the calendar is made.
const KNOWN_YEARS: std::ops::RangeInclusive<i16> = 1900..=2200;

/// A day of `KNOWN_YEARS` as a bit of `Calendar::closed`: 366 bits a year.
fn day_bit(day: Date) -> Option<usize> {
    KNOWN_YEARS
        .contains(&day.year())
        .then(|| (day.year() - KNOWN_YEARS.start()) as usize * 366 + (day.day_of_year() - 1) as usize)
}

/// 366 in a leap year of the Gregorian calendar, 365 otherwise.
fn days_in_year(year: i16) -> i16 {
    if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) {
        366
    } else {
        365
    }
}

/// The date of the `of_year`th day (from 1) of `year`.
fn date_of_year(year: i16, of_year: i16) -> Option<Date> {
    /// The days of the year before each month's first, in a year that is not a leap year.
    const BEFORE: [i16; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap = i16::from(days_in_year(year) == 366);
    let before = |month: usize| BEFORE[month] + if month >= 2 { leap } else { 0 };
    let month = (0..12).rev().find(|&month| of_year > before(month))?;
    Date::new(year, month as i8 + 1, (of_year - before(month)) as i8).ok()
}

#[derive(Debug, Clone)]
pub struct Calendar {
    extra: Vec<ClosingDay>,
    deadline_time: Time,
    /// Every day of `KNOWN_YEARS` that is not a working day (weekends and closing days), one bit
    /// per day (`day_bit`): counting working days looks days up here instead of working out
    /// Easter again, or hashing the date, for each day counted.
    closed: std::sync::Arc<Vec<u64>>,
}

impl Calendar {
    /// The working-day calendar of `[calendar]`: public holidays plus `extra_closing_days`,
    /// deadlines at `deadline_time`.
    pub fn from_settings(settings: &CalendarSettings) -> anyhow::Result<Calendar> {
        let extra = settings
            .extra_closing_days
            .iter()
            .enumerate()
            .map(|(i, text)| {
                ClosingDay::parse(text).map_err(|e| anyhow::anyhow!("calendar.extra_closing_days[{i}]: {text:?}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let time = settings.deadline_time.parse::<Time>().map_err(|_| {
            anyhow::anyhow!(
                "calendar.deadline_time: {:?} is not a time of day such as 16:00",
                settings.deadline_time
            )
        })?;
        Ok(Calendar::new(extra, time))
    }

    pub fn new(extra: Vec<ClosingDay>, deadline_time: Time) -> Calendar {
        let mut calendar = Calendar {
            extra,
            deadline_time,
            closed: Default::default(),
        };
        let years = KNOWN_YEARS.len();
        let mut closed = vec![0u64; (years * 366).div_ceil(64)];
        let mut mark = |day: Date| {
            if let Some(bit) = day_bit(day) {
                closed[bit / 64] |= 1 << (bit % 64);
            }
        };
        for year in KNOWN_YEARS {
            for (day, _) in calendar.closing_days(year) {
                mark(day);
            }
            let mut day = Date::new(year, 1, 1).expect("1 January of a known year");
            while day.year() == year {
                if is_weekend(day) {
                    mark(day);
                }
                match day.tomorrow() {
                    Ok(next) => day = next,
                    Err(_) => break,
                }
            }
        }
        calendar.closed = std::sync::Arc::new(closed);
        calendar
    }

    /// The closing days of `year` that are not weekends, in date order: public holidays and the
    /// configured extra days (a day that is both is listed once, with the holiday's name).
    pub fn closing_days(&self, year: i16) -> Vec<(Date, String)> {
        let mut days: Vec<(Date, String)> = public_holidays(year)
            .into_iter()
            .map(|(d, name)| (d, name.to_owned()))
            .collect();
        for (date, name) in self.extra.iter().filter_map(|c| c.in_year(year)) {
            if !days.iter().any(|(d, _)| *d == date) {
                days.push((date, name.to_owned()));
            }
        }
        days.retain(|(d, _)| !is_weekend(*d));
        days.sort();
        days
    }

    pub fn is_working_day(&self, day: Date) -> bool {
        if let Some(bit) = day_bit(day) {
            return self.closed[bit / 64] & (1 << (bit % 64)) == 0;
        }
        !is_weekend(day)
            && !public_holidays(day.year()).iter().any(|(d, _)| *d == day)
            && !self
                .extra
                .iter()
                .filter_map(|c| c.in_year(day.year()))
                .any(|(d, _)| d == day)
    }

    /// The working day `n` working days after `day` (before it when `n` is negative); `day`
    /// itself does not count. `None` when that day lies beyond the dates the time library
    /// knows (year 9999).
    pub fn add_working_days(&self, day: Date, n: i32) -> Option<Date> {
        if let Some((year, of_year)) = self.working_day_from(day, n) {
            return date_of_year(year, of_year);
        }
        self.add_working_days_one_by_one(day, n)
    }

    /// [`Self::add_working_days`] a day at a time: for the years outside the bitmap, and as the
    /// reference the bitmap is tested against.
    fn add_working_days_one_by_one(&self, day: Date, n: i32) -> Option<Date> {
        let mut current = day;
        let mut left = n.abs();
        while left > 0 {
            current = if n < 0 { current.yesterday() } else { current.tomorrow() }.ok()?;
            if self.is_working_day(current) {
                left -= 1;
            }
        }
        Some(current)
    }

    /// The working day `n` working days from `day` as (year, day of the year), counted in the
    /// bitmap; `None` when the count leaves `KNOWN_YEARS`. A deadline planned counts ten working
    /// days and more, and jiff's `tomorrow` and `day_of_year` for each day counted, or adding a
    /// span of days at the end, cost more than the counting.
    fn working_day_from(&self, day: Date, n: i32) -> Option<(i16, i16)> {
        day_bit(day)?;
        let mut year = day.year();
        let mut of_year = day.day_of_year();
        let mut length = days_in_year(year);
        let mut left = n.unsigned_abs();
        while left > 0 {
            if n > 0 {
                of_year += 1;
                if of_year > length {
                    year += 1;
                    if !KNOWN_YEARS.contains(&year) {
                        return None;
                    }
                    length = days_in_year(year);
                    of_year = 1;
                }
            } else {
                of_year -= 1;
                if of_year < 1 {
                    year -= 1;
                    if !KNOWN_YEARS.contains(&year) {
                        return None;
                    }
                    length = days_in_year(year);
                    of_year = length;
                }
            }
            let bit = (year - KNOWN_YEARS.start()) as usize * 366 + (of_year - 1) as usize;
            if self.closed[bit / 64] & (1 << (bit % 64)) == 0 {
                left -= 1;
            }
        }
        Some((year, of_year))
    }

    /// The instant a deadline on `day` falls due: the configured time of day in Copenhagen.
    /// `None` when that instant lies beyond the instants the time library knows (the last
    /// days of year 9999).
    pub fn due_at(&self, day: Date) -> Option<Timestamp> {
        copenhagen_instant(day.to_datetime(self.deadline_time)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn danish() -> Calendar {
        let extra = ["06-05 grundlovsdag", "12-24 juleaftensdag", "12-31 nytårsaftensdag"]
            .iter()
            .map(|t| ClosingDay::parse(t).unwrap())
            .collect();
        Calendar::new(extra, time(16, 0, 0, 0))
    }

    #[test]
    fn working_days_skip_weekends_holidays_and_extra_days() {
        let cal = danish();
        // Thursday before Easter 2026 (skærtorsdag is 2 April): Wed 1 April + 1 = Tue 7 April.
        assert_eq!(cal.add_working_days(date(2026, 4, 1), 1), Some(date(2026, 4, 7)));
        assert_eq!(cal.add_working_days(date(2026, 4, 7), -1), Some(date(2026, 4, 1)));
        // 23 December 2026 (Wednesday) + 1: 24, 25, 26 closed, 27 Sunday → Monday 28.
        assert_eq!(cal.add_working_days(date(2026, 12, 23), 1), Some(date(2026, 12, 28)));
        assert!(!cal.is_working_day(date(2026, 6, 5)));
        assert!(cal.is_working_day(date(2026, 6, 4)));
    }

    #[test]
    fn counting_in_the_bitmap_gives_what_counting_day_by_day_gives() {
        let cal = danish();
        let day_by_day = |day: Date, n: i32| cal.add_working_days_one_by_one(day, n);
        for year in [1900, 1901, 1999, 2000, 2023, 2024, 2026, 2100, 2199, 2200] {
            let mut day = date(year, 1, 1).yesterday().unwrap().yesterday().unwrap();
            for _ in 0..40 {
                for n in [-300, -40, -10, -3, -1, 0, 1, 2, 5, 10, 40, 300] {
                    assert_eq!(cal.add_working_days(day, n), day_by_day(day, n), "{day} {n}");
                }
                day = day.checked_add(jiff::Span::new().days(9)).unwrap();
            }
            for day in [date(year, 2, 28), date(year, 3, 1), date(year, 12, 30)] {
                for n in [-400, -1, 1, 400] {
                    assert_eq!(cal.add_working_days(day, n), day_by_day(day, n), "{day} {n}");
                }
            }
        }
        assert_eq!(
            cal.add_working_days(date(1800, 6, 1), 3),
            day_by_day(date(1800, 6, 1), 3)
        );
        for year in [2023, 2024, 2100, 2000] {
            let mut day = date(year, 1, 1);
            while day.year() == year {
                assert_eq!(date_of_year(year, day.day_of_year()), Some(day));
                day = day.tomorrow().unwrap();
            }
        }
    }

    #[test]
    fn deadlines_fall_at_16_copenhagen_time_across_daylight_saving() {
        let cal = danish();
        // Winter: UTC+1; summer: UTC+2. 2026 changes on 29 March and 25 October.
        assert_eq!(
            cal.due_at(date(2026, 3, 27)).unwrap().to_string(),
            "2026-03-27T15:00:00Z"
        );
        assert_eq!(
            cal.due_at(date(2026, 3, 30)).unwrap().to_string(),
            "2026-03-30T14:00:00Z"
        );
        assert_eq!(
            cal.due_at(date(2026, 10, 23)).unwrap().to_string(),
            "2026-10-23T14:00:00Z"
        );
        assert_eq!(
            cal.due_at(date(2026, 10, 26)).unwrap().to_string(),
            "2026-10-26T15:00:00Z"
        );
    }

    #[test]
    fn the_end_of_the_time_library_s_range_is_none_not_a_panic() {
        let cal = danish();
        // 16:00 Copenhagen time on the last day of year 9999 is beyond the last instant.
        assert_eq!(cal.due_at(date(9999, 12, 31)), None);
        assert_eq!(cal.add_working_days(date(9999, 12, 30), 5), None);
        assert_eq!(cal.add_working_days(date(-9999, 1, 3), -5), None);
        assert!(cal.due_at(date(2199, 12, 31)).is_some());
    }

    #[test]
    fn closing_days_leave_weekends_out_and_merge_duplicates() {
        let cal = danish();
        let days: Vec<String> = cal.closing_days(2027).iter().map(|(d, n)| format!("{d} {n}")).collect();
        // 2027: 5 June is a Saturday (left out), 25/26 December a Saturday and a Sunday.
        assert!(days.contains(&"2027-12-24 juleaftensdag".to_owned()));
        assert!(!days.iter().any(|d| d.contains("grundlovsdag") || d.contains("juledag")));
        assert!(days.contains(&"2027-01-01 nytårsdag".to_owned()));
    }

    #[test]
    fn closing_days_parse_or_say_why_not() {
        assert_eq!(
            ClosingDay::parse("2027-05-07 flyttedag"),
            Ok(ClosingDay::Once {
                date: date(2027, 5, 7),
                name: "flyttedag".into()
            })
        );
        assert!(ClosingDay::parse("13-01 x").is_err());
        assert!(ClosingDay::parse("02-30 x").is_err());
        assert!(ClosingDay::parse("06-05").is_err());
        assert!(ClosingDay::parse("02-29 skuddag").is_ok());
    }
}
