//! Who may do what: every cell of the table in docs/operations.md ("Who may do what"), sent to a
//! live gateway. The table must list every operation of the OpenAPI document, so a new endpoint
//! cannot be added without saying who may call it.

use crate::helpers::*;
use crate::receiver::{Receiver, Reply};
use indgang::domain::Kind;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const ROLES: [&str; 6] = [
    "sender",
    "caseworker",
    "other caseworker",
    "operator",
    "auditor",
    "none",
];

struct Row {
    method: String,
    path: String,
    expected: Vec<u16>,
}

/// The table as the docs have it.
fn table() -> Vec<Row> {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md")).unwrap();
    let section = docs
        .split("## Who may do what")
        .nth(1)
        .expect("docs/operations.md has a section \"Who may do what\"");
    let mut lines = section.lines().skip_while(|l| !l.starts_with("| method"));
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(header[2..], ROLES, "the table's columns");
    lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
            Row {
                method: cells[0].to_owned(),
                path: cells[1].trim_matches('`').to_owned(),
                expected: cells[2..].iter().map(|c| c.parse().unwrap()).collect(),
            }
        })
        .collect()
}

/// What a cell needs: a message of its own on a case of Aarhus (751), with its deadlines and a
/// dead letter.
struct Fixture {
    receipt_id: String,
    case_ref: String,
    /// The case of a vacant home in Aarhus, for its candidates.
    home_case: String,
    cpr: String,
    open_deadline: i64,
    met_deadline: i64,
    outcome: Value,
    dead_letter: String,
}

struct World {
    app: TestApp,
    receiver: Receiver,
    tokens: Vec<(&'static str, Option<String>)>,
    senders: Vec<(Kind, String)>,
    operator: String,
    caseworker: String,
    made: usize,
}

impl World {
    fn token(&self, role: &str) -> Option<&str> {
        self.tokens.iter().find(|(r, _)| *r == role).unwrap().1.as_deref()
    }

    fn unique(&mut self, mut body: Value) -> Value {
        self.made += 1;
        body["message_id"] = format!("ROLES-{}", self.made).into();
        body
    }

    async fn fixture(&mut self) -> Fixture {
        self.made += 1;
        let cpr = format!("{:02}0190-{:04}", 1 + self.made % 28, 1000 + self.made);
        let mut notice = release_notice(&format!("ROLES-N{}", self.made), &cpr, "751");
        notice["notice_type"] = "initial".into();
        self.receiver.script([Reply::status(400)]);
        let prison = self.senders[0].1.clone();
        let receipt = self.app.accept(Kind::ReleaseNotice, &prison, &notice).await;
        self.app.drain().await;
        let case_ref = receipt["case_ref"].as_str().unwrap().to_owned();
        let mut home = example(Kind::HousingOffer, "valid/vacant-skaev-bolig");
        home["message_id"] = format!("ROLES-H{}", self.made).into();
        home["offer_id"] = format!("ROLES-TILBUD-{}", self.made).into();
        home["municipality"] = "751".into();
        let housing = self.senders[1].1.clone();
        let home_receipt = self.app.accept(Kind::HousingOffer, &housing, &home).await;
        let home_case = home_receipt["case_ref"].as_str().unwrap().to_owned();
        let case: Value = self
            .app
            .get(&format!("/v1/cases/{case_ref}"), &self.caseworker)
            .await
            .json()
            .await
            .unwrap();
        let open: Vec<&Value> = case["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["state"] == "open" && d["outcomes"].as_array().is_some_and(|o| !o.is_empty()))
            .collect();
        assert!(open.len() >= 2, "two open deadlines with outcomes: {case}");
        let met = open[1]["id"].as_i64().unwrap();
        let resolved = self
            .app
            .client
            .post(format!("{}/v1/deadlines/{met}/resolve", self.app.address))
            .bearer_auth(&self.caseworker)
            .json(&json!({ "outcome": open[1]["outcomes"][0] }))
            .send()
            .await
            .unwrap();
        assert_eq!(resolved.status(), 200);
        let dead: Value = self
            .app
            .get("/v1/dead-letters", &self.operator)
            .await
            .json()
            .await
            .unwrap();
        let dead_letter = dead["dead_letters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["receipt_id"] == receipt["receipt_id"])
            .map(|d| d["delivery_id"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| "dlv_none".to_owned());
        Fixture {
            receipt_id: receipt["receipt_id"].as_str().unwrap().to_owned(),
            case_ref,
            home_case,
            cpr,
            open_deadline: open[0]["id"].as_i64().unwrap(),
            met_deadline: met,
            outcome: open[0]["outcomes"][0].clone(),
            dead_letter,
        }
    }

    /// One cell: the request the row's endpoint takes, sent as `role`.
    async fn send(&mut self, row: &Row, role: &str) -> reqwest::Response {
        let f = self.fixture().await;
        let submission = |kind: Kind| match kind {
            Kind::ReleaseNotice => "/v1/release-notices",
            Kind::HousingOffer => "/v1/housing-offers",
            Kind::JobcenterMessage => "/v1/jobcenter-messages",
        };
        let kind = Kind::ALL.into_iter().find(|k| submission(*k) == row.path);
        let token = match (role, kind) {
            ("sender", Some(kind)) => Some(self.senders.iter().find(|(k, _)| *k == kind).unwrap().1.clone()),
            ("sender", None) if row.path == "/v1/housing-offers/batch" => Some(self.senders[1].1.clone()),
            _ => self.token(role).map(str::to_owned),
        };
        let case_ref = if row.path.ends_with("/candidates") {
            &f.home_case
        } else {
            &f.case_ref
        };
        let path = row
            .path
            .replace("{receipt_id}", &f.receipt_id)
            .replace("{case_ref}", case_ref)
            .replace("{delivery_id}", &f.dead_letter)
            .replace("{report}", "teams")
            .replace("{kind}", "release-notice")
            .replace(
                "{id}",
                &if row.path.ends_with("/reopen") {
                    f.met_deadline
                } else {
                    f.open_deadline
                }
                .to_string(),
            );
        let (content_type, body): (&str, Vec<u8>) = match (row.path.as_str(), kind) {
            (_, Some(Kind::ReleaseNotice)) => {
                let body = self.unique(parole_notice());
                ("application/json", serde_json::to_vec(&body).unwrap())
            }
            (_, Some(Kind::HousingOffer)) => {
                let body = self.unique(example(Kind::HousingOffer, "valid/vacant-skaev-bolig"));
                ("application/json", serde_json::to_vec(&body).unwrap())
            }
            (_, Some(Kind::JobcenterMessage)) => {
                let body = self.unique(example(Kind::JobcenterMessage, "valid/appointment"));
                ("application/json", serde_json::to_vec(&body).unwrap())
            }
            ("/v1/housing-offers/batch", None) => (
                "text/csv",
                std::fs::read(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/adapters/boligtildeling/samples/tilbud-lf-uden-bom.csv"
                ))
                .unwrap(),
            ),
            ("/v1/case-search", None) => ("application/json", json!({ "cpr": f.cpr }).to_string().into_bytes()),
            ("/v1/deadlines/{id}/resolve", None) => (
                "application/json",
                json!({ "outcome": f.outcome }).to_string().into_bytes(),
            ),
            ("/v1/dead-letters/replay", None) => ("application/json", br#"{"all": true}"#.to_vec()),
            _ => ("application/json", b"{}".to_vec()),
        };
        let url = format!("{}{path}", self.app.address);
        let mut request = match row.method.as_str() {
            "GET" => self.app.client.get(url),
            "POST" => self
                .app
                .client
                .post(url)
                .header("content-type", content_type)
                .body(body),
            "PUT" => self.app.client.put(url).header("content-type", content_type).body(body),
            other => panic!("a method the table should not have: {other}"),
        };
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }
}

#[tokio::test]
async fn every_role_gets_what_the_table_in_the_docs_says_from_every_endpoint() {
    let receiver = Receiver::start().await;
    let settings = receiver.settings();
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = spawn_app_with(&env).await;
    let senders = vec![
        (Kind::ReleaseNotice, app.prison_token().await),
        (
            Kind::HousingOffer,
            app.sender_token(example_sender(Kind::HousingOffer), &[Kind::HousingOffer])
                .await,
        ),
        (
            Kind::JobcenterMessage,
            app.sender_token(example_sender(Kind::JobcenterMessage), &[Kind::JobcenterMessage])
                .await,
        ),
    ];
    let caseworker = app.caseworker_token("751").await;
    let operator = app.operator_token().await;
    let tokens = vec![
        ("sender", Some(senders[0].1.clone())),
        ("caseworker", Some(caseworker.clone())),
        ("other caseworker", Some(app.caseworker_token("101").await)),
        ("operator", Some(operator.clone())),
        ("auditor", Some(app.auditor_token().await)),
        ("none", None),
    ];
    let mut world = World {
        app,
        receiver,
        tokens,
        senders,
        operator,
        caseworker,
        made: 0,
    };

    let rows = table();
    let document: Value = world.app.get("/openapi.json", "").await.json().await.unwrap();
    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let listed: BTreeSet<(String, String)> = rows.iter().map(|r| (r.method.clone(), r.path.clone())).collect();
    assert_eq!(
        listed, documented,
        "the table lists every operation of the OpenAPI document"
    );

    let mut wrong = Vec::new();
    for row in &rows {
        for (role, expected) in ROLES.iter().zip(&row.expected) {
            let response = world.send(row, role).await;
            let status = response.status().as_u16();
            if status >= 400 {
                assert_eq!(
                    response.headers()["content-type"],
                    "application/problem+json",
                    "{} {} as {role}",
                    row.method,
                    row.path
                );
            }
            if status != *expected {
                wrong.push(format!(
                    "{} {} as {role}: {status}, the table says {expected}",
                    row.method, row.path
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
