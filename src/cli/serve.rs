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
    let StorageUrl::Sqlite(database) = settings.storage_url()?;
    let app = Application::build(settings.clone()).await?;
    let bind = settings.bind_addr()?;
    let scheme = if settings.server.tls.enabled() { "https" } else { "http" };
    tracing::info!(
        listening = %format!("{scheme}://{}:{}", bind.ip(), app.port()),
        data_dir = %settings.data_dir.display(),
        database = %database.display(),
        "indgang is serving"
    );
    let stopper = app.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping: finishing the requests in flight");
        stopper.stop().await;
    });
    app.run_until_stopped().await?;
    tracing::info!("indgang stopped");
    Ok(())
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
