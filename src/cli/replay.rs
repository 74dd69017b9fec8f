//! `indgang replay`: puts dead letters back in the queue, with their delivery ids, straight in
//! the database. A running gateway picks them up within `delivery.poll_interval_ms`.

use super::output::{Wanting, counted, outln};
use crate::audit::{About, Actor, Auditor, action, outcome};
use crate::config::Settings;
use crate::startup::open_store;
use crate::store::{DeadLetterFilter, Replay};
use anyhow::bail;

#[derive(clap::Args)]
pub struct Args {
    /// Delivery ids (dlv_…) of dead letters.
    #[arg(value_name = "DELIVERY_ID")]
    ids: Vec<String>,
    /// Every dead letter of this destination (an id, or mail:<team>).
    #[arg(long)]
    destination: Option<String>,
    /// Dead at or after this instant (RFC 3339) or date (Copenhagen).
    #[arg(long)]
    since: Option<String>,
    /// Dead before this instant or date.
    #[arg(long)]
    until: Option<String>,
    /// Every dead letter.
    #[arg(long, conflicts_with_all = ["ids", "destination", "since", "until"])]
    all: bool,
}

pub async fn run(settings: Settings, args: Args) -> anyhow::Result<()> {
    let filtered = args.destination.is_some() || args.since.is_some() || args.until.is_some();
    if !args.ids.is_empty() && filtered {
        bail!("name delivery ids or a filter (--destination, --since, --until), not both");
    }
    if args.ids.is_empty() && !filtered && !args.all {
        bail!("name delivery ids, a filter (--destination, --since, --until) or --all");
    }
    let instant =
        |flag: &str, text: &Option<String>| crate::api::instant_arg(flag, text.as_deref()).map_err(anyhow::Error::msg);
    let filter = DeadLetterFilter {
        destination: args.destination.clone(),
        since: instant("--since", &args.since)?,
        until: instant("--until", &args.until)?,
        limit: 0,
    };
    let store = open_store(&settings).await?;
    let now = jiff::Timestamp::now();
    let result = async {
        let vault = crate::startup::open_vault(&settings, store.as_ref()).await?;
        let auditor = Auditor::new(store.clone(), vault.audit_key(), crate::clock::Clock::system());
        let actor = Actor::command_line();
        let mut replayed = Vec::new();
        if args.ids.is_empty() {
            replayed = store.replay(Replay::Matching(filter), now).await?;
            let target = match &args.destination {
                Some(d) => format!(
                    "dead letters to {} ({})",
                    crate::validation::echo::cut(d),
                    replayed.len()
                ),
                None => format!("dead letters ({})", replayed.len()),
            };
            auditor
                .record(&actor, action::DELIVERY_REPLAY, About::target(target), outcome::OK)
                .await?;
        } else {
            for id in &args.ids {
                let found = store.replay(Replay::One(id.clone()), now).await?;
                let done = if found.is_empty() {
                    outcome::NOT_FOUND
                } else {
                    outcome::OK
                };
                let about = About::target(crate::validation::echo::cut(id));
                auditor.record(&actor, action::DELIVERY_REPLAY, about, done).await?;
                if found.is_empty() {
                    eprintln!("indgang: {id}: no dead letter has this delivery id");
                }
                replayed.extend(found);
            }
        }
        for id in &replayed {
            outln!("{id}");
        }
        eprintln!(
            "{} back in the queue",
            counted(replayed.len(), "dead letter is", "dead letters are")
        );
        if !args.ids.is_empty() && replayed.len() < args.ids.len() {
            let missing = args.ids.len() - replayed.len();
            return Err(Wanting(format!(
                "{} of the named deliveries {} no dead letter",
                missing,
                if missing == 1 { "is" } else { "are" }
            ))
            .into());
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}
