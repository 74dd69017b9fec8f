//! The adapter's tests, one binary (one link step) for all of them.

mod common;
mod robustness;
mod samples;
mod xsd_agreement;
