//! `indgang match test OFFER.json`: the citizens seeking housing now, ranked against the home of a
//! housing-offer file with the configured rules, read straight from the database. Case
//! references, scores and reasons only: no CPR number, no name. Nothing is stored.

use super::output::{Wanting, counted, outln};
use super::validate::{Failure, check_file};
use crate::config::Settings;
use crate::domain::{Kind, copenhagen_date};
use crate::matching::{self, Home, MatchRules};
use crate::startup::open_store;
use crate::validation::Validator;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Rank the citizens seeking housing against the home of a housing offer (canonical JSON).
    Test {
        /// Print JSON lines (one object per candidate and per citizen excluded) instead of text.
        #[arg(long)]
        json: bool,
        /// The housing-offer file (an offer or update; its municipality's citizens are ranked).
        #[arg(value_name = "OFFER")]
        file: PathBuf,
    },
}

pub async fn run(settings: Settings, command: Command) -> anyhow::Result<()> {
    let Command::Test { json, file } = command;
    let rules = MatchRules::from_settings(&settings.matching)?;
    let validator = Validator::from_settings(&settings)?;
    let now = jiff::Timestamp::now();
    let checked = match check_file(&validator, Some(Kind::HousingOffer), None, &file, now) {
        Ok(checked) => checked,
        Err(Failure::Unreadable(error)) => anyhow::bail!("{}: {error}", file.display()),
        Err(Failure::Invalid { violations, .. }) => {
            return Err(Wanting(format!(
                "{}: not a valid housing offer ({}; see indgang validate)",
                file.display(),
                counted(violations.len(), "fault", "faults")
            ))
            .into());
        }
    };
    let summary = crate::validation::summary(Kind::HousingOffer, &checked.document);
    let home = Home::from_summary(&summary)
        .ok_or_else(|| Wanting(format!("{}: a withdrawal describes no home", file.display())))?;
    let municipality = checked.municipality.to_string();
    let store = open_store(&settings).await?;
    let rows = store
        .housing_seekers(municipality.clone(), settings.reports.housing_policy.clone(), None)
        .await;
    store.close().await;
    let seekers: Vec<_> = rows?.iter().filter_map(matching::seeker).collect();
    let today = copenhagen_date(now);
    let ranking = matching::rank(&home, &seekers, today, &rules);
    if json {
        for c in &ranking.candidates {
            outln!("{}", serde_json::to_string(c)?);
        }
        for e in &ranking.excluded {
            outln!("{}", serde_json::to_string(e)?);
        }
        return Ok(());
    }
    let yes = |b: bool| if b { "ja" } else { "nej" };
    outln!(
        "{}, {} rooms, rent {} a month, dogs {}, cats {}, step-free {}, postcode {}; available {}, answer by {}",
        home.kind,
        home.rooms,
        matching::kroner(home.monthly_rent_dkk),
        yes(home.dogs_allowed),
        yes(home.cats_allowed),
        home.step_free.map_or("ikke oplyst", yes),
        home.postcode.as_deref().unwrap_or("-"),
        home.available_from,
        home.answer_deadline
    );
    outln!(
        "{} in {municipality} on {today}: {}, {} excluded",
        counted(seekers.len(), "citizen seeking housing", "citizens seeking housing"),
        counted(ranking.candidates.len(), "candidate", "candidates"),
        ranking.excluded.len()
    );
    for c in &ranking.candidates {
        outln!(
            "{:>4}  {}  {:>7.3}  {}",
            c.rank,
            c.case_ref,
            c.score,
            c.reasons.join("; ")
        );
    }
    for e in &ranking.excluded {
        outln!("   -  {}  {:<9}  {}", e.case_ref, e.rule.as_str(), e.reason);
    }
    Ok(())
}
