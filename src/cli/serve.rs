use crate::config::{Settings, StorageUrl};
use crate::startup::Application;

/// Exit code 1 for every failure here: the configuration was checked before (exit code 2).
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    serve(settings)
        .await
        .map_err(|e| super::output::Stopped(format!("{e:#}")).into())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    crate::telemetry::init(&settings.log);
    let database = match settings.storage_url()? {
        StorageUrl::Sqlite(path) => path.display().to_string(),
        postgres => postgres.to_string(),
    };
    let app = Application::build(settings.clone()).await?;
    // The handlers are in place before "serving" is logged: a SIGTERM sent on that line stops
    // gracefully instead of killing the process.
    let signal = shutdown_signal()?;
    let bind = settings.bind_addr()?;
    let scheme = if settings.server.tls.enabled() { "https" } else { "http" };
    tracing::info!(
        listening = %format!("{scheme}://{}:{}", bind.ip(), app.port()),
        data_dir = %settings.data_dir.display(),
        database = %database,
        "indgang is serving"
    );
    let stopper = app.stopper();
    tokio::spawn(async move {
        signal.await;
        tracing::info!("stopping: finishing the requests in flight");
        stopper.stop().await;
    });
    app.run_until_stopped().await?;
    tracing::info!("indgang stopped");
    Ok(())
}

/// SIGINT or SIGTERM: the handlers are installed now, the future ends at the first signal.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use anyhow::Context;
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// SIGINT (Ctrl-C).
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
