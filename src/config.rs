//! Typed settings, loaded in layers: embedded defaults (`src/defaults.toml`) → optional file →
//! environment (`INDGANG__SECTION__KEY`).
//!
//! Plain data: this module imports no other module of the crate, and every module may import
//! it. `Settings::load` checks what can be checked from the settings alone (numbers within
//! their bounds, addresses, durations); each part checks its own section when it is built from
//! the settings (`Router::from_settings`, `Policies::from_settings`, `delivery::check_settings`,
//! …), and `startup::check` runs all of those, so a bad value stops the start with a message
//! that names its key.

use anyhow::{Context, bail};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULTS: &str = include_str!("defaults.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub municipalities: MunicipalitySettings,
    pub server: ServerSettings,
    pub storage: StorageSettings,
    pub limits: LimitSettings,
    pub security: SecuritySettings,
    pub intake: IntakeSettings,
    pub calendar: CalendarSettings,
    pub log: LogSettings,
    pub delivery: DeliverySettings,
    pub smtp: SmtpSettings,
    /// Teams behind the intake, by id: `[teams.<id>]`.
    #[serde(default)]
    pub teams: BTreeMap<String, TeamSettings>,
    /// Where deliveries go besides team mailboxes, by id: `[destinations.<id>]`.
    #[serde(default)]
    pub destinations: BTreeMap<String, DestinationSettings>,
    /// The root of the route tree: the default route, the municipality's single intake.
    pub routing: RouteSettings,
    /// Which deadlines messages create, by policy id: `[deadlines.<id>]`.
    #[serde(default)]
    pub deadlines: BTreeMap<String, DeadlinePolicySettings>,
    pub scheduler: SchedulerSettings,
    pub reports: ReportSettings,
    pub alerts: AlertSettings,
    pub audit: AuditSettings,
    pub auth: AuthSettings,
    pub matching: MatchingSettings,
    pub web: WebSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub oidc: OidcSettings,
    pub session: SessionSettings,
}

/// Sign-in for people with OpenID Connect (authorization code flow with PKCE); off while
/// `issuer` is empty. `oidc::RoleMap::from_settings` checks the section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The provider's issuer URL; its `/.well-known/openid-configuration` is read at start.
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// `<the gateway's address>/auth/callback`, as registered with the provider.
    pub redirect_url: String,
    /// Sent to the provider's end-session endpoint after sign-out; empty: none.
    pub post_logout_redirect_url: String,
    #[serde(deserialize_with = "list_or_text")]
    pub scopes: Vec<String>,
    /// The claim whose values are looked up in `roles` (`groups`, `roles`, …).
    pub roles_claim: String,
    /// Which claim values give which role.
    pub roles: Vec<RoleMappingSettings>,
}

impl OidcSettings {
    pub fn enabled(&self) -> bool {
        !self.issuer.trim().is_empty()
    }
}

/// One value of the roles claim and the role it gives: `caseworker` and `team_lead` with a
/// `municipality` and optionally a `team`, `operator`, `auditor`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMappingSettings {
    pub value: String,
    pub role: String,
    #[serde(default)]
    pub municipality: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    /// A session not used for this long ends.
    pub idle_minutes: u32,
    /// A session ends this long after sign-in, used or not.
    pub max_hours: u32,
}

/// How a vacant home is matched with the citizens seeking housing (docs/matching.md); checked by
/// `matching::MatchRules::from_settings`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchingSettings {
    /// The hard rules in force: `dog`, `cat`, `step_free`, `rent`, `timing`.
    pub hard_rules: Vec<String>,
    /// `timing`: a citizen still in custody is a candidate only if released at most this many
    /// days after the home is available (longer, and the home stands empty).
    pub max_days_before_release: u32,
    /// A release this many days away or more adds nothing to the score; sooner adds more.
    pub release_window_days: u32,
    /// Seeking housing this many days or longer gives the whole `waited` weight.
    pub waited_full_days: u32,
    /// Where the caseworker's answer on a vacant home goes: a `[destinations.<id>]` id (the
    /// allocation office's webhook); empty: the answer is recorded but sent nowhere.
    pub answer_destination: String,
    pub weights: MatchingWeights,
}

/// The soft rules' weights: what each adds to (or takes from) a candidate's score.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchingWeights {
    /// At least the rooms wanted (added), or fewer (taken).
    pub rooms: f64,
    /// The home's postcode is one the citizen prefers.
    pub preferred_postcode: f64,
    /// The home's postcode is one the citizen wants to avoid (taken).
    pub avoided_postcode: f64,
    /// Released already (the whole weight), or soon (in proportion within the window).
    pub release_soon: f64,
    /// How long the citizen has sought housing, in proportion up to `waited_full_days`.
    pub waited: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Entries of the audit log are kept this many days (1826, five years, by default), then
    /// pruned; the chain stays verifiable from the last entry pruned.
    pub retention_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// A folder whose `notification.txt`, `notification.html`, `reminder.txt`, … replace the
    /// embedded Danish templates; empty: the embedded ones.
    pub templates_dir: String,
    /// Alerts to one team address that arrive within this time of each other go out as one
    /// email ("2m"); "0s": each alert on its own, at once.
    pub group_window: String,
    /// At most this many alerts in one email.
    pub group_max: usize,
    /// The daily digest per team, at this time of day (Copenhagen) on working days ("07:30");
    /// empty: no digest.
    pub digest_at: String,
    /// The digest lists the open deadlines due within this many working days after the day,
    /// and every missed one nobody has resolved.
    pub digest_working_days: i32,
}

impl AlertSettings {
    pub fn templates_dir(&self) -> Option<&Path> {
        (!self.templates_dir.trim().is_empty()).then(|| Path::new(self.templates_dir.trim()))
    }

    /// How long an alert to a team waits for others to the same address.
    pub fn group_window(&self) -> anyhow::Result<jiff::SignedDuration> {
        duration_setting(
            "alerts.group_window",
            &self.group_window,
            ("2m, 90s or 0s", "1h", jiff::SignedDuration::from_hours(1)),
        )
    }

    /// When the daily digest goes out, if at all.
    pub fn digest_at(&self) -> anyhow::Result<Option<jiff::civil::Time>> {
        let text = self.digest_at.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("alerts.digest_at: {text:?} is not a time of day such as 07:30"))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    /// The deadline policy whose deadline is "a housing solution in place at release" (the
    /// municipality report's Målsætning 4 figure).
    pub housing_policy: String,
}

/// One deadline policy (see domain.md's deadline table for the defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlinePolicySettings {
    /// `false` switches a policy off (the embedded defaults cannot be removed, only disabled).
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// How caseworkers read it, in Danish.
    pub name: String,
    /// The kinds of message that create (or move) it.
    #[serde(deserialize_with = "list_or_text")]
    pub kinds: Vec<String>,
    /// `received + N` (N working days after the message arrived), or a date or date-time member of
    /// the message, optionally `+ N` or `- N` working days: `/release/expected_date - 10`.
    pub due: String,
    /// Reminders this many working days before the due day, e.g. `[30, 14, 7, 2]`.
    #[serde(default)]
    pub reminders: Vec<u32>,
    /// Only messages that also match these: `[{ path = "/needs", values = ["action_plan"] }]`.
    #[serde(default)]
    pub when: Vec<FieldMatchSettings>,
    /// A message of one of `kinds` matching these cancels the open deadline instead.
    #[serde(default)]
    pub cancelled_by: Vec<FieldMatchSettings>,
    /// A message of one of `kinds` whose member at `path` has one of `values` meets the deadline,
    /// with that value as its outcome; a later one with another value there opens it again.
    #[serde(default)]
    pub met_by: Option<FieldMatchSettings>,
    /// Resolving a deadline of `policy` on the same case with one of `outcomes` meets this one
    /// too, with the outcome `outcome`.
    #[serde(default)]
    pub met_by_resolving: Vec<MetByResolvingSettings>,
    /// A message that sets this deadline on a citizen's case in one municipality closes the
    /// open ones of the citizen's cases in the others, as transferred.
    #[serde(default)]
    pub moves_with_citizen: bool,
    /// `message`: one deadline per message; `case`: one open deadline per case, moved by later
    /// messages; `offer`: one per housing offer on the case.
    pub scope: String,
    /// The outcomes a caseworker may resolve it with.
    #[serde(deserialize_with = "list_or_text")]
    pub outcomes: Vec<String>,
    /// Who gets the breach escalation: `lead` (the team's lead) or `mailbox`.
    pub escalate_to: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    /// How often the scheduler looks for reminders and breaches that are due.
    pub tick_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    /// How many deliveries are sent at the same time at most.
    pub concurrency: usize,
    /// How often the worker looks for due deliveries when nothing wakes it.
    pub poll_interval_ms: u64,
    /// Waits before each retry, as durations such as "5s", "2m", "1h"; when they run out the
    /// delivery is a dead letter.
    #[serde(deserialize_with = "list_or_text")]
    pub retry_schedule: Vec<String>,
    /// Each wait is moved by up to this share of itself, at random, either way.
    pub jitter_percent: u32,
    /// A receiver's `Retry-After` is followed up to this many seconds.
    pub retry_after_max_seconds: u64,
    /// A destination pauses after this many failures in a row …
    pub pause_after_failures: u32,
    /// … for this long, before one probe delivery; each failed probe doubles the pause, up to
    /// `pause_max_seconds`.
    pub pause_seconds: u64,
    pub pause_max_seconds: u64,
    /// A claimed delivery not finished within this time is sent again (crash safety).
    pub claim_seconds: u64,
}

/// The caseworkers' pages (`crate::web`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// The gateway's address as caseworkers' browsers reach it, e.g.
    /// `https://indgang.kommune.dk`: the base of the links in team emails.
    pub public_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// `smtp://host:587` (STARTTLS required), `smtps://host:465` (TLS from the start), or
    /// `smtp://127.0.0.1:25` (plain, only to this machine's own relay). Empty: write `.eml`
    /// files under `<data_dir>/outbox/` instead.
    pub url: String,
    pub from: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: Option<SecretString>,
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSettings {
    /// How the team is named in emails.
    pub name: String,
    /// Where routed messages and reminders go.
    pub mailbox: String,
    /// Who gets escalations.
    pub lead: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationSettings {
    /// `webhook`: a CloudEvents JSON POST, signed per Standard Webhooks.
    #[serde(rename = "type")]
    pub kind: String,
    /// `https://…`; `http://` only to a loopback address.
    pub url: String,
    /// The Standard Webhooks secret, `whsec_` followed by base64.
    pub secret: SecretString,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A PEM file with the client certificate (chain) and its private key, for mutual TLS.
    #[serde(default)]
    pub client_certificate: String,
    /// A PEM file with extra root certificates to trust (a municipality's own CA).
    #[serde(default)]
    pub ca_certificate: String,
}

fn enabled() -> bool {
    true
}

fn default_timeout() -> u64 {
    10
}

/// A node of the route tree. Every matcher given must hold; a list matches when any of its
/// values does. A message goes down the tree: the first child that matches takes it (the later
/// ones too when it says `continue = true`); a node none of whose children match is a result.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSettings {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    #[serde(default, deserialize_with = "list_or_text")]
    pub kinds: Vec<String>,
    #[serde(default, deserialize_with = "list_or_text")]
    pub municipalities: Vec<String>,
    #[serde(default, deserialize_with = "list_or_text")]
    pub senders: Vec<String>,
    #[serde(default, deserialize_with = "list_or_text")]
    pub notice_types: Vec<String>,
    #[serde(default, deserialize_with = "list_or_text")]
    pub custody: Vec<String>,
    #[serde(default, deserialize_with = "list_or_text")]
    pub needs: Vec<String>,
    #[serde(default, deserialize_with = "list_or_text")]
    pub offer_types: Vec<String>,
    #[serde(default, deserialize_with = "list_or_text")]
    pub message_types: Vec<String>,
    /// The citizen is younger than this many years on the day the message arrives (from the
    /// birth date in the CPR number).
    #[serde(default)]
    pub age_under: Option<u32>,
    #[serde(default)]
    pub age_at_least: Option<u32>,
    /// Any other member of the message: `{ path = "/consent", values = ["given"] }`.
    #[serde(default)]
    pub fields: Vec<FieldMatchSettings>,
    #[serde(default, deserialize_with = "list_or_text")]
    pub teams: Vec<String>,
    #[serde(default, deserialize_with = "list_or_text")]
    pub destinations: Vec<String>,
    #[serde(default)]
    pub routes: Vec<RouteSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetByResolvingSettings {
    pub policy: String,
    #[serde(deserialize_with = "list_or_text")]
    pub outcomes: Vec<String>,
    pub outcome: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMatchSettings {
    /// A JSON pointer into the canonical message.
    pub path: String,
    #[serde(deserialize_with = "list_or_text")]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSettings {
    /// An array, or one comma-separated string (handy in the environment).
    #[serde(deserialize_with = "list_or_text")]
    pub extra_closing_days: Vec<String>,
    pub deadline_time: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// HTTPS in the gateway itself; all empty: plain HTTP.
    pub tls: TlsSettings,
}

/// `[server.tls]`: PEM files. `crate::tls` reads and checks them (`startup::check`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// The server's certificate, followed by its intermediates; empty: plain HTTP.
    pub certificate: String,
    /// The certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: String,
    /// The authorities whose client certificates identify senders (mutual TLS); empty: none
    /// are asked for.
    pub client_ca: String,
}

impl TlsSettings {
    /// Whether the gateway serves HTTPS.
    pub fn enabled(&self) -> bool {
        !self.certificate.trim().is_empty()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// `sqlite://PATH` or `postgres://…`; empty means `sqlite://<data_dir>/indgang.db`.
    pub url: String,
    /// SQLite: the read connections; PostgreSQL: the pool's connections, reads and writes.
    pub read_connections: usize,
    /// How many submissions one commit may carry at most (group commit).
    pub max_batch: usize,
    /// SQLite: the least time between two commits while submissions keep coming, e.g. `2ms`.
    pub commit_interval: String,
}

impl StorageSettings {
    /// `commit_interval` read: 0 to 100 ms.
    pub fn commit_interval(&self) -> anyhow::Result<std::time::Duration> {
        let interval = duration_setting(
            "storage.commit_interval",
            &self.commit_interval,
            ("2ms or 0s", "100ms", jiff::SignedDuration::from_millis(100)),
        )?;
        Ok(interval.unsigned_abs())
    }
}

/// The duration setting `key` written as `text`, between zero and a most (`examples` for the
/// message, the most as written and as a duration).
fn duration_setting(
    key: &str,
    text: &str,
    (examples, most_text, most): (&str, &str, jiff::SignedDuration),
) -> anyhow::Result<jiff::SignedDuration> {
    let text = text.trim();
    let duration: jiff::SignedDuration = text
        .parse()
        .map_err(|_| anyhow::anyhow!("{key}: {text:?} is not a duration such as {examples}"))?;
    if duration.is_negative() || duration > most {
        bail!("{key}: {text:?} must lie between 0s and {most_text}");
    }
    Ok(duration)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub max_body_bytes: usize,
    /// The largest CSV batch of housing offers.
    pub max_batch_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// Base64 of 32 bytes; when set it wins over `key_file`.
    #[serde(default)]
    pub key: Option<SecretString>,
    /// Empty means `<data_dir>/indgang.key`, created with mode 0600 on first start.
    pub key_file: String,
    pub token_cache_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSettings {
    pub late_notice_days: i32,
    pub max_clock_skew_seconds: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Auto,
    Json,
    Pretty,
}

/// Which municipalities this gateway serves: `"all"`, or a list of kommunekoder given as an
/// array or as one comma-separated string (handy in the environment). Checked against the
/// list of municipalities by `domain::Municipalities::from_settings`.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "MunicipalitiesRaw")]
pub enum MunicipalitySettings {
    All,
    Codes(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum MunicipalitiesRaw {
    Text(String),
    List(Vec<serde_json::Value>),
}

impl From<MunicipalitiesRaw> for MunicipalitySettings {
    fn from(raw: MunicipalitiesRaw) -> Self {
        match raw {
            MunicipalitiesRaw::Text(text) if text.trim() == "all" => MunicipalitySettings::All,
            MunicipalitiesRaw::Text(text) => {
                MunicipalitySettings::Codes(text.split(',').map(|c| c.trim().to_owned()).collect())
            }
            MunicipalitiesRaw::List(items) => MunicipalitySettings::Codes(
                items
                    .into_iter()
                    .map(|item| match item {
                        serde_json::Value::String(s) => s,
                        other => format!("{other:03}"),
                    })
                    .collect(),
            ),
        }
    }
}

fn list_or_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        List(Vec<String>),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::List(items) => items,
        Raw::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Where the data lives, resolved from `storage.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUrl {
    Sqlite(PathBuf),
    /// The connection URL as written, password and all (`postgres://` or `postgresql://`).
    Postgres(String),
}

/// As a person writes it in `storage.url`: `sqlite:./data/indgang.db`.
impl std::fmt::Display for StorageUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            // Never the password: this is what logs show.
            StorageUrl::Postgres(url) => f.write_str(&without_password(url)),
        }
    }
}

impl Settings {
    /// Loads the layers and validates the result.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
        Self::load_from(file, std::env::vars())
    }

    /// As `load`, with the environment given (tests use this).
    pub fn load_from(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Settings> {
        let mut builder =
            config::Config::builder().add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = file {
            if !path.exists() {
                bail!("the configuration file {} does not exist", path.display());
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(key, _)| key.starts_with("INDGANG__"))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("INDGANG")
                .prefix_separator("__")
                .separator("__")
                .source(Some(env)),
        );
        let settings: Settings = builder
            .build()
            .context("reading the configuration")?
            .try_deserialize()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        settings.validate()?;
        Ok(settings)
    }

    /// The checks that need nothing but the settings; `startup::check` runs the rest.
    fn validate(&self) -> anyhow::Result<()> {
        self.bind_addr()?;
        self.storage_url()?;
        if self.limits.max_body_bytes < 1024 || self.limits.max_body_bytes > 64 * 1024 * 1024 {
            bail!("limits.max_body_bytes: must lie between 1024 and 67108864 (64 MiB)");
        }
        if self.limits.max_batch_bytes < 1024 || self.limits.max_batch_bytes > 64 * 1024 * 1024 {
            bail!("limits.max_batch_bytes: must lie between 1024 and 67108864 (64 MiB)");
        }
        if self.storage.read_connections == 0 || self.storage.read_connections > 64 {
            bail!("storage.read_connections: must lie between 1 and 64");
        }
        if self.storage.max_batch == 0 || self.storage.max_batch > 10_000 {
            bail!("storage.max_batch: must lie between 1 and 10000");
        }
        self.storage.commit_interval()?;
        if self.server.workers > 256 {
            bail!("server.workers: at most 256 (0 means one per core)");
        }
        let tls = &self.server.tls;
        match (tls.certificate.trim().is_empty(), tls.private_key.trim().is_empty()) {
            (false, true) => bail!("server.tls.private_key: required with server.tls.certificate"),
            (true, false) => bail!("server.tls.certificate: required with server.tls.private_key"),
            _ => {}
        }
        if !tls.client_ca.trim().is_empty() && !tls.enabled() {
            bail!(
                "server.tls.client_ca: client certificates need HTTPS: set server.tls.certificate and server.tls.private_key"
            );
        }
        if !(1..=365).contains(&self.intake.late_notice_days) {
            bail!("intake.late_notice_days: must lie between 1 and 365");
        }
        if !(0..=86_400).contains(&self.intake.max_clock_skew_seconds) {
            bail!("intake.max_clock_skew_seconds: must lie between 0 and 86400");
        }
        if !(1..=36_525).contains(&self.audit.retention_days) {
            bail!("audit.retention_days: must lie between 1 and 36525");
        }
        if self.security.token_cache_seconds > 300 {
            bail!("security.token_cache_seconds: at most 300");
        }
        if self.data_dir.as_os_str().is_empty() {
            bail!("data_dir: must name a folder");
        }
        if let Some(dir) = self.alerts.templates_dir()
            && !dir.is_dir()
        {
            bail!("alerts.templates_dir: {} is not a folder", dir.display());
        }
        self.alerts.group_window()?;
        if !(1..=500).contains(&self.alerts.group_max) {
            bail!("alerts.group_max: must lie between 1 and 500");
        }
        self.alerts.digest_at()?;
        if !(0..=20).contains(&self.alerts.digest_working_days) {
            bail!("alerts.digest_working_days: must lie between 0 and 20");
        }
        if !self
            .deadlines
            .get(&self.reports.housing_policy)
            .is_some_and(|p| p.enabled)
        {
            bail!(
                "reports.housing_policy: {:?} is not an enabled deadline policy ([deadlines.<id>])",
                self.reports.housing_policy
            );
        }
        if !(1..=1440).contains(&self.auth.session.idle_minutes) {
            bail!("auth.session.idle_minutes: must lie between 1 and 1440");
        }
        if !(1..=168).contains(&self.auth.session.max_hours) {
            bail!("auth.session.max_hours: must lie between 1 and 168");
        }
        if u64::from(self.auth.session.idle_minutes) > 60 * u64::from(self.auth.session.max_hours) {
            bail!("auth.session.idle_minutes: must not be longer than auth.session.max_hours");
        }
        if !(10..=60_000).contains(&self.scheduler.tick_ms) {
            bail!("scheduler.tick_ms: must lie between 10 and 60000");
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> anyhow::Result<SocketAddr> {
        self.server.bind.parse().map_err(|_| {
            anyhow::anyhow!(
                "server.bind: {:?} is not an address and port such as 127.0.0.1:8080",
                self.server.bind
            )
        })
    }

    pub fn storage_url(&self) -> anyhow::Result<StorageUrl> {
        let url = self.storage.url.trim();
        if url.is_empty() {
            return Ok(StorageUrl::Sqlite(self.data_dir.join("indgang.db")));
        }
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                bail!("storage.url: {url:?} names no file");
            }
            return Ok(StorageUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            url.parse::<tokio_postgres::Config>()
                .map_err(|e| anyhow::anyhow!("storage.url: not a PostgreSQL connection URL: {e}"))?;
            return Ok(StorageUrl::Postgres(url.to_owned()));
        }
        bail!(
            "storage.url: {:?} is not a storage URL; use sqlite://PATH or postgres://…",
            without_password(url)
        )
    }

    pub fn key_file(&self) -> PathBuf {
        if self.security.key_file.trim().is_empty() {
            self.data_dir.join("indgang.key")
        } else {
            PathBuf::from(&self.security.key_file)
        }
    }
}

/// A connection URL with its password, if any, replaced by `***`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Team and destination ids: they appear in URLs, metrics and environment variable names.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
