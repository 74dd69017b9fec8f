use crate::helpers::{filed, parole_notice, spawn_app, spawn_app_in};
use indgang::domain::Kind;
use serde_json::Value;

#[tokio::test]
async fn receipts_and_cases_survive_a_restart() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    let response = app.submit(Kind::ReleaseNotice, &token, &parole_notice()).await;
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let receipt: Value = response.json().await.unwrap();
    let dir = app.stop().await.expect("the data folder");

    let again = spawn_app_in(dir.path(), &[]).await;

    let fetched = again.get(&location, &token).await;
    assert_eq!(
        fetched.status(),
        200,
        "the token, the receipt and the data are still there"
    );
    assert_eq!(filed(&fetched.json::<Value>().await.unwrap()), filed(&receipt));
    let aarhus = again.caseworker_token("751").await;
    let case: Value = again
        .get(&format!("/v1/cases/{}", receipt["case_ref"].as_str().unwrap()), &aarhus)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case["cpr"], "150385-1234", "the key file opens the data written before");
    // The same message again is recognised as a repeat after the restart.
    let repeat = again.submit(Kind::ReleaseNotice, &token, &parole_notice()).await;
    assert_eq!(repeat.status(), 200);
    again.stop().await;
}

#[tokio::test]
async fn a_start_with_another_key_is_refused() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    app.submit(Kind::ReleaseNotice, &token, &parole_notice()).await;
    let dir = app.stop().await.unwrap();

    let other_key = indgang::vault::generate_key();
    let settings = crate::helpers::settings_for(dir.path(), &[("INDGANG__SECURITY__KEY", &other_key)]);
    let error = indgang::startup::Application::build(settings)
        .await
        .err()
        .expect("the start is refused");
    assert!(
        error.to_string().contains("not the key this data was written with"),
        "{error:#}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_first_start_creates_a_private_key_file() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    // On PostgreSQL there is no database file; the server keeps the data.
    let database = (!crate::backend::postgres()).then_some("indgang.db");
    for file in ["indgang.key"].into_iter().chain(database) {
        let mode = std::fs::metadata(app.data_dir.join(file)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
}
