use crate::helpers::{filed, problem, release_notice, spawn_app};
use indgang::domain::Kind;
use serde_json::Value;

#[tokio::test]
async fn the_same_message_again_gets_200_and_the_original_receipt() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    let notice = release_notice("again-1", "0101901234", "751");

    let first = app.submit(Kind::ReleaseNotice, &token, &notice).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();

    // The same content with other formatting and key order is the same message.
    let members: Vec<String> = notice
        .as_object()
        .unwrap()
        .iter()
        .rev()
        .map(|(key, value)| format!("\n  {}: {}", serde_json::to_string(key).unwrap(), value))
        .collect();
    let reordered = format!("{{{}\n}}", members.join(",")).into_bytes();
    assert!(
        !String::from_utf8_lossy(&reordered).starts_with("{\n  \"citizen\""),
        "the order really differs"
    );
    let second = app
        .submit_raw(Kind::ReleaseNotice, &token, "application/json", reordered)
        .await;
    assert_eq!(second.status(), 200);
    assert!(second.headers().contains_key("location"));
    assert_eq!(filed(&second.json::<Value>().await.unwrap()), filed(&first));
    assert_eq!(app.cases("751").await[0]["message_count"], 1);
}

#[tokio::test]
async fn the_same_message_id_with_other_content_is_409() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    let notice = release_notice("again-2", "0101901234", "751");
    assert_eq!(app.submit(Kind::ReleaseNotice, &token, &notice).await.status(), 202);

    let mut changed = notice.clone();
    changed["release"]["expected_date"] = "2027-03-01".into();
    let response = app.submit(Kind::ReleaseNotice, &token, &changed).await;

    assert_eq!(response.status(), 409);
    assert_eq!(
        problem(response).await["type"],
        "urn:indgang:problem:message-id-conflict"
    );
    assert_eq!(app.cases("751").await[0]["message_count"], 1);
}

#[tokio::test]
async fn message_ids_are_per_sender() {
    let app = spawn_app().await;
    let horsens = app.prison_token().await;
    let vestre = app.sender_token("kif-vestre", &[Kind::ReleaseNotice]).await;
    let notice = release_notice("shared-id", "0101901234", "751");
    let mut from_vestre = notice.clone();
    from_vestre["sender"]["id"] = "kif-vestre".into();

    assert_eq!(app.submit(Kind::ReleaseNotice, &horsens, &notice).await.status(), 202);
    assert_eq!(
        app.submit(Kind::ReleaseNotice, &vestre, &from_vestre).await.status(),
        202
    );
}

#[tokio::test]
async fn concurrent_duplicates_store_one_message() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    let notice = release_notice("race-1", "0101901234", "751");

    let attempts = (0..40).map(|_| app.submit(Kind::ReleaseNotice, &token, &notice));
    let responses = futures_util::future::join_all(attempts).await;

    let mut accepted = 0;
    let mut receipts = std::collections::HashSet::new();
    for response in responses {
        match response.status().as_u16() {
            202 => accepted += 1,
            200 => {}
            other => panic!("unexpected status {other}"),
        }
        receipts.insert(
            response.json::<Value>().await.unwrap()["receipt_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(accepted, 1, "exactly one submission files the message");
    assert_eq!(receipts.len(), 1, "every answer names the same receipt");
    let cases = app.cases("751").await;
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["message_count"], 1);
}
