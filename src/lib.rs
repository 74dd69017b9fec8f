//! indgang: the single municipal intake for release notices, housing offers and jobcenter
//! messages. See README.md and docs/ for the map.

pub mod access;
pub mod alerts;
pub mod alloc;
pub mod apart;
pub mod api;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod deadlines;
pub mod delivery;
pub mod domain;
pub mod intake;
pub mod matching;
pub mod metrics;
pub mod oidc;
pub mod problem;
pub mod reports;
pub mod routing;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod validation;
pub mod vault;
pub mod web;
