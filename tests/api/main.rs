//! Black-box tests: a real gateway on port 0, real HTTP, a fresh store per test: a SQLite file, or
//! with `INDGANG_TEST_STORAGE=postgres` a PostgreSQL database of its own (`backend`).

mod access;
mod adapters;
mod alerts;
mod audit;
mod backend;
mod binary;
mod browser;
mod cases;
mod cli;
mod crash;
mod deadlines;
mod delivery;
mod disk;
mod examples;
mod helpers;
mod hostile;
mod housing;
mod idempotency;
mod intake;
mod matching;
mod mtls;
mod oidc;
mod openapi;
mod operations;
mod postgres;
mod privacy;
mod provider;
mod readme;
mod receiver;
mod reports;
mod restart;
mod shutdown;
mod smtp;
mod tls;
mod web;
