//! Black-box tests: a real gateway on port 0, real HTTP, a fresh SQLite file per test.

mod adapters;
mod alerts;
mod audit;
mod binary;
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
mod openapi;
mod operations;
mod privacy;
mod receiver;
mod reports;
mod restart;
mod roles;
mod shutdown;
mod smtp;
mod tls;
