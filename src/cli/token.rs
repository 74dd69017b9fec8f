use super::output::{Wanting, out, outln};
use crate::audit::{About, Actor, Auditor, action, outcome};
use crate::auth::{Grant, create_token};
use crate::config::Settings;
use crate::domain::{Kind, Kommunekode};
use crate::startup::open_store;
use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};

#[derive(Subcommand)]
pub enum Command {
    /// Create a token; it is printed once, alone on the last line, and stored only as a hash.
    Create(CreateArgs),
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token by its id (tok_…).
    Revoke {
        /// The token's id, as `token create` and `token list` show it (tok_…), not the token.
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[derive(clap::Args)]
pub struct CreateArgs {
    /// What the token may do.
    #[arg(long, value_enum)]
    role: Role,
    /// Sender tokens: the sender id the messages must carry in sender.id.
    #[arg(long = "sender", value_name = "ID")]
    sender: Option<String>,
    /// Sender tokens: the kinds it may submit, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "KIND,…")]
    kinds: Vec<String>,
    /// Caseworker tokens: the kommunekode whose cases it may read.
    #[arg(long, value_name = "KODE")]
    municipality: Option<String>,
    /// Caseworker tokens: the team.
    #[arg(long, value_name = "NAME")]
    team: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Role {
    /// Submits messages of the given kinds as one sender id.
    Sender,
    /// Reads the receipts, cases, deadlines and reports of one municipality.
    Caseworker,
    /// Dead letters, replay and the delivery status.
    Operator,
    /// Reads the audit log, nothing else.
    Auditor,
}

pub async fn run(settings: Settings, command: Command) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    let result = async {
        let vault = crate::startup::open_vault(&settings, store.as_ref()).await?;
        let auditor = Auditor::new(store.clone(), vault.audit_key(), crate::clock::Clock::system());
        match command {
            Command::Create(args) => create(store.as_ref(), &auditor, &settings, args).await,
            Command::List => list(store.as_ref()).await,
            Command::Revoke { id } => {
                let revoked = store.revoke_token(&id, jiff::Timestamp::now()).await?;
                let outcome = if revoked { outcome::OK } else { outcome::NOT_FOUND };
                let about = About::target(crate::validation::echo::cut(&id));
                auditor
                    .record(&Actor::command_line(), action::TOKEN_REVOKE, about, outcome)
                    .await?;
                if !revoked {
                    return Err(Wanting(format!("no live token has the id {id:?}")).into());
                }
                outln!("revoked {id}");
                Ok(())
            }
        }
    }
    .await;
    store.close().await;
    result
}

fn grant(settings: &Settings, args: CreateArgs) -> anyhow::Result<Grant> {
    match args.role {
        Role::Sender => {
            if args.municipality.is_some() || args.team.is_some() {
                bail!("--municipality and --team are for caseworker tokens");
            }
            let sender_id = args.sender.context("--sender ID is required for a sender token")?;
            let kinds = args
                .kinds
                .iter()
                .map(|k| {
                    Kind::parse(k.trim()).with_context(|| {
                        format!("--kinds: {k:?} is not release-notice, housing-offer or jobcenter-message")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(Grant::Sender { sender_id, kinds })
        }
        Role::Caseworker => {
            if args.sender.is_some() || !args.kinds.is_empty() {
                bail!("--sender and --kinds are for sender tokens");
            }
            let code = args
                .municipality
                .context("--municipality KODE is required for a caseworker token")?;
            let municipality = Kommunekode::parse(&code).map_err(|e| anyhow::anyhow!("--municipality: {e}"))?;
            if !crate::domain::Municipalities::from_settings(&settings.municipalities)?.contains(municipality) {
                bail!(
                    "--municipality: {municipality} ({}) is not served by this gateway (see municipalities)",
                    municipality.name()
                );
            }
            Ok(Grant::Caseworker {
                municipality,
                team: args.team,
            })
        }
        Role::Operator | Role::Auditor => {
            let role = if matches!(args.role, Role::Operator) {
                "an operator"
            } else {
                "an auditor"
            };
            if args.sender.is_some() || !args.kinds.is_empty() || args.municipality.is_some() || args.team.is_some() {
                bail!("{role} token takes no --sender, --kinds, --municipality or --team");
            }
            Ok(if matches!(args.role, Role::Operator) {
                Grant::Operator
            } else {
                Grant::Auditor
            })
        }
    }
}

async fn create(
    store: &dyn crate::store::Store,
    auditor: &Auditor,
    settings: &Settings,
    args: CreateArgs,
) -> anyhow::Result<()> {
    let grant = grant(settings, args)?;
    let (record, token) = create_token(store, grant, jiff::Timestamp::now()).await?;
    auditor
        .record(
            &Actor::command_line(),
            action::TOKEN_CREATE,
            About::target(format!("{} ({})", record.id, record.role)),
            outcome::OK,
        )
        .await?;
    outln!("created {} ({}: {})", record.id, record.role, describe(&record));
    outln!("the token is shown this once; store it now:");
    outln!("{token}");
    Ok(())
}

fn describe(record: &crate::store::TokenRecord) -> String {
    match record.role.as_str() {
        "sender" => {
            let kinds: Vec<&str> = record.kinds.iter().map(|k| k.as_str()).collect();
            format!(
                "sender {} may submit {}",
                record.sender_id.as_deref().unwrap_or("?"),
                kinds.join(",")
            )
        }
        "operator" => "dead letters, replay, delivery status".to_owned(),
        "auditor" => "the audit log".to_owned(),
        _ => match &record.team {
            Some(team) => format!(
                "municipality {} team {team}",
                record.municipality.as_deref().unwrap_or("?")
            ),
            None => format!("municipality {}", record.municipality.as_deref().unwrap_or("?")),
        },
    }
}

async fn list(store: &dyn crate::store::Store) -> anyhow::Result<()> {
    let seconds = |at: jiff::Timestamp| at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let rows = store
        .tokens()
        .await?
        .into_iter()
        .map(|record| {
            let state = match record.revoked_at {
                Some(at) => format!("revoked {}", seconds(at)),
                None => "live".to_owned(),
            };
            vec![
                record.id.clone(),
                record.role.clone(),
                seconds(record.created_at),
                describe(&record),
                state,
            ]
        })
        .collect();
    let table = crate::reports::Rows {
        headers: vec!["id", "role", "created", "grants", "state"],
        rows,
    };
    out!("{}", table.table());
    Ok(())
}
