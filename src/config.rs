//! Typed settings, loaded in layers: embedded defaults (`src/defaults.toml`) → optional file →
//! environment (`INDGANG__SECTION__KEY`). `Settings::load` validates everything, so a bad value
//! stops the start with a message that names the key.

use crate::domain::Kommunekode;
use crate::domain::working_days::{Calendar, ClosingDay};
use anyhow::{Context, bail};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULTS: &str = include_str!("defaults.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub municipalities: Municipalities,
    pub server: ServerSettings,
    pub storage: StorageSettings,
    pub limits: LimitSettings,
    pub security: SecuritySettings,
    pub intake: IntakeSettings,
    pub calendar: CalendarSettings,
    pub log: LogSettings,
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// `sqlite://PATH`; empty means `sqlite://<data_dir>/indgang.db`.
    pub url: String,
    pub read_connections: usize,
    /// How many submissions one commit may carry at most (group commit).
    pub max_batch: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub max_body_bytes: usize,
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
/// array or as one comma-separated string (handy in the environment).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "MunicipalitiesRaw")]
pub struct Municipalities(BTreeSet<Kommunekode>);

#[derive(Deserialize)]
#[serde(untagged)]
enum MunicipalitiesRaw {
    Text(String),
    List(Vec<serde_json::Value>),
}

impl TryFrom<MunicipalitiesRaw> for Municipalities {
    type Error = String;

    fn try_from(raw: MunicipalitiesRaw) -> Result<Self, String> {
        let codes: Vec<String> = match raw {
            MunicipalitiesRaw::Text(text) if text.trim() == "all" => {
                return Ok(Municipalities(Kommunekode::all().collect()));
            }
            MunicipalitiesRaw::Text(text) => text.split(',').map(|c| c.trim().to_owned()).collect(),
            MunicipalitiesRaw::List(items) => items
                .into_iter()
                .map(|item| match item {
                    serde_json::Value::String(s) => s,
                    other => format!("{other:03}"),
                })
                .collect(),
        };
        let set = codes
            .iter()
            .map(|code| Kommunekode::parse(code).map_err(|e| format!("{code:?}: {e}")))
            .collect::<Result<BTreeSet<_>, _>>()?;
        if set.is_empty() {
            return Err("the list is empty; use \"all\" or name at least one kommunekode".into());
        }
        Ok(Municipalities(set))
    }
}

impl Municipalities {
    pub fn contains(&self, code: Kommunekode) -> bool {
        self.0.contains(&code)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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

    fn validate(&self) -> anyhow::Result<()> {
        self.bind_addr()?;
        self.storage_url()?;
        if self.limits.max_body_bytes < 1024 || self.limits.max_body_bytes > 64 * 1024 * 1024 {
            bail!("limits.max_body_bytes: must lie between 1024 and 67108864 (64 MiB)");
        }
        if self.storage.read_connections == 0 || self.storage.read_connections > 64 {
            bail!("storage.read_connections: must lie between 1 and 64");
        }
        if self.storage.max_batch == 0 || self.storage.max_batch > 10_000 {
            bail!("storage.max_batch: must lie between 1 and 10000");
        }
        if self.server.workers > 256 {
            bail!("server.workers: at most 256 (0 means one per core)");
        }
        if !(1..=365).contains(&self.intake.late_notice_days) {
            bail!("intake.late_notice_days: must lie between 1 and 365");
        }
        if !(0..=86_400).contains(&self.intake.max_clock_skew_seconds) {
            bail!("intake.max_clock_skew_seconds: must lie between 0 and 86400");
        }
        if self.security.token_cache_seconds > 300 {
            bail!("security.token_cache_seconds: at most 300");
        }
        if let Some(key) = &self.security.key {
            use secrecy::ExposeSecret;
            crate::vault::decode_key(key.expose_secret()).map_err(|e| anyhow::anyhow!("security.key: {e}"))?;
        }
        if self.data_dir.as_os_str().is_empty() {
            bail!("data_dir: must name a folder");
        }
        self.calendar()?;
        crate::telemetry::parse_filter(&self.log.level).map_err(|e| anyhow::anyhow!("log.level: {e}"))?;
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
            bail!("storage.url: PostgreSQL is not supported by this version; use sqlite://PATH");
        }
        bail!("storage.url: {url:?} is not a storage URL; use sqlite://PATH")
    }

    /// The working-day calendar: public holidays plus `calendar.extra_closing_days`, deadlines at
    /// `calendar.deadline_time`.
    pub fn calendar(&self) -> anyhow::Result<Calendar> {
        let extra = self
            .calendar
            .extra_closing_days
            .iter()
            .enumerate()
            .map(|(i, text)| {
                ClosingDay::parse(text).map_err(|e| anyhow::anyhow!("calendar.extra_closing_days[{i}]: {text:?}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let time = self.calendar.deadline_time.parse::<jiff::civil::Time>().map_err(|_| {
            anyhow::anyhow!(
                "calendar.deadline_time: {:?} is not a time of day such as 16:00",
                self.calendar.deadline_time
            )
        })?;
        Ok(Calendar::new(extra, time))
    }

    pub fn key_file(&self) -> PathBuf {
        if self.security.key_file.trim().is_empty() {
            self.data_dir.join("indgang.key")
        } else {
            PathBuf::from(&self.security.key_file)
        }
    }
}
