//! *Rapporter*: the three reports of `/v1/reports/{report}` as pages, computed by the same code
//! (`crate::reports::compute`), each with a chart drawn by the server (`chart`), a table of the
//! same figures, a period form and the CSV download of the API. A caseworker sees their own
//! municipality; an operator every municipality, or one chosen.
//!
//! The municipalities page also shows the Målsætning 4 figure as it stood each week over the last
//! 12 weeks (`crate::reports::without_housing_over_time`): one load of the housing deadlines due
//! from 12 weeks ago to a month from now, then 12 passes over them in memory.

use super::chart::{self, Bar, Series};
use super::{Viewer, danish_date, page};
use crate::access::ReportReader;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{Kommunekode, copenhagen, copenhagen_date};
use crate::problem::{Problem, internal, kinds};
use crate::reports::{MONTH_AHEAD, Period, Report, compute, without_housing_over_time};
use crate::store::Store;
use actix_web::{HttpResponse, web};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

pub const TEMPLATES: &[(&str, &str)] = &[
    ("reports.html", include_str!("templates/reports.html")),
    ("report.html", include_str!("templates/report.html")),
];

/// How many weekly instants the Målsætning 4 chart shows, the last of them now.
pub const WEEKS: usize = 12;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/rapporter", crate::api::errors::get().to(overview))
        .route("/rapporter/{report}", crate::api::errors::get().to(report));
}

/// A report's page: its Danish path, its name in the API, its heading and what it shows.
struct Page {
    path: &'static str,
    api: &'static str,
    report: Report,
    heading: &'static str,
    about: &'static str,
}

const PAGES: [Page; 4] = [
    Page {
        path: "institutioner",
        api: "institutions",
        report: Report::Institutions,
        heading: "Løsladelsesmeddelelser pr. institution",
        about: "Hvor mange første meddelelser om en løsladelse hver institution har sendt i perioden, hvor \
                længe før løsladelsen de kom (median), hvor mange der kom mindre end 30 dage før, og hvor mange \
                der havde en følgeskrivelse.",
    },
    Page {
        path: "kommuner",
        api: "municipalities",
        report: Report::Municipalities,
        heading: "Løsladelser uden bolig (Målsætning 4)",
        about: "Borgere, der løslades inden for en måned, og som endnu ikke har en boligløsning – \
                hjemløsestrategiens Målsætning 4 – uge for uge, og borgere, der blev løsladt uden bolig i \
                perioden.",
    },
    Page {
        path: "teams",
        api: "teams",
        report: Report::Teams,
        heading: "Frister pr. team",
        about: "Fristerne med forfald i perioden: hvor mange hvert team overholdt, og hvor mange der blev \
                overskredet.",
    },
    Page {
        path: "boliger",
        api: "housing",
        report: Report::Housing,
        heading: "Ledige boliger til anvisning",
        about: "De ledige boliger, boligtildelingen tilbød kommunen, måned for måned: hvor mange der blev \
                besvaret, og rettidigt, hvor mange der blev besvaret med en borger, og hvor mange af dem der \
                tog imod en bolig.",
    },
];

#[derive(Serialize)]
struct Link {
    path: &'static str,
    heading: &'static str,
    about: &'static str,
}

#[derive(Serialize)]
struct Overview {
    links: Vec<Link>,
    scope: String,
}

/// Which municipalities a reader's reports cover, in words.
fn scope(municipality: Option<&str>) -> String {
    match municipality.and_then(|m| Kommunekode::parse(m).ok()) {
        Some(code) => format!("{} Kommune", code.name()),
        None => "alle kommuner".to_owned(),
    }
}

async fn overview(viewer: Viewer) -> Result<HttpResponse, Problem> {
    let reader = ReportReader::of(viewer.principal.clone())?;
    Ok(page(
        "reports.html",
        Some(&viewer),
        "rapporter",
        Overview {
            links: PAGES
                .iter()
                .map(|p| Link {
                    path: p.path,
                    heading: p.heading,
                    about: p.about,
                })
                .collect(),
            scope: scope(reader.municipality(None)?.as_deref()),
        },
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    /// The first day of the period.
    pub fra: Option<String>,
    /// The last day of the period (included).
    pub til: Option<String>,
    /// Operators: one municipality, or empty for all.
    pub kommune: Option<String>,
}

/// A table of a report page: the same figures as its chart.
#[derive(Serialize)]
struct Table {
    caption: String,
    headers: Vec<&'static str>,
    /// The first cell names the row (`<th scope="row">`).
    rows: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct Choice {
    code: String,
    name: &'static str,
    chosen: bool,
}

#[derive(Serialize)]
pub struct ReportPage {
    path: &'static str,
    heading: &'static str,
    about: &'static str,
    scope: String,
    /// The period as the form shows it (`YYYY-MM-DD`), and in words.
    from: String,
    to: String,
    period: String,
    as_of: String,
    /// Operators choose a municipality; `None` for a caseworker.
    municipalities: Option<Vec<Choice>>,
    chart_heading: String,
    chart: String,
    tables: Vec<Table>,
    csv: String,
    empty: bool,
}

fn bad(detail: &str) -> Problem {
    Problem::new(kinds::BAD_REQUEST, detail.to_owned())
}

/// A date of the form (`YYYY-MM-DD`); empty is none.
fn form_date(text: Option<&str>, what: &str) -> Result<Option<Date>, Problem> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse::<Date>()
            .map(Some)
            .map_err(|_| bad(&format!("{what} skal være en dato som 2027-02-09."))),
    }
}

fn midnight(date: Date) -> Result<Timestamp, Problem> {
    date.to_zoned(copenhagen())
        .map(|z| z.timestamp())
        .map_err(|_| bad("Datoen findes ikke."))
}

/// A JSON figure of a report line as a whole number.
fn count(line: &Value, key: &str) -> u64 {
    line[key].as_u64().unwrap_or(0)
}

async fn report(
    viewer: Viewer,
    path: web::Path<String>,
    query: web::Query<ReportQuery>,
    store: web::Data<dyn Store>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, Problem> {
    let reader = ReportReader::of(viewer.principal.clone())?;
    let asked = query.kommune.as_deref().map(str::trim).filter(|k| !k.is_empty());
    let municipality = reader.municipality(asked)?;
    let shown = report_page(
        store.into_inner(),
        settings.into_inner(),
        &path,
        municipality,
        &query,
        clock.now(),
        viewer.principal.is_operator(),
    )
    .await?;
    Ok(page("report.html", Some(&viewer), "rapporter", shown))
}

/// A report page as `viewer` would see it, rendered without the signed-in person's header
/// (for the benchmark: `benches/reports.rs`).
pub async fn render(
    store: Arc<dyn Store>,
    settings: Arc<Settings>,
    path: &str,
    municipality: Option<String>,
    query: &ReportQuery,
    now: Timestamp,
) -> Result<HttpResponse, Problem> {
    let shown = report_page(store, settings, path, municipality, query, now, true).await?;
    Ok(page("report.html", None, "rapporter", shown))
}

/// What the report page at `path` shows for `municipality` (`None`: all) and the period of
/// `query`, computed at `now`; `operator` gets the choice of municipality.
async fn report_page(
    store: Arc<dyn Store>,
    settings: Arc<Settings>,
    path: &str,
    municipality: Option<String>,
    query: &ReportQuery,
    now: Timestamp,
    operator: bool,
) -> Result<ReportPage, Problem> {
    let Some(shown) = PAGES.iter().find(|p| p.path == path) else {
        return Err(Problem::new(kinds::NOT_FOUND, "no such report".to_owned()));
    };
    let from = form_date(query.fra.as_deref(), "Fra")?;
    let to = form_date(query.til.as_deref(), "Til og med")?;
    let period = Period::asked(
        shown.report,
        now,
        from.map(midnight).transpose()?,
        to.map(|d| d.tomorrow().map_err(|_| bad("Datoen findes ikke.")).and_then(midnight))
            .transpose()?,
    );
    if period.from >= period.to {
        return Err(bad("Fra-datoen skal ligge før til-datoen."));
    }
    if period.too_long() {
        return Err(bad("En rapport dækker højst 366 dage; vælg et år ad gangen."));
    }
    let job_settings = settings.clone();
    let chosen = municipality.clone();
    let report_kind = shown.report;
    // A year's rows are summed apart from the HTTP worker, as the API does.
    let (computed, weeks) = crate::apart::apart(async move {
        let computed = compute(store.as_ref(), report_kind, chosen.clone(), period, now, &job_settings).await?;
        let weeks = if report_kind == Report::Municipalities {
            Some(weekly(store.as_ref(), chosen, now, &job_settings.reports.housing_policy).await?)
        } else {
            None
        };
        anyhow::Ok((computed, weeks))
    })
    .await
    .and_then(|done| done)
    .map_err(internal)?;

    let first_day = copenhagen_date(period.from);
    // The period ends before `to`: at midnight that is the day before, at `now` (the default of
    // the municipalities report) today.
    let last_day = copenhagen_date(period.to - jiff::SignedDuration::from_micros(1));
    let place = scope(municipality.as_deref());
    let lines = &computed.lines;
    let (chart_heading, chart, tables) = match shown.report {
        Report::Institutions => institutions(lines, &place),
        Report::Municipalities => municipalities(lines, weeks.unwrap_or_default(), &place, now),
        Report::Teams => teams(lines, &place),
        Report::Housing => housing(lines, &place),
    };
    // The same period as the page: the dates asked for, or none, so that the API takes the
    // same defaults.
    let mut csv = format!("/v1/reports/{}?format=csv", shown.api);
    if let Some(from) = from {
        csv.push_str(&format!("&from={from}"));
    }
    if let Some(to) = to.and_then(|d| d.tomorrow().ok()) {
        csv.push_str(&format!("&to={to}"));
    }
    if let Some(code) = &municipality {
        csv.push_str(&format!("&municipality={code}"));
    }
    let municipalities = operator.then(|| {
        Kommunekode::all()
            .map(|k| Choice {
                code: k.to_string(),
                name: k.name(),
                chosen: municipality.as_deref() == Some(k.to_string().as_str()),
            })
            .collect()
    });
    Ok(ReportPage {
        path: shown.path,
        heading: shown.heading,
        about: shown.about,
        scope: place,
        from: first_day.to_string(),
        to: last_day.to_string(),
        period: format!("{} – {}", danish_date(first_day), danish_date(last_day)),
        as_of: super::danish_time(now),
        municipalities,
        chart_heading,
        chart,
        empty: lines.is_empty() && shown.report != Report::Municipalities,
        tables,
        csv,
    })
}

/// The Målsætning 4 figure at each of the last `WEEKS` weeks, the last of them now, summed over
/// the municipalities shown: one load of the housing deadlines due from the first instant to a
/// month after now.
async fn weekly(
    store: &dyn Store,
    municipality: Option<String>,
    now: Timestamp,
    housing_policy: &str,
) -> anyhow::Result<Vec<(Timestamp, u64)>> {
    let instants: Vec<Timestamp> = (0..WEEKS)
        .rev()
        .map(|k| now - jiff::SignedDuration::from_hours(7 * 24 * k as i64))
        .collect();
    let rows = store
        .deadline_rows(municipality, instants[0], now + MONTH_AHEAD)
        .await?;
    let figures = without_housing_over_time(&rows, &instants, housing_policy);
    Ok(instants
        .into_iter()
        .zip(figures)
        .map(|(at, by_code)| (at, by_code.values().map(|n| *n as u64).sum()))
        .collect())
}

/// A figure's words for the chart's text alternative: `Vestre Fængsel 3, Horsens 5`.
fn figures(pairs: impl Iterator<Item = (String, String)>) -> String {
    let all: Vec<String> = pairs.map(|(label, value)| format!("{label}: {value}")).collect();
    if all.is_empty() {
        "ingen".to_owned()
    } else {
        all.join("; ")
    }
}

type Shown = (String, String, Vec<Table>);

fn institutions(lines: &[Value], place: &str) -> Shown {
    let name = |l: &Value| l["institution"].as_str().unwrap_or_default().to_owned();
    let median = |l: &Value| l["median_days_to_release"].as_f64().map(chart::decimal);
    let bars: Vec<Bar> = lines
        .iter()
        .map(|l| Bar {
            label: name(l),
            values: vec![count(l, "notices")],
            note: median(l).map(|m| format!("median {m} dage")),
        })
        .collect();
    let heading = format!("Meddelelser pr. institution, {place}");
    let label = format!(
        "{heading}. {}",
        figures(lines.iter().map(|l| {
            let days = median(l).map_or(String::new(), |m| format!(", median {m} dage før løsladelsen"));
            (
                name(l),
                format!("{} meddelelser{days}", chart::number(count(l, "notices"))),
            )
        }))
    );
    let svg = chart::bars(
        &heading,
        &label,
        &[Series {
            name: "Meddelelser",
            class: "bar-a",
            hatched: false,
        }],
        &bars,
    );
    let share = |l: &Value, key: &str| l[key].as_f64().map(chart::percent).unwrap_or_default();
    let table = Table {
        caption: format!("Meddelelser pr. institution, {place}"),
        headers: vec![
            "Institution",
            "Meddelelser",
            "Median dage til løsladelse",
            "Andel under 30 dage før",
            "Andel med følgeskrivelse",
        ],
        rows: lines
            .iter()
            .map(|l| {
                vec![
                    name(l),
                    chart::number(count(l, "notices")),
                    median(l).unwrap_or_default(),
                    share(l, "share_late"),
                    share(l, "share_with_cover_letter"),
                ]
            })
            .collect(),
    };
    (heading, svg, vec![table])
}

fn municipalities(lines: &[Value], weeks: Vec<(Timestamp, u64)>, place: &str, now: Timestamp) -> Shown {
    let heading = format!("Borgere, der løslades inden for en måned uden bolig, uge for uge, {place}");
    let points: Vec<(String, u64)> = weeks
        .iter()
        .map(|(at, n)| {
            let day = copenhagen_date(*at);
            (format!("{}/{}", day.day(), day.month()), *n)
        })
        .collect();
    let label = format!(
        "{heading}. {}",
        figures(
            weeks
                .iter()
                .map(|(at, n)| (danish_date(copenhagen_date(*at)), chart::number(*n)))
        )
    );
    let svg = chart::columns(&heading, &label, "bar-a", &points);
    let over_time = Table {
        caption: format!("Borgere, der løslades inden for en måned uden bolig, {place}"),
        headers: vec!["Opgjort", "Borgere uden bolig"],
        rows: weeks
            .iter()
            .map(|(at, n)| {
                let when = if *at == now {
                    format!("{} (nu)", danish_date(copenhagen_date(*at)))
                } else {
                    danish_date(copenhagen_date(*at))
                };
                vec![when, chart::number(*n)]
            })
            .collect(),
    };
    let by_municipality = Table {
        caption: "Pr. kommune, nu og i perioden".to_owned(),
        headers: vec![
            "Kommune",
            "Løslades inden for en måned uden bolig",
            "Løsladt uden bolig i perioden",
        ],
        rows: lines
            .iter()
            .map(|l| {
                vec![
                    format!(
                        "{} ({})",
                        l["name"].as_str().unwrap_or_default(),
                        l["municipality"].as_str().unwrap_or_default()
                    ),
                    chart::number(count(l, "due_within_30_days_without_housing")),
                    chart::number(count(l, "released_without_housing")),
                ]
            })
            .collect(),
    };
    (heading, svg, vec![over_time, by_municipality])
}

fn teams(lines: &[Value], place: &str) -> Shown {
    let name = |l: &Value| {
        let team = l["team"].as_str().unwrap_or_default();
        if team == "(none)" {
            "(uden team)".to_owned()
        } else {
            team.to_owned()
        }
    };
    let series = [
        Series {
            name: "Overholdt",
            class: "bar-a",
            hatched: false,
        },
        Series {
            name: "Overskredet",
            class: "bar-b",
            hatched: true,
        },
    ];
    let bars: Vec<Bar> = lines
        .iter()
        .map(|l| Bar {
            label: name(l),
            values: vec![count(l, "met_on_time"), count(l, "missed")],
            note: None,
        })
        .collect();
    let heading = format!("Frister overholdt og overskredet pr. team, {place}");
    let label = format!(
        "{heading}. {}",
        figures(lines.iter().map(|l| {
            (
                name(l),
                format!(
                    "{} overholdt, {} overskredet",
                    chart::number(count(l, "met_on_time")),
                    chart::number(count(l, "missed"))
                ),
            )
        }))
    );
    let svg = chart::bars(&heading, &label, &series, &bars);
    let table = Table {
        caption: format!("Frister pr. team, {place}"),
        headers: vec![
            "Team",
            "Overholdt",
            "Overskredet",
            "Heraf stadig ikke løst",
            "Ikke forfaldet endnu",
        ],
        rows: lines
            .iter()
            .map(|l| {
                vec![
                    name(l),
                    chart::number(count(l, "met_on_time")),
                    chart::number(count(l, "missed")),
                    chart::number(count(l, "overdue")),
                    chart::number(count(l, "open")),
                ]
            })
            .collect(),
    };
    (heading, svg, vec![table])
}

/// The vacant homes per month (and municipality, when several are shown): offered, answered in
/// time, matched and accepted.
fn housing(lines: &[Value], place: &str) -> Shown {
    let name = |l: &Value| {
        let month = l["month"].as_str().unwrap_or_default();
        let town = l["name"].as_str().unwrap_or_default();
        format!("{month} {town}")
    };
    let series = [
        Series {
            name: "Tilbudt",
            class: "bar-a",
            hatched: false,
        },
        Series {
            name: "Besvaret rettidigt",
            class: "bar-b",
            hatched: true,
        },
    ];
    let bars: Vec<Bar> = lines
        .iter()
        .map(|l| Bar {
            label: name(l),
            values: vec![count(l, "offered"), count(l, "answered_in_time")],
            note: None,
        })
        .collect();
    let heading = format!("Ledige boliger tilbudt og besvaret rettidigt pr. måned, {place}");
    let label = format!(
        "{heading}. {}",
        figures(lines.iter().map(|l| {
            (
                name(l),
                format!(
                    "{} tilbudt, {} besvaret rettidigt",
                    chart::number(count(l, "offered")),
                    chart::number(count(l, "answered_in_time"))
                ),
            )
        }))
    );
    let svg = chart::bars(&heading, &label, &series, &bars);
    let table = Table {
        caption: format!("Ledige boliger pr. måned, {place}"),
        headers: vec![
            "Måned",
            "Tilbudt",
            "Besvaret",
            "Rettidigt",
            "Med en borger",
            "Taget imod",
            "Dage til svar (median)",
        ],
        rows: lines
            .iter()
            .map(|l| {
                vec![
                    name(l),
                    chart::number(count(l, "offered")),
                    chart::number(count(l, "answered")),
                    chart::number(count(l, "answered_in_time")),
                    chart::number(count(l, "matched")),
                    chart::number(count(l, "accepted")),
                    l["median_days_to_answer"]
                        .as_f64()
                        .map(chart::decimal)
                        .unwrap_or_else(|| "–".to_owned()),
                ]
            })
            .collect(),
    };
    (heading, svg, vec![table])
}
