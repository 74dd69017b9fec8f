use crate::config::{Settings, StorageUrl};
use crate::startup::Application;

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    crate::telemetry::init(&settings.log);
    let StorageUrl::Sqlite(database) = settings.storage_url()?;
    let app = Application::build(settings.clone()).await?;
    let bind = settings.bind_addr()?;
    tracing::info!(
        listening = %format!("http://{}:{}", bind.ip(), app.port()),
        data_dir = %settings.data_dir.display(),
        database = %database.display(),
        "indgang is serving"
    );
    app.run_until_stopped().await?;
    tracing::info!("indgang stopped");
    Ok(())
}
