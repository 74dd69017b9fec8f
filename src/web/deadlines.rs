//! *Frister*: the deadlines of the caseworker's team (a team lead's: every team of the
//! municipality), by view — due today, this week, overdue, every open one, met, cancelled — and
//! by kind and team; resolve one with an outcome, reopen one with a reason from a fixed list, see
//! who met it and when. The actions go through the same code as the API (`Desk`).

use super::{Posted, Viewer, danish_time, page, see_other, words};
use crate::access::Caseworker;
use crate::api::deadlines::Desk;
use crate::audit::Actor;
use crate::clock::Clock;
use crate::config::Settings;
use crate::deadlines::Policies;
use crate::problem::{Problem, internal, kinds};
use crate::store::{DeadlineFilter, DeadlineRecord, DeadlineState, REOPEN_REASONS, Store};
use actix_web::{HttpRequest, HttpResponse, web};
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

pub const TEMPLATES: &[(&str, &str)] = &[("deadlines.html", include_str!("templates/deadlines.html"))];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/frister", crate::api::errors::get().to(list))
        .route("/frister/{id}/loes", web::post().to(resolve))
        .route("/frister/{id}/genaabn", web::post().to(reopen));
}

/// The views of the list, by their value in the address, with their Danish names.
const VIEWS: &[(&str, &str)] = &[
    ("aabne", "Alle åbne"),
    ("i-dag", "Forfalder i dag"),
    ("uge", "Forfalder denne uge"),
    ("overskredne", "Overskredne"),
    ("overholdte", "Overholdte"),
    ("annullerede", "Annullerede"),
];

#[derive(Deserialize)]
pub struct ListQuery {
    vis: Option<String>,
    team: Option<String>,
    frist: Option<String>,
    side: Option<u32>,
    /// What was just done (after a form): `loest` or `genaabnet`.
    besked: Option<String>,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    chosen: bool,
}

#[derive(Serialize)]
struct Row {
    id: i64,
    case_ref: String,
    title: String,
    team: Option<String>,
    due: String,
    state: &'static str,
    overdue: bool,
    resolvable: bool,
    reopenable: bool,
    outcomes: Vec<Choice>,
    /// Who met it (or what did: a message, the scheduler) and when, with the outcome.
    done: Option<String>,
}

#[derive(Serialize)]
struct Deadlines {
    views: Vec<Choice>,
    kinds: Vec<Choice>,
    teams: Vec<Choice>,
    /// A team lead chooses among teams; a caseworker sees their own.
    own_team: Option<String>,
    reasons: Vec<Choice>,
    rows: Vec<Row>,
    /// This list's address, to come back to after a form.
    back: String,
    page: u32,
    previous: Option<String>,
    next: Option<String>,
    message: Option<&'static str>,
}

/// The start of the day after `now`'s day in Copenhagen, and of the Monday after its week.
fn day_and_week_end(now: Timestamp) -> (Timestamp, Timestamp) {
    let today = crate::domain::copenhagen_date(now);
    let start = |date: jiff::civil::Date| {
        date.to_zoned(crate::domain::copenhagen())
            .map_or(now, |z| z.timestamp())
    };
    let tomorrow = today.tomorrow().unwrap_or(today);
    let to_monday = 7 - i64::from(today.weekday().to_monday_zero_offset());
    let next_monday = today.checked_add(to_monday.days()).unwrap_or(tomorrow);
    (start(tomorrow), start(next_monday))
}

/// The list's address with these choices (and a page), for links and for coming back.
fn address(view: &str, team: Option<&str>, kind: Option<&str>, page: u32) -> String {
    let mut query = openidconnect::url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("vis", view);
    if let Some(team) = team {
        query.append_pair("team", team);
    }
    if let Some(kind) = kind {
        query.append_pair("frist", kind);
    }
    if page > 1 {
        query.append_pair("side", &page.to_string());
    }
    format!("/frister?{}", query.finish())
}

fn chosen(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

async fn list(
    viewer: Viewer,
    query: web::Query<ListQuery>,
    store: web::Data<dyn Store>,
    settings: web::Data<Settings>,
    policies: web::Data<Policies>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, Problem> {
    let caseworker = Caseworker::of(viewer.principal.clone())?;
    let bad = |detail: String| Problem::new(kinds::BAD_REQUEST, detail);
    let view = chosen(query.vis.as_deref()).unwrap_or("aabne");
    if !VIEWS.iter().any(|(v, _)| *v == view) {
        return Err(bad("Den visning findes ikke.".to_owned()));
    }
    let kind = chosen(query.frist.as_deref());
    if let Some(kind) = kind
        && !settings.deadlines.contains_key(kind)
    {
        return Err(bad("Den slags frist findes ikke.".to_owned()));
    }
    // A caseworker sees their team's; a team lead every team's, or the one chosen.
    let team = match &caseworker.team {
        Some(own) => Some(own.as_str()),
        None => chosen(query.team.as_deref()),
    };
    if let Some(team) = team
        && caseworker.team.is_none()
        && !settings.teams.contains_key(team)
    {
        return Err(bad("Det team findes ikke.".to_owned()));
    }
    let number = super::inbox::page_number(query.side);
    let (day_end, week_end) = day_and_week_end(clock.now());
    let mut filter = DeadlineFilter {
        municipality: caseworker.municipality.clone(),
        team: team.map(str::to_owned),
        policy: kind.map(str::to_owned),
        limit: super::inbox::PER_PAGE + 1,
        offset: (number - 1) * super::inbox::PER_PAGE,
        ..DeadlineFilter::default()
    };
    match view {
        "i-dag" => (filter.pending, filter.due_before) = (true, Some(day_end)),
        "uge" => (filter.pending, filter.due_before) = (true, Some(week_end)),
        "overskredne" => filter.state = Some(DeadlineState::Missed),
        "overholdte" => filter.state = Some(DeadlineState::Met),
        "annullerede" => filter.state = Some(DeadlineState::Cancelled),
        _ => filter.pending = true,
    }
    let mut deadlines = store.deadlines(filter).await.map_err(internal)?;
    let more = deadlines.len() > super::inbox::PER_PAGE as usize;
    deadlines.truncate(super::inbox::PER_PAGE as usize);
    let rows = deadlines.into_iter().map(|d| row(d, &policies)).collect();
    let message = match query.besked.as_deref() {
        Some("loest") => Some("Fristen er løst."),
        Some("genaabnet") => Some("Fristen er åbnet igen."),
        _ => None,
    };
    let choices = |items: Vec<(String, String)>, current: Option<&str>| -> Vec<Choice> {
        items
            .into_iter()
            .map(|(value, label)| Choice {
                chosen: current == Some(value.as_str()),
                value,
                label,
            })
            .collect()
    };
    Ok(page(
        "deadlines.html",
        Some(&viewer),
        "frister",
        Deadlines {
            views: choices(
                VIEWS.iter().map(|(v, l)| ((*v).to_owned(), (*l).to_owned())).collect(),
                Some(view),
            ),
            kinds: choices(
                settings
                    .deadlines
                    .iter()
                    .filter(|(_, p)| p.enabled)
                    .map(|(id, p)| (id.clone(), p.name.clone()))
                    .collect(),
                kind,
            ),
            teams: choices(
                settings
                    .teams
                    .iter()
                    .map(|(id, t)| (id.clone(), t.name.clone()))
                    .collect(),
                team,
            ),
            own_team: caseworker.team.as_deref().map(|id| words::team(&settings, id)),
            reasons: choices(
                REOPEN_REASONS
                    .iter()
                    .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
                    .collect(),
                None,
            ),
            rows,
            back: address(view, team, kind, number),
            page: number,
            previous: (number > 1).then(|| address(view, team, kind, number - 1)),
            next: more.then(|| address(view, team, kind, number + 1)),
            message,
        },
    ))
}

fn row(d: DeadlineRecord, policies: &Policies) -> Row {
    let outcomes = policies
        .outcomes(&d.policy)
        .unwrap_or_default()
        .iter()
        .map(|code| Choice {
            value: code.clone(),
            label: words::outcome(code),
            chosen: false,
        })
        .collect();
    let done = match (d.state, &d.resolved_at) {
        (DeadlineState::Met, Some(at)) => Some(format!(
            "{} af {} {}",
            d.outcome.as_deref().map(words::outcome).unwrap_or_default(),
            d.resolved_by
                .as_deref()
                .map(super::timeline::actor_label)
                .unwrap_or_default(),
            danish_time(*at),
        )),
        _ => None,
    };
    Row {
        id: d.id,
        case_ref: d.case_ref.to_string(),
        title: d.title,
        team: d.team,
        due: danish_time(d.due_at),
        state: words::state(d.state),
        overdue: d.state == DeadlineState::Missed,
        resolvable: matches!(d.state, DeadlineState::Open | DeadlineState::Missed),
        reopenable: d.state != DeadlineState::Open,
        outcomes,
        done,
    }
}

/// Where to go after a form: the list or case page it came from, never another site.
fn back_to(fields: &super::Fields, done: &str) -> String {
    let back = fields
        .get("tilbage")
        .filter(|b| (b.starts_with("/frister?") || b.starts_with("/sager/")) && !b.contains("//"))
        .unwrap_or("/frister?vis=aabne");
    let join = if back.contains('?') { '&' } else { '?' };
    format!("{back}{join}besked={done}")
}

fn deadline_id(path: &str) -> Result<i64, Problem> {
    path.parse()
        .map_err(|_| Problem::new(kinds::NOT_FOUND, "no such deadline".to_owned()))
}

async fn resolve(req: HttpRequest, path: web::Path<String>, posted: Posted) -> Result<HttpResponse, Problem> {
    let id = deadline_id(&path)?;
    let caseworker = Caseworker::of(posted.viewer.principal.clone())?;
    let outcome = posted
        .fields
        .get("outcome")
        .ok_or_else(|| Problem::new(kinds::BAD_REQUEST, "Vælg, hvordan fristen er løst.".to_owned()))?;
    let desk = Desk::of(&req)?;
    let actor = Actor::of(&caseworker.principal, &req);
    desk.resolve(&caseworker, &actor, id, outcome).await?;
    Ok(see_other(&back_to(&posted.fields, "loest")))
}

async fn reopen(req: HttpRequest, path: web::Path<String>, posted: Posted) -> Result<HttpResponse, Problem> {
    let id = deadline_id(&path)?;
    let caseworker = Caseworker::of(posted.viewer.principal.clone())?;
    let reason = posted
        .fields
        .get("reason")
        .ok_or_else(|| Problem::new(kinds::BAD_REQUEST, "Vælg, hvorfor fristen åbnes igen.".to_owned()))?;
    let desk = Desk::of(&req)?;
    let actor = Actor::of(&caseworker.principal, &req);
    desk.reopen(&caseworker, &actor, id, Some(reason)).await?;
    Ok(see_other(&back_to(&posted.fields, "genaabnet")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_ends_at_midnight_in_copenhagen_and_the_week_on_the_monday_after() {
        // Thursday 3 December 2026, 10:00 in Copenhagen (09:00 UTC).
        let now: Timestamp = "2026-12-03T09:00:00Z".parse().unwrap();
        let (day, week) = day_and_week_end(now);
        assert_eq!(day.to_string(), "2026-12-03T23:00:00Z");
        assert_eq!(week.to_string(), "2026-12-06T23:00:00Z");
        // On a Sunday the week ends that night.
        let sunday: Timestamp = "2026-12-06T12:00:00Z".parse().unwrap();
        assert_eq!(day_and_week_end(sunday).1.to_string(), "2026-12-06T23:00:00Z");
    }

    #[test]
    fn after_a_form_the_browser_goes_back_to_a_page_of_the_gateway_only() {
        let fields = |text: &str| super::super::Fields::parse(text.as_bytes());
        assert_eq!(
            back_to(&fields("tilbage=%2Ffrister%3Fvis%3Duge"), "loest"),
            "/frister?vis=uge&besked=loest"
        );
        for hostile in [
            "https://evil.example/frister?",
            "//evil.example",
            "/frister?x=//evil",
            "",
        ] {
            let back = back_to(&fields(&format!("tilbage={hostile}")), "loest");
            assert_eq!(back, "/frister?vis=aabne&besked=loest", "{hostile}");
        }
    }
}
