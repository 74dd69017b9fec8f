//! Large jobs (a CSV batch, a report) run apart from the HTTP workers. Each HTTP worker is one
//! thread serving many connections; a job that parses, checks or sums for hundreds of
//! milliseconds between its awaits would hold every other request of that worker for as long.
//! Here the job runs on a thread of the blocking pool, on a small runtime of its own (the store's
//! calls need no I/O driver: they wait on channels).

use std::future::Future;

/// Runs `job` on a thread of the blocking pool and returns its output.
pub async fn apart<T: Send + 'static>(job: impl Future<Output = T> + Send + 'static) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
        Ok(runtime.block_on(job))
    })
    .await?
}
