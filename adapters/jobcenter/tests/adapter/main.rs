//! The adapter's tests, one binary (one link step) for all of them.

mod robustness;
mod samples;
