//! SIGTERM keeps the promise of the docs: every request the gateway has taken in is answered,
//! filed (`202`) or refused with `503`, `Retry-After` and `Connection: close`; none is reset or
//! closed without an answer, and every `202` is filed. A connection tried once it has stopped is
//! refused (not made), which a sender sees before it sends anything.

use crate::binary::{prison_token, serve};
use crate::helpers::release_notice;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What came back on one connection: the status and the head, or what went wrong.
async fn exchange(mut stream: TcpStream, request: Vec<u8>) -> Result<(u16, String), String> {
    stream.write_all(&request).await.map_err(|e| format!("writing: {e}"))?;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer)).await;
    match read {
        Err(_) => return Err("no answer within a minute".to_owned()),
        Ok(Err(e)) if answer.is_empty() => return Err(format!("reading: {e}")),
        Ok(_) => {}
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {text:?}"))?;
    Ok((status, head.to_ascii_lowercase()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_a_burst_answers_every_request_taken_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let sender = prison_token(data);
    let served = serve(data, "info");
    let authority = served.address.trim_start_matches("http://").to_owned();

    let requests = |range: std::ops::Range<usize>| {
        let (authority, sender) = (authority.clone(), sender.clone());
        range.map(move |i| {
            let body = serde_json::to_vec(&release_notice(
                &format!("burst-{i}"),
                &format!("{:02}0190{:04}", 1 + i / 100, i),
                "751",
            ))
            .unwrap();
            let mut request = format!(
                "POST /v1/release-notices HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {sender}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            request.extend(body);
            (i, request)
        })
    };
    // 200 connections, each made before the signal, each with one submission on it.
    let mut connections = Vec::new();
    for (_, request) in requests(0..200) {
        connections.push((TcpStream::connect(&authority).await.unwrap(), request));
    }
    let mut exchanges: Vec<_> = connections
        .into_iter()
        .map(|(stream, request)| tokio::spawn(exchange(stream, request)))
        .collect();
    // SIGTERM in the middle of the burst.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let stopped = tokio::task::spawn_blocking(move || served.stop(libc::SIGTERM));
    // And more connections while it stops: each is refused, or answered.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut not_connected = 0;
    for (_, request) in requests(200..250) {
        match TcpStream::connect(&authority).await {
            Ok(stream) => exchanges.push(tokio::spawn(exchange(stream, request))),
            Err(_) => not_connected += 1,
        }
    }

    let mut filed = 0;
    let mut refused = 0;
    let mut lost = Vec::new();
    for exchange in exchanges {
        match exchange.await.unwrap() {
            Ok((202, _)) => filed += 1,
            Ok((503, head)) => {
                assert!(head.contains("\r\nretry-after: "), "{head}");
                assert!(head.contains("\r\nconnection: close"), "{head}");
                refused += 1;
            }
            Ok((status, head)) => panic!("unexpected {status}: {head}"),
            Err(e) => lost.push(e),
        }
    }
    let (status, stderr) = stopped.await.unwrap();
    assert!(status.success(), "{stderr}");
    assert!(
        lost.is_empty(),
        "{} of {} requests got no answer ({filed} filed, {refused} refused, {not_connected} not connected): {:?}",
        lost.len(),
        250 - not_connected,
        &lost[..lost.len().min(5)]
    );
    eprintln!("{filed} filed, {refused} refused, {not_connected} not connected");

    // Every 202 is in the database, and nothing refused is.
    let stored = crate::backend::stored_messages(data);
    assert_eq!(stored, filed, "{filed} filed, {refused} refused");
}
