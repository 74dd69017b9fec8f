//! The reports: per sending institution, per municipality (the Målsætning 4 figure) and per
//! team. They are computed from what the store keeps in clear (message summaries, warnings and
//! deadlines), so they hold no personal data, and come out as JSON, a table or CSV.

pub mod housing;

use crate::domain::{Kommunekode, copenhagen, copenhagen_date};
use crate::store::{DeadlineRow, DeadlineState, NoticeRow, Store};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A half-open period `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// The longest period a report covers: a leap year. A report loads every row of its period, so
/// a period of many years loaded them all at once.
pub const MAX_PERIOD_DAYS: i64 = 366;

impl Period {
    /// Whether the period is longer than a report covers (`MAX_PERIOD_DAYS`).
    pub fn too_long(&self) -> bool {
        self.to.duration_since(self.from) > jiff::SignedDuration::from_hours(MAX_PERIOD_DAYS * 24)
    }

    /// Why a report cannot cover a period that is `too_long`.
    pub const TOO_LONG: &str = "a report covers at most 366 days; ask for each year on its own";

    /// The period a report covers: `from` and `to` where given. When neither is, the report's
    /// default: for the municipalities, whose first figure is about the month ahead of `now`, the
    /// 30 days (720 hours) up to `now`, so both figures are about the present; for the others the
    /// calendar year (Copenhagen) that `now` is in. When only one is given, the other is that of
    /// the calendar year.
    pub fn asked(report: Report, now: Timestamp, from: Option<Timestamp>, to: Option<Timestamp>) -> Period {
        if from.is_none() && to.is_none() && report == Report::Municipalities {
            return Period {
                from: now - jiff::SignedDuration::from_hours(30 * 24),
                to: now,
            };
        }
        let year = Period::year_of(now);
        Period {
            from: from.unwrap_or(year.from),
            to: to.unwrap_or(year.to),
        }
    }

    /// The calendar year (Copenhagen) that `now` is in.
    pub fn year_of(now: Timestamp) -> Period {
        let year = copenhagen_date(now).year();
        let start = |y: i16| {
            Date::new(y, 1, 1)
                .expect("the first of January")
                .to_zoned(copenhagen())
                .expect("a Copenhagen midnight")
                .timestamp()
        };
        Period {
            from: start(year),
            to: start(year + 1),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InstitutionLine {
    pub sender_id: String,
    /// The institution's name as its latest notice gives it.
    pub institution: String,
    /// Initial notices (the first notice of a coming release) received in the period.
    pub notices: usize,
    /// The median of the days from notice to expected release.
    pub median_days_to_release: Option<f64>,
    /// The share of notices that came less than `intake.late_notice_days` (30) before the release.
    pub share_late: Option<f64>,
    /// The share of notices with a cover letter (følgeskrivelse).
    pub share_with_cover_letter: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MunicipalityLine {
    pub municipality: String,
    pub name: String,
    /// Citizens due for release within 30 days whose housing deadline is still open: the
    /// Målsætning 4 figure.
    pub due_within_30_days_without_housing: usize,
    /// Citizens whose release (the housing deadline's due day) passed in the period without a
    /// housing solution in place by then.
    pub released_without_housing: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamLine {
    pub team: String,
    /// Of the deadlines due in the period (cancelled ones left out):
    /// met before they fell due,
    pub met_on_time: usize,
    /// due and passed before they were met (met late, or not yet),
    pub missed: usize,
    /// of those, still not met,
    pub overdue: usize,
    /// and not yet due.
    pub open: usize,
}

/// A report in rows of text, for tables and CSV.
pub struct Rows {
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

fn median(values: &mut [i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) as f64 / 2.0
    } else {
        values[mid] as f64
    })
}

pub fn institutions(notices: &[NoticeRow], late_notice_days: i32) -> Vec<InstitutionLine> {
    let mut by_sender: BTreeMap<&str, Vec<&NoticeRow>> = BTreeMap::new();
    for notice in notices.iter().filter(|n| n.summary["notice_type"] == "initial") {
        by_sender.entry(&notice.sender_id).or_default().push(notice);
    }
    by_sender
        .into_iter()
        .map(|(sender, notices)| {
            let mut days: Vec<i64> = notices
                .iter()
                .filter_map(|n| {
                    let release: Date = n.summary["release.expected_date"].as_str()?.parse().ok()?;
                    let noticed = copenhagen_date(n.received_at);
                    Some(i64::from(noticed.until(release).ok()?.get_days()))
                })
                .collect();
            let late = days.iter().filter(|d| **d < i64::from(late_notice_days)).count();
            let dated = days.len();
            let covered = notices.iter().filter(|n| n.summary["cover_letter"] == true).count();
            InstitutionLine {
                sender_id: sender.to_owned(),
                institution: notices
                    .last()
                    .and_then(|n| n.summary["sender.name"].as_str())
                    .unwrap_or(sender)
                    .to_owned(),
                notices: notices.len(),
                median_days_to_release: median(&mut days),
                share_late: share(late, dated),
                share_with_cover_letter: share(covered, notices.len()),
            }
        })
        .collect()
}

/// How far ahead the Målsætning 4 figure looks: 30 days (720 hours).
pub const MONTH_AHEAD: jiff::SignedDuration = jiff::SignedDuration::from_hours(30 * 24);

/// The Målsætning 4 figure as it stood at `at`, per municipality: the cases whose housing
/// deadline was set by then, falls due within 30 days of `at`, and was neither cancelled nor met
/// by `at`. At `at` = now that is the open housing deadlines of the month ahead; for an instant
/// in the past it is read back from the deadlines as they stand now (a deadline moved since counts
/// by its present due time). `rows` must hold the deadlines due in `[at, at + 30 days)`.
pub fn without_housing_at<'a>(
    rows: &'a [DeadlineRow],
    at: Timestamp,
    housing_policy: &str,
) -> BTreeMap<&'a str, BTreeSet<i64>> {
    let mut due: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    let within = at + MONTH_AHEAD;
    for d in rows.iter().filter(|d| {
        d.policy == housing_policy
            && d.created_at <= at
            && d.due_at >= at
            && d.due_at < within
            && match d.state {
                DeadlineState::Cancelled => false,
                DeadlineState::Met => d.resolved_at.is_none_or(|r| r > at),
                DeadlineState::Open | DeadlineState::Missed => true,
            }
    }) {
        due.entry(&d.municipality).or_default().insert(d.case_id);
    }
    due
}

/// The Målsætning 4 figure at each of `instants` (ascending), per municipality, from one load of
/// `rows`: the housing deadlines due from the first instant to 30 days after the last.
pub fn without_housing_over_time(
    rows: &[DeadlineRow],
    instants: &[Timestamp],
    housing_policy: &str,
) -> Vec<BTreeMap<String, usize>> {
    instants
        .iter()
        .map(|at| {
            without_housing_at(rows, *at, housing_policy)
                .into_iter()
                .map(|(code, cases)| (code.to_owned(), cases.len()))
                .collect()
        })
        .collect()
}

/// `soon`: housing deadlines due within 30 days from `now`; `period`: deadlines due in the
/// report's period.
pub fn municipalities(
    soon: &[DeadlineRow],
    period: &[DeadlineRow],
    now: Timestamp,
    housing_policy: &str,
) -> Vec<MunicipalityLine> {
    let due = without_housing_at(soon, now, housing_policy);
    let mut released: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for d in period.iter().filter(|d| d.policy == housing_policy) {
        let without = match d.state {
            DeadlineState::Missed => true,
            DeadlineState::Met => d.resolved_at.is_some_and(|at| at > d.due_at),
            _ => false,
        };
        if without {
            released.entry(&d.municipality).or_default().insert(d.case_id);
        }
    }
    let codes: BTreeSet<&str> = due.keys().chain(released.keys()).copied().collect();
    codes
        .into_iter()
        .map(|code| MunicipalityLine {
            municipality: code.to_owned(),
            name: Kommunekode::parse(code)
                .map(|k| k.name().to_owned())
                .unwrap_or_default(),
            due_within_30_days_without_housing: due.get(code).map_or(0, BTreeSet::len),
            released_without_housing: released.get(code).map_or(0, BTreeSet::len),
        })
        .collect()
}

pub fn teams(period: &[DeadlineRow], now: Timestamp) -> Vec<TeamLine> {
    let mut lines: BTreeMap<String, TeamLine> = BTreeMap::new();
    for d in period.iter().filter(|d| d.state != DeadlineState::Cancelled) {
        let team = d.team.clone().unwrap_or_else(|| "(none)".to_owned());
        let line = lines.entry(team.clone()).or_insert_with(|| TeamLine {
            team,
            met_on_time: 0,
            missed: 0,
            overdue: 0,
            open: 0,
        });
        match (d.state, d.resolved_at) {
            (DeadlineState::Met, Some(at)) if at <= d.due_at => line.met_on_time += 1,
            (DeadlineState::Met, _) => line.missed += 1,
            (DeadlineState::Open, _) if d.due_at > now => line.open += 1,
            _ => {
                line.missed += 1;
                line.overdue += 1;
            }
        }
    }
    lines.into_values().collect()
}

/// A cell as a spreadsheet may safely read it: text that would start a formula gets a `'` in
/// front; a plain number, which may begin with `-`, stays as it is.
fn neutralised(cell: &str) -> String {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let number = cell.strip_prefix('-').is_some_and(|n| match n.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(n),
    });
    if formula && !number {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

fn number(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

impl Rows {
    pub fn institutions(lines: &[InstitutionLine]) -> Rows {
        Rows {
            headers: vec![
                "sender_id",
                "institution",
                "notices",
                "median_days_to_release",
                "share_late",
                "share_with_cover_letter",
            ],
            rows: lines
                .iter()
                .map(|l| {
                    vec![
                        l.sender_id.clone(),
                        l.institution.clone(),
                        l.notices.to_string(),
                        number(l.median_days_to_release),
                        number(l.share_late),
                        number(l.share_with_cover_letter),
                    ]
                })
                .collect(),
        }
    }

    pub fn municipalities(lines: &[MunicipalityLine]) -> Rows {
        Rows {
            headers: vec![
                "municipality",
                "name",
                "due_within_30_days_without_housing",
                "released_without_housing",
            ],
            rows: lines
                .iter()
                .map(|l| {
                    vec![
                        l.municipality.clone(),
                        l.name.clone(),
                        l.due_within_30_days_without_housing.to_string(),
                        l.released_without_housing.to_string(),
                    ]
                })
                .collect(),
        }
    }

    pub fn teams(lines: &[TeamLine]) -> Rows {
        Rows {
            headers: vec!["team", "met_on_time", "missed", "overdue", "open"],
            rows: lines
                .iter()
                .map(|l| {
                    vec![
                        l.team.clone(),
                        l.met_on_time.to_string(),
                        l.missed.to_string(),
                        l.overdue.to_string(),
                        l.open.to_string(),
                    ]
                })
                .collect(),
        }
    }

    /// RFC 4180 CSV with a header line and CRLF line ends, for opening in a spreadsheet. A text
    /// cell that a spreadsheet would read as a formula (one beginning with `=`, `+`, `-`, `@`, a
    /// tab or a carriage return, such as a sender's name `=HYPERLINK(…)`) is written with a `'`
    /// before it, as OWASP advises against CSV injection; numbers (`-3`, `0.333`) are left alone.
    pub fn csv(&self) -> String {
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        let header = self.headers.iter().map(|h| neutralised(h));
        out.write_record(header).expect("CSV into memory");
        for row in &self.rows {
            out.write_record(row.iter().map(|cell| neutralised(cell)))
                .expect("CSV into memory");
        }
        let bytes = out.into_inner().expect("CSV into memory");
        String::from_utf8(bytes).expect("CSV of UTF-8 cells is UTF-8")
    }

    /// A plain text table with aligned columns.
    pub fn table(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([self.headers[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<String>| {
            cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        let mut out = line(self.headers.iter().map(|h| h.to_string()).collect());
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row.clone()));
            out.push('\n');
        }
        out
    }
}

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Institutions,
    Municipalities,
    Teams,
    /// Vacant homes per municipality and month: offered, answered, in time, matched, accepted.
    Housing,
}

/// A report computed: its lines as JSON, the answer of the API, and the same as rows.
pub struct Computed {
    pub lines: Vec<serde_json::Value>,
    pub json: serde_json::Value,
    pub rows: Rows,
}

/// The `municipality` a report is asked for, when it names one of the 98 kommunekoder.
pub fn municipality_arg(key: &str, text: &str) -> Result<String, String> {
    Kommunekode::parse(text)
        .map(|code| code.to_string())
        .map_err(|e| format!("{key}: {e}"))
}

fn as_json<T: Serialize>(name: &str, lines: &[T]) -> (Vec<serde_json::Value>, serde_json::Value) {
    let values: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::to_value(line).expect("report lines serialise"))
        .collect();
    let json = serde_json::json!({ name: values });
    (values, json)
}

/// Computes a report from the store, for one municipality or all.
pub async fn compute(
    store: &dyn Store,
    report: Report,
    municipality: Option<String>,
    period: Period,
    now: Timestamp,
    settings: &crate::config::Settings,
) -> anyhow::Result<Computed> {
    Ok(match report {
        Report::Institutions => {
            let notices = store.release_notices(municipality, period.from, period.to).await?;
            let found = institutions(&notices, settings.intake.late_notice_days);
            let (lines, json) = as_json("institutions", &found);
            Computed {
                lines,
                json,
                rows: Rows::institutions(&found),
            }
        }
        Report::Municipalities => {
            let soon = store
                .deadline_rows(municipality.clone(), now, now + MONTH_AHEAD)
                .await?;
            let past = store.deadline_rows(municipality, period.from, period.to).await?;
            let found = municipalities(&soon, &past, now, &settings.reports.housing_policy);
            let (lines, json) = as_json("municipalities", &found);
            Computed {
                lines,
                json,
                rows: Rows::municipalities(&found),
            }
        }
        Report::Housing => {
            let homes = store
                .vacant_homes(
                    municipality,
                    period.from,
                    period.to,
                    settings.reports.housing_policy.clone(),
                )
                .await?;
            let found = housing::lines(&homes);
            let (lines, json) = as_json("housing", &found);
            Computed {
                lines,
                json,
                rows: housing::rows(&found),
            }
        }
        Report::Teams => {
            let rows = store.deadline_rows(municipality, period.from, period.to).await?;
            let found = teams(&rows, now);
            let (lines, json) = as_json("teams", &found);
            Computed {
                lines,
                json,
                rows: Rows::teams(&found),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn housing(case_id: i64, state: DeadlineState, created: &str, due: &str, resolved: Option<&str>) -> DeadlineRow {
        DeadlineRow {
            municipality: "751".to_owned(),
            case_id,
            policy: "housing".to_owned(),
            team: None,
            state,
            due_at: due.parse().unwrap(),
            resolved_at: resolved.map(|r| r.parse().unwrap()),
            created_at: created.parse().unwrap(),
        }
    }

    #[test]
    fn the_figure_as_it_stood_counts_what_was_known_and_unsolved_then() {
        let rows = [
            // Known on 1 November, due 20 November, housing found 10 November.
            housing(
                1,
                DeadlineState::Met,
                "2026-11-01T00:00:00Z",
                "2026-11-20T00:00:00Z",
                Some("2026-11-10T00:00:00Z"),
            ),
            // Known on 12 November, due 1 December, still open.
            housing(
                2,
                DeadlineState::Open,
                "2026-11-12T00:00:00Z",
                "2026-12-01T00:00:00Z",
                None,
            ),
            // Passed without housing on 15 November.
            housing(
                3,
                DeadlineState::Missed,
                "2026-11-01T00:00:00Z",
                "2026-11-15T00:00:00Z",
                None,
            ),
            // Cancelled: the release was called off.
            housing(
                4,
                DeadlineState::Cancelled,
                "2026-11-01T00:00:00Z",
                "2026-11-20T00:00:00Z",
                None,
            ),
        ];
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        let figure = |t: &str| {
            without_housing_over_time(&rows, &[at(t)], "housing")[0]
                .get("751")
                .copied()
                .unwrap_or(0)
        };
        assert_eq!(
            figure("2026-11-05T00:00:00Z"),
            2,
            "cases 1 and 3: known, due within the month, unsolved"
        );
        assert_eq!(
            figure("2026-11-11T00:00:00Z"),
            1,
            "case 1 has its housing; case 2 is not yet known"
        );
        assert_eq!(figure("2026-11-13T00:00:00Z"), 2, "case 2 is known now");
        assert_eq!(
            figure("2026-11-16T00:00:00Z"),
            1,
            "case 3 is released (and no longer ahead)"
        );
        let lines = municipalities(&rows, &[], at("2026-11-16T00:00:00Z"), "housing");
        assert_eq!(
            lines[0].due_within_30_days_without_housing, 1,
            "the API's figure is the same"
        );
    }

    #[test]
    fn medians_and_shares() {
        assert_eq!(median(&mut [5, 1, 3]), Some(3.0));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2.5));
        assert_eq!(median(&mut []), None);
        assert_eq!(share(1, 3), Some(0.333));
        assert_eq!(share(0, 0), None);
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let rows = Rows {
            headers: vec!["a", "b"],
            rows: vec![vec!["Anstalten, Horsens".into(), "sagt \"ja\"".into()]],
        };
        assert_eq!(rows.csv(), "a,b\r\n\"Anstalten, Horsens\",\"sagt \"\"ja\"\"\"\r\n");
        assert_eq!(rows.table(), "a                   b\nAnstalten, Horsens  sagt \"ja\"\n");
    }

    #[test]
    fn csv_cells_that_would_be_formulas_are_text() {
        let rows = Rows {
            headers: vec!["a", "b", "c", "d", "e", "f"],
            rows: vec![vec![
                "=HYPERLINK(\"http://x\",\"klik\")".into(),
                "+45 72 55".into(),
                "-3".into(),
                "@SUM(A1)".into(),
                "-2+3".into(),
                "\t=1".into(),
            ]],
        };
        assert_eq!(
            rows.csv(),
            "a,b,c,d,e,f\r\n\"'=HYPERLINK(\"\"http://x\"\",\"\"klik\"\")\",'+45 72 55,-3,'@SUM(A1),'-2+3,'\t=1\r\n"
        );
    }
}
