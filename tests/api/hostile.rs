//! The gateway tried as a hostile partner would: dates at the end of time, a panic inside a
//! request, ids and bodies the framework refuses, numbers beyond 64 bits, repeated members,
//! control characters and answers that would echo megabytes. No input crashes a worker, every
//! error is a problem, nothing is changed in silence.

use crate::helpers::{
    assert_problem_answer, example, parole_notice, problem, raw_exchange, release_notice, spawn_app, spawn_app_with,
    spawn_app_with_clock, unreadable_heads,
};
use indgang::clock::Clock;
use indgang::domain::Kind;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The pointers of a 422's violations.
async fn pointers(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    body["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["pointer"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn dates_at_the_end_of_time_are_422_naming_the_field() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;
    // 16:00 Copenhagen time on 9999-12-31 lies beyond the time library's range: the deadline
    // planning for the release date crashed the worker, and the client got an empty reply.
    let mut notice = release_notice("end-of-time", "0101901234", "751");
    notice["release"]["expected_date"] = "9999-12-31".into();
    let response = app.submit(Kind::ReleaseNotice, &prison, &notice).await;
    let body = problem(response).await;
    assert_eq!(body["status"], 422);
    assert_eq!(body["violations"][0]["pointer"], "/release/expected_date");
    assert_eq!(
        body["violations"][0]["message"],
        "the date lies outside 1900-01-01 to 2199-12-31"
    );

    // Within the schema's range but centuries after the notice: the rules refuse it.
    notice["release"]["expected_date"] = "2199-12-31".into();
    let response = app.submit(Kind::ReleaseNotice, &prison, &notice).await;
    let body = problem(response).await;
    assert_eq!(body["violations"][0]["pointer"], "/release/expected_date");
    assert_eq!(body["violations"][0]["rule"], "date-range");

    let housing = app.sender_token("boligtildeling-kbh", &[Kind::HousingOffer]).await;
    let mut offer = example(Kind::HousingOffer, "valid/offer-named-citizen-dogs-allowed");
    offer["answer_deadline"] = "9999-12-31".into();
    let response = app.submit(Kind::HousingOffer, &housing, &offer).await;
    assert_eq!(pointers(response).await, ["/answer_deadline"]);

    let jobcenter = app.sender_token("jobcenter-aarhus", &[Kind::JobcenterMessage]).await;
    let mut message = example(Kind::JobcenterMessage, "valid/appointment");
    message["sent_at"] = "0001-01-01T00:00:00+23:59".into();
    let response = app.submit(Kind::JobcenterMessage, &jobcenter, &message).await;
    assert!(pointers(response).await.contains(&"/sent_at".to_owned()));
    assert_eq!(app.stored_messages(), 0);
}

#[tokio::test]
async fn a_panic_in_a_request_answers_500_and_the_worker_serves_on() {
    // One worker, and a clock that breaks once, on that worker's thread (the scheduler and the
    // delivery worker read the clock on other threads).
    let armed = Arc::new(AtomicBool::new(false));
    let trigger = armed.clone();
    let app = spawn_app_with_clock(&[("INDGANG__SERVER__WORKERS", "1")], move |manual| {
        Clock::from_fn(move || {
            let on_worker = std::thread::current()
                .name()
                .is_some_and(|name| name.starts_with("actix-server worker"));
            if on_worker && trigger.swap(false, Ordering::SeqCst) {
                panic!("the clock broke");
            }
            manual.now()
        })
    })
    .await;
    let prison = app.prison_token().await;

    armed.store(true, Ordering::SeqCst);
    let response = app.submit(Kind::ReleaseNotice, &prison, &parole_notice()).await;
    assert_eq!(response.status(), 500);
    assert!(response.headers().contains_key("x-request-id"));
    let body = problem(response).await;
    assert_eq!(
        body,
        json!({"type": "urn:indgang:problem:internal", "title": "Internal error", "status": 500})
    );
    assert_eq!(app.stored_messages(), 0);

    // The same worker answers the next requests.
    assert_eq!(
        app.client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let response = app.submit(Kind::ReleaseNotice, &prison, &parole_notice()).await;
    assert_eq!(response.status(), 202);
}

/// Dates and date-times across the whole range the format allows (years 0000 to 9999, any
/// offset) in every date member of the three kinds: every answer is 202 or 422, never a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_takes_any_date_without_crashing() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let app = spawn_app().await;
    let tokens = [
        (Kind::ReleaseNotice, app.prison_token().await, "valid/initial-parole"),
        (
            Kind::HousingOffer,
            app.sender_token("boligtildeling-kbh", &[Kind::HousingOffer]).await,
            "valid/offer-named-citizen-dogs-allowed",
        ),
        (
            Kind::JobcenterMessage,
            app.sender_token("jobcenter-aarhus", &[Kind::JobcenterMessage]).await,
            "valid/appointment",
        ),
    ];
    // (which kind, pointer, date-time?)
    let members: &[(usize, &str, bool)] = &[
        (0, "/sent_at", true),
        (0, "/custody/admitted_on", false),
        (0, "/release/expected_date", false),
        (0, "/release_meeting/date", false),
        (1, "/sent_at", true),
        (1, "/available_from", false),
        (1, "/answer_deadline", false),
        (1, "/viewing/at", true),
        (2, "/sent_at", true),
        (2, "/appointment/at", true),
        (2, "/due_date", false),
    ];
    let year = prop_oneof![0i32..=9999, 1899i32..=2201, 9990i32..=9999, 0i32..=10];
    let anywhere = (year, 1u8..=12, 1u8..=31).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"));
    // The ends of the range, where a deadline falls off the calendar, half the time.
    let edge = prop_oneof![
        Just("9999-12-31".to_owned()),
        Just("0000-01-01".to_owned()),
        (20u8..=31).prop_map(|d| format!("9999-12-{d}")),
    ];
    let date = prop_oneof![anywhere, edge];
    let offset = (any::<bool>(), 0u8..=23, 0u8..=59)
        .prop_map(|(east, h, m)| format!("{}{h:02}:{m:02}", if east { '+' } else { '-' }));
    let strategy = (0..members.len(), date, 0u8..=23, offset, 0u32..1000);

    let runtime = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    let sent = std::sync::atomic::AtomicU32::new(0);
    tokio::task::block_in_place(|| {
        runner
            .run(&strategy, |(which, day, hour, offset, salt)| {
                let (k, pointer, is_date_time) = members[which];
                let (kind, token, name) = &tokens[k];
                let mut message = example(*kind, name);
                let n = sent.fetch_add(1, Ordering::SeqCst);
                message["message_id"] = format!("prop-{n}-{salt}").into();
                let value = if is_date_time {
                    format!("{day}T{hour:02}:00:00{offset}")
                } else {
                    day.clone()
                };
                let mut slot = &mut message;
                for step in pointer.split('/').skip(1) {
                    slot = &mut slot[step];
                }
                *slot = value.clone().into();
                let status = runtime.block_on(async {
                    let response = app.submit(*kind, token, &message).await;
                    let status = response.status().as_u16();
                    if status == 422 {
                        problem(response).await;
                    }
                    status
                });
                prop_assert!(
                    status == 202 || status == 422,
                    "{kind} with {pointer} = {value}: answered {status}"
                );
                Ok(())
            })
            .unwrap();
    });
}

#[tokio::test]
async fn framework_errors_are_problems_too() {
    let app = spawn_app_with(&[("INDGANG__LIMITS__MAX_BODY_BYTES", "400000")]).await;
    let caseworker = app.caseworker_token("751").await;
    let operator = app.operator_token().await;
    let post = |path: String, token: &str, body: Vec<u8>| {
        app.client
            .post(format!("{}{path}", app.address))
            .bearer_auth(token)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };

    // A deadline id that is not a 64-bit integer names no deadline.
    for id in ["abc", "9223372036854775808", "1.5", "-"] {
        for action in ["reopen", "resolve"] {
            let response = post(format!("/v1/deadlines/{id}/{action}"), &caseworker, b"{}".to_vec())
                .await
                .unwrap();
            assert_eq!(response.status(), 404, "{id} {action}");
            assert_eq!(problem(response).await["type"], "urn:indgang:problem:not-found");
        }
    }

    // Bodies are limited by limits.max_body_bytes (here 400 000), not by the framework's 256 KiB.
    let big = vec![b' '; 300 * 1024];
    let response = post("/v1/deadlines/1/resolve".into(), &caseworker, big.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(problem(response).await["detail"], "no such deadline");
    let response = post("/v1/dead-letters/replay".into(), &operator, big).await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(problem(response).await["type"], "urn:indgang:problem:bad-request");

    let too_big = vec![b' '; 400_001];
    for (path, token) in [
        ("/v1/deadlines/1/resolve", &caseworker),
        ("/v1/dead-letters/replay", &operator),
    ] {
        let response = post(path.into(), token, too_big.clone()).await.unwrap();
        assert_eq!(response.status(), 413, "{path}");
        let body = problem(response).await;
        assert_eq!(body["type"], "urn:indgang:problem:payload-too-large");
        assert_eq!(body["detail"], "the limit is 400000 bytes");
    }
}

#[tokio::test]
async fn a_head_the_parser_cannot_read_is_answered_with_a_problem_and_the_server_serves_on() {
    let app = spawn_app().await;
    let address = app.address.trim_start_matches("http://").to_owned();
    for (what, request, status, problem_type) in unreadable_heads() {
        let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let answer = raw_exchange(stream, &request).await;
        assert_problem_answer(what, &answer, status, problem_type);
        if what == "a 100 KB URL" {
            let body: Value = serde_json::from_slice(&answer.body).unwrap();
            // As docs/errors.md shows it.
            assert_eq!(
                body["detail"],
                "the request line has 100025 bytes; a URL may have at most 65534"
            );
        }

        let healthy = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
        assert_eq!(healthy.status(), 200, "after {what}");
    }
    // A well-formed request on a raw connection is answered as ever.
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let answer = raw_exchange(
        stream,
        b"GET /healthz HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn a_connection_that_sends_no_whole_head_in_5_seconds_gets_a_problem() {
    let app = spawn_app().await;
    let stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let answer = raw_exchange(stream, b"GET /healthz HTTP/1.1\r\nhost: gate").await;
    assert_problem_answer("half a head", &answer, 408, "urn:indgang:problem:request-timeout");
}

#[tokio::test]
async fn every_route_answers_every_method_with_a_problem_or_success() {
    let app = spawn_app().await;
    let caseworker = app.caseworker_token("751").await;
    let document: Value = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    for (path, item) in document["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{id}", "x")
            .replace("{kind}", "release-notice")
            .replace("{receipt_id}", "x")
            .replace("{case_ref}", "x")
            .replace("{report}", "x")
            .replace("{delivery_id}", "x");
        let documented: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .filter(|m| methods.contains(&m.as_str()))
            .collect();
        for method in methods {
            for token in [None, Some(caseworker.as_str())] {
                let mut request = app.client.request(
                    http::Method::from_bytes(method.as_bytes()).unwrap(),
                    format!("{}{concrete}", app.address),
                );
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let allowed = documented.contains(&method.to_owned())
                    || (method == "HEAD" && documented.contains(&"GET".to_owned()));
                if allowed {
                    assert_ne!(status, 405, "{method} {path}");
                } else {
                    assert_eq!(status, 405, "{method} {path}");
                    let allow = response.headers()["allow"].to_str().unwrap().to_owned();
                    let mut expected = documented.clone();
                    if expected.contains(&"GET".to_owned()) && !expected.contains(&"HEAD".to_owned()) {
                        expected.push("HEAD".to_owned());
                    }
                    assert_eq!(allow, expected.join(", "), "{method} {path}");
                }
                if status >= 400 {
                    let content_type = response.headers()["content-type"].to_str().unwrap();
                    assert_eq!(content_type, "application/problem+json", "{method} {path}: {status}");
                    if method != "HEAD" {
                        let body: Value = response.json().await.unwrap();
                        assert!(body["type"].as_str().unwrap().starts_with("urn:indgang:problem:"));
                        assert_eq!(body["status"], status);
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn head_works_wherever_get_does() {
    let app = spawn_app().await;
    let caseworker = app.caseworker_token("751").await;
    for (path, token) in [
        ("/healthz", None),
        ("/readyz", None),
        ("/openapi.json", None),
        ("/v1/schemas/release-notice", None),
        ("/v1/cases", Some(&caseworker)),
        ("/v1/deadlines", Some(&caseworker)),
    ] {
        let mut head = app.client.head(format!("{}{path}", app.address));
        let mut get = app.client.get(format!("{}{path}", app.address));
        if let Some(token) = token {
            head = head.bearer_auth(token);
            get = get.bearer_auth(token);
        }
        let head = head.send().await.unwrap();
        let get = get.send().await.unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert_eq!(head.headers()["content-type"], get.headers()["content-type"], "{path}");
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
}

#[tokio::test]
async fn numbers_beyond_what_can_be_kept_exactly_are_refused() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;
    let notice = serde_json::to_string(&parole_notice()).unwrap();
    assert!(notice.contains(r#""sentence_length_days":730"#));
    // Stored as floating point before, and given back as 1.2345678901234568e+29.
    for number in [
        "123456789012345678901234567890",
        "9223372036854775808",
        "36526",
        "1e300",
    ] {
        let body = notice.replacen(
            r#""sentence_length_days":730"#,
            &format!(r#""sentence_length_days":{number}"#),
            1,
        );
        let body = body.replacen("KIF-HOR-2026-004812", &format!("big-{}", number.len()), 1);
        let response = app
            .submit_raw(Kind::ReleaseNotice, &prison, "application/json", body.into_bytes())
            .await;
        assert_eq!(response.status(), 422, "{number}");
        let body = problem(response).await;
        assert_eq!(
            body["violations"][0]["pointer"], "/custody/sentence_length_days",
            "{number}"
        );
        assert_eq!(body["violations"][0]["rule"], "maximum", "{number}");
    }

    let housing = app.sender_token("boligtildeling-kbh", &[Kind::HousingOffer]).await;
    let mut offer = example(Kind::HousingOffer, "valid/offer-named-citizen-dogs-allowed");
    offer["dwelling"]["monthly_rent_dkk"] = json!(1.2345678901234568e29);
    let response = app.submit(Kind::HousingOffer, &housing, &offer).await;
    assert_eq!(pointers(response).await, ["/dwelling/monthly_rent_dkk"]);
    assert_eq!(app.stored_messages(), 0);
}

#[tokio::test]
async fn a_member_sent_twice_is_400_naming_it() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;
    let notice = serde_json::to_string(&parole_notice()).unwrap();
    let twice = notice.replacen(
        r#""municipality":"751""#,
        r#""municipality":"751","municipality":"101""#,
        1,
    );
    assert_ne!(twice, notice);
    let response = app
        .submit_raw(Kind::ReleaseNotice, &prison, "application/json", twice.into_bytes())
        .await;
    assert_eq!(response.status(), 400);
    let body = problem(response).await;
    assert_eq!(body["type"], "urn:indgang:problem:malformed-json");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(r#"the member "municipality" appears twice in the top object"#),
        "{detail}"
    );
    assert!(detail.contains("line 1 column"), "{detail}");

    let nested = notice.replacen(r#""name":"#, r#""name":"X","name":"#, 1);
    let response = app
        .submit_raw(Kind::ReleaseNotice, &prison, "application/json", nested.into_bytes())
        .await;
    assert_eq!(response.status(), 400);
    assert!(
        problem(response).await["detail"]
            .as_str()
            .unwrap()
            .contains("appears twice in the object at /")
    );
    assert_eq!(app.stored_messages(), 0);
}

#[tokio::test]
async fn control_characters_in_text_are_refused() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;
    for (i, bad) in ["Jonas\u{0}Mikkelsen", "Jonas\u{1b}[31m", "Jonas\u{7f}", "Jonas\u{85}"]
        .iter()
        .enumerate()
    {
        let mut notice = release_notice(&format!("ctl-{i}"), "0101901234", "751");
        notice["citizen"]["name"] = (*bad).into();
        let response = app.submit(Kind::ReleaseNotice, &prison, &notice).await;
        assert_eq!(response.status(), 422, "{bad:?}");
        let body = problem(response).await;
        assert_eq!(body["violations"][0]["pointer"], "/citizen/name");
        assert_eq!(body["violations"][0]["rule"], "control-character");
    }
    // Tab, line feed and carriage return are text.
    let mut notice = release_notice("ctl-ok", "0101901234", "751");
    notice["notes"] = "line one\r\nline two\tand a tab".into();
    app.accept(Kind::ReleaseNotice, &prison, &notice).await;
}

#[tokio::test]
async fn answers_stay_small() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;

    // 50 000 unknown members in a body under 1 MB.
    let mut notice = parole_notice();
    for i in 0..50_000 {
        notice[format!("m{i}")] = json!(0);
    }
    let body = serde_json::to_vec(&notice).unwrap();
    assert!(body.len() < 1_000_000);
    let response = app
        .submit_raw(Kind::ReleaseNotice, &prison, "application/json", body)
        .await;
    assert_eq!(response.status(), 422);
    let text = response.text().await.unwrap();
    assert!(text.len() < 20_000, "{} bytes", text.len());
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["violations"].as_array().unwrap().len(), 100);
    assert_eq!(
        answer["detail"],
        "50000 faults; the first 100 are listed, 49900 more are not"
    );

    // A long member name is cut, and says so.
    let mut notice = parole_notice();
    notice["x".repeat(100_000)] = json!("\u{0}");
    let response = app.submit(Kind::ReleaseNotice, &prison, &notice).await;
    assert_eq!(response.status(), 422);
    let text = response.text().await.unwrap();
    assert!(text.len() < 1_000, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["violations"].as_array().unwrap().len(), 1);
    assert!(
        answer["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("(cut, 100000 characters in all)")
    );

    // A long query value is not echoed in full.
    let caseworker = app.caseworker_token("751").await;
    let response = app
        .get(&format!("/v1/cases?kind={}", "k".repeat(20_000)), &caseworker)
        .await;
    assert_eq!(response.status(), 400);
    let detail = problem(response).await["detail"].as_str().unwrap().to_owned();
    assert!(detail.len() < 300, "{detail}");
    assert!(detail.contains("(cut, 20000 characters in all)"), "{detail}");
}
