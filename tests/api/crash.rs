//! Nothing acknowledged is lost: the gateway is killed (SIGKILL, no shutdown at all) while
//! submissions stream in; after a restart every message that got a 202 is there. (A killed
//! process leaves the page cache behind, so this proves that no answer precedes its commit; that
//! the commit is also on the disk before the answer is the syncer's job in the writer.)

use crate::binary::{prison_token, serve, serve_with, token};
use crate::helpers::{filed, release_notice};
use crate::receiver::{Receiver, Reply};
use serde_json::Value;

#[tokio::test]
async fn every_acknowledged_message_survives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let sender = prison_token(data);
    let caseworker = token(data, &["--role", "caseworker", "--municipality", "751"]);
    let served = serve(data, "info");
    let address = served.address.clone();

    // 16 clients submit until the gateway disappears under them.
    let client = crate::helpers::client();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..16 {
        let (client, address, sender) = (client.clone(), address.clone(), sender.clone());
        let answered = answered.clone();
        clients.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0.. {
                let notice = release_notice(
                    &format!("kill-{c}-{i}"),
                    &format!("{:02}0190{:04}", 1 + c, i % 10_000),
                    "751",
                );
                let sent = client
                    .post(format!("{address}/v1/release-notices"))
                    .bearer_auth(&sender)
                    .json(&notice)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == 202 => match response.json::<Value>().await {
                        Ok(receipt) => {
                            acknowledged.push(receipt);
                            answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        Err(_) => break,
                    },
                    Ok(response) => panic!("unexpected {}", response.status()),
                    Err(_) => break,
                }
            }
            acknowledged
        }));
    }
    // Killed in mid-stream once the clients have had answers: after a count, not a fixed time,
    // so a slow machine (or PostgreSQL under load) still has enough acknowledged to check.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while answered.load(std::sync::atomic::Ordering::SeqCst) < 200 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (status, _) = served.stop(libc::SIGKILL);
    assert!(!status.success());
    let mut acknowledged = Vec::new();
    for client in clients {
        acknowledged.extend(client.await.unwrap());
    }
    assert!(
        acknowledged.len() > 50,
        "the test submitted enough before the kill: {}",
        acknowledged.len()
    );

    let again = serve(data, "info");
    for receipt in &acknowledged {
        let id = receipt["receipt_id"].as_str().unwrap();
        let fetched = client
            .get(format!("{}/v1/receipts/{id}", again.address))
            .bearer_auth(&sender)
            .send()
            .await
            .unwrap();
        assert_eq!(fetched.status(), 200, "receipt {id} was acknowledged and then lost");
        assert_eq!(filed(&fetched.json::<Value>().await.unwrap()), filed(receipt));
    }
    let case = acknowledged[0]["case_ref"].as_str().unwrap();
    let read = client
        .get(format!("{}/v1/cases/{case}", again.address))
        .bearer_auth(&caseworker)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    again.stop(libc::SIGTERM);
}

/// A delivery claimed when the gateway dies is sent again after the restart, with the same id:
/// at least once, never lost. On SQLite the restart releases the claim at once; on PostgreSQL,
/// where the claim could be another live instance's, it is taken over once it has expired (a
/// short lease here, with timeouts short enough to allow it).
#[tokio::test]
async fn a_delivery_in_flight_when_killed_is_sent_again_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let sender = prison_token(data);
    let receiver = Receiver::start().await;
    // The first request hangs: the gateway has sent it and waits for the answer.
    receiver.script([Reply {
        delay: std::time::Duration::from_secs(30),
        ..Reply::status(200)
    }]);
    let mut settings = receiver.settings();
    let shared = crate::backend::postgres();
    if shared {
        for (key, value) in [
            ("INDGANG__DESTINATIONS__CASE_SYSTEM__TIMEOUT_SECONDS", "2"),
            ("INDGANG__SMTP__TIMEOUT_SECONDS", "2"),
            ("INDGANG__DELIVERY__CLAIM_SECONDS", "12"),
        ] {
            settings.push((key.to_owned(), value.to_owned()));
        }
    }
    let settings = settings;
    let served = serve_with(data, "info", &settings);
    let client = crate::helpers::client();
    let response = client
        .post(format!("{}/v1/release-notices", served.address))
        .bearer_auth(&sender)
        .json(&release_notice("KIF-1", "150385-1234", "751"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    receiver.wait_for(1).await;
    served.stop(libc::SIGKILL);

    let again = serve_with(data, "info", &settings);
    if shared {
        // The lease of 12 s runs out first.
        for _ in 0..40 {
            if receiver.received().len() >= 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
    receiver.wait_for(2).await;
    let received = receiver.received();
    assert_eq!(received[0].id, received[1].id, "the same delivery, sent again");
    assert_eq!(received[1].answered, 200);
    let lines = again.lines.clone();
    let (status, _) = again.stop(libc::SIGTERM);
    assert!(status.success());
    if !shared {
        assert!(
            lines.lock().unwrap().iter().any(|l| l.contains("sent again")),
            "the restart says that claimed deliveries go out again"
        );
    }
}
