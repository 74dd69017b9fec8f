//! The served OpenAPI document: a real OpenAPI validator (openapi-spec-validator, which
//! tools/test.sh installs) accepts it, every reference in it resolves inside it, and every
//! operation it lists answers real requests as it says: a documented status, a media type
//! documented for that status, and a body of the documented schema (checked with the
//! `jsonschema` crate against the bundled document itself).
//!
//! The walk goes over the document, not over a list of its own: an operation (or a request media
//! type) added to the document without a case here fails the test.

use crate::helpers::{TestApp, example, example_sender, parole_notice, spawn_app_with};
use crate::receiver::{Receiver, Reply};
use indgang::domain::Kind;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where tools/test.sh puts the path of `openapi-spec-validator`.
const VALIDATOR: &str = "INDGANG_OPENAPI_VALIDATOR";

async fn served_document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_real_openapi_validator_accepts_the_served_document() {
    let validator = std::env::var_os(VALIDATOR).unwrap_or_else(|| {
        panic!("{VALIDATOR} is not set: run tools/test.sh, which installs openapi-spec-validator and sets it")
    });
    let app = spawn_app_with(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&served_document(&app).await).unwrap()).unwrap();

    let run = std::process::Command::new(&validator)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{} cannot run ({e}): run tools/test.sh", validator.display()));

    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.status.success(),
        "openapi-spec-validator refuses the document:\n{said}"
    );
    assert!(said.contains("OK"), "openapi-spec-validator said: {said}");
}

/// Every `$ref` in `value`, with the pointer to where it stands.
fn references(value: &Value, at: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                match (key.as_str(), member) {
                    ("$ref", Value::String(reference)) => found.push((here, reference.clone())),
                    _ => references(member, &here, found),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                references(item, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_reference_in_the_document_points_into_it_and_every_error_is_a_problem() {
    let app = spawn_app_with(&[]).await;
    let doc = served_document(&app).await;

    let mut found = Vec::new();
    references(&doc, "", &mut found);
    assert!(found.len() > 50, "the document has its references: {}", found.len());
    for (at, reference) in &found {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: {reference} points outside the document"));
        assert!(doc.pointer(pointer).is_some(), "{at}: {reference} points to nothing");
    }
    let text = doc.to_string();
    for keyword in ["\"$id\"", "\"$schema\"", "\"$defs\""] {
        assert!(!text.contains(keyword), "{keyword} is left in the document");
    }
    // The message schemas' definitions are components of their own, named after their schema.
    assert_eq!(
        doc["components"]["schemas"]["ReleaseNoticeV1"]["properties"]["sent_at"]["$ref"],
        "#/components/schemas/ReleaseNoticeV1_date_time"
    );
    assert!(doc["components"]["schemas"]["JobcenterMessageV1_date"].is_object());

    for (template, method, operation) in operations(&doc) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            if status.as_str() >= "400" {
                assert_eq!(
                    response["content"],
                    json!({ "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }),
                    "{method} {template} {status} is a problem"
                );
            }
        }
        if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
            assert!(
                operation["responses"]["401"].is_object(),
                "{method} {template} documents 401"
            );
        }
    }
}

/// Every (path template, method, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if ["get", "head", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                all.push((template.clone(), method.clone(), operation.clone()));
            }
        }
    }
    all
}

/// One request of the walk and the status it must get.
#[derive(Clone)]
struct Call {
    what: &'static str,
    path: String,
    token: Option<String>,
    content_type: Option<&'static str>,
    accept: Option<&'static str>,
    body: Option<Vec<u8>>,
    expect: u16,
}

impl Call {
    fn new(what: &'static str, path: impl Into<String>, token: Option<&str>, expect: u16) -> Call {
        Call {
            what,
            path: path.into(),
            token: token.map(str::to_owned),
            content_type: None,
            accept: None,
            body: None,
            expect,
        }
    }

    fn body(mut self, content_type: &'static str, body: Vec<u8>) -> Call {
        self.content_type = Some(content_type);
        self.body = Some(body);
        self
    }

    fn json(self, body: &Value) -> Call {
        self.body("application/json", serde_json::to_vec(body).unwrap())
    }

    fn accept(mut self, accept: &'static str) -> Call {
        self.accept = Some(accept);
        self
    }
}

fn read(path: &str) -> Vec<u8> {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A gateway whose webhook destination is a real receiver, with a token of each kind and a
/// release notice filed on a case of Aarhus (751), its deliveries sent, one of them a dead letter.
struct World {
    app: TestApp,
    receiver: Receiver,
    prison: String,
    housing: String,
    jobcenter: String,
    caseworker: String,
    operator: String,
    auditor: String,
    receipt_id: String,
    case_ref: String,
    numbered: usize,
}

impl World {
    async fn new() -> World {
        let receiver = Receiver::start().await;
        let settings = receiver.settings();
        let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let app = spawn_app_with(&env).await;
        let mut world = World {
            prison: app.prison_token().await,
            housing: app
                .sender_token(example_sender(Kind::HousingOffer), &[Kind::HousingOffer])
                .await,
            jobcenter: app
                .sender_token(example_sender(Kind::JobcenterMessage), &[Kind::JobcenterMessage])
                .await,
            caseworker: app.caseworker_token("751").await,
            operator: app.operator_token().await,
            auditor: app.auditor_token().await,
            receipt_id: String::new(),
            case_ref: String::new(),
            numbered: 0,
            app,
            receiver,
        };
        let receipt = world.dead_letter().await;
        world.receipt_id = receipt["receipt_id"].as_str().unwrap().to_owned();
        world.case_ref = receipt["case_ref"].as_str().unwrap().to_owned();
        world
    }

    /// The parole notice with a message id of its own.
    fn notice(&mut self) -> Value {
        self.numbered += 1;
        let mut notice = parole_notice();
        notice["message_id"] = format!("KIF-OPENAPI-{}", self.numbered).into();
        notice
    }

    /// Files a notice and has the receiver refuse the next webhook delivery for good (this
    /// notice's, or one sent before it that was still due): a dead letter. The refusal is
    /// scripted first, since the running worker may send the notice before `drain`.
    async fn dead_letter(&mut self) -> Value {
        let notice = self.notice();
        self.receiver.script([Reply::status(400)]);
        let receipt = self.app.accept(Kind::ReleaseNotice, &self.prison, &notice).await;
        self.app.drain().await;
        receipt
    }

    /// The open deadlines of the case.
    async fn open_deadlines(&self) -> Vec<Value> {
        let list: Value = self
            .app
            .get("/v1/deadlines?state=open", &self.caseworker)
            .await
            .json()
            .await
            .unwrap();
        list["deadlines"].as_array().unwrap().clone()
    }

    async fn resolve(&self, deadline: &Value) -> u16 {
        let outcome = &deadline["outcomes"][0];
        self.app
            .client
            .post(format!("{}/v1/deadlines/{}/resolve", self.app.address, deadline["id"]))
            .bearer_auth(&self.caseworker)
            .json(&json!({ "outcome": outcome }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The calls that exercise one GET or POST operation; `None` for an operation without a case.
    async fn calls(&mut self, method: &str, template: &str) -> Option<Vec<Call>> {
        let (caseworker_token, operator_token) = (self.caseworker.clone(), self.operator.clone());
        let (caseworker, operator) = (Some(caseworker_token.as_str()), Some(operator_token.as_str()));
        let calls = match (method, template) {
            ("post", "/v1/release-notices") => {
                let prison_token = self.prison.clone();
                let prison = Some(prison_token.as_str());
                let xml = read("adapters/kriminalforsorgen/samples/valid/initial-parole.xml");
                vec![
                    Call::new("JSON", template, prison, 202).json(&self.notice()),
                    Call::new("XML, XML receipt", template, prison, 202)
                        .body("application/xml", xml.clone())
                        .accept("application/xml"),
                    Call::new("the same XML again", template, prison, 200).body("text/xml", xml),
                    Call::new("an invalid notice", template, prison, 422)
                        .json(&example(Kind::ReleaseNotice, "invalid/missing-consent")),
                    Call::new("CSV", template, prison, 415).body("text/csv", b"a;b\n1;2\n".to_vec()),
                ]
            }
            ("post", "/v1/housing-offers") => {
                let housing = Some(self.housing.as_str());
                let offer = |name| example(Kind::HousingOffer, name);
                vec![
                    Call::new("JSON", template, housing, 202).json(&offer("valid/offer-named-citizen-dogs-allowed")),
                    Call::new("JSON, XML receipt", template, housing, 202)
                        .json(&offer("valid/vacant-skaev-bolig"))
                        .accept("application/xml"),
                    Call::new("an invalid offer", template, housing, 422).json(&offer("invalid/zero-area")),
                    Call::new("XML", template, housing, 415).body("application/xml", b"<offer/>".to_vec()),
                    Call::new("text/xml", template, housing, 415).body("text/xml", b"<offer/>".to_vec()),
                    Call::new("CSV", template, housing, 415).body("text/csv", b"a;b\n1;2\n".to_vec()),
                ]
            }
            ("post", "/v1/jobcenter-messages") => {
                let jobcenter = Some(self.jobcenter.as_str());
                let envelope = |name: &str| read(&format!("adapters/jobcenter/samples/valid/{name}.xml"));
                vec![
                    Call::new("JSON", template, jobcenter, 202)
                        .json(&example(Kind::JobcenterMessage, "valid/appointment")),
                    Call::new("an envelope, XML receipt", template, jobcenter, 202)
                        .body("application/xml", envelope("appointment-default-namespace"))
                        .accept("application/xml"),
                    Call::new("an envelope as text/xml", template, jobcenter, 202)
                        .body("text/xml", envelope("benefit-application-received")),
                    Call::new("an invalid message", template, jobcenter, 422)
                        .json(&example(Kind::JobcenterMessage, "invalid/missing-citizen")),
                    Call::new("CSV", template, jobcenter, 415).body("text/csv", b"a;b\n1;2\n".to_vec()),
                ]
            }
            ("post", "/v1/housing-offers/batch") => {
                let housing = Some(self.housing.as_str());
                vec![
                    Call::new("CSV", template, housing, 200).body(
                        "text/csv",
                        read("adapters/boligtildeling/samples/tilbud-lf-uden-bom.csv"),
                    ),
                    Call::new("a file without its header", template, housing, 422).body(
                        "text/csv",
                        read("adapters/boligtildeling/samples/file-faults/mangler-kolonne.csv"),
                    ),
                    Call::new("JSON", template, housing, 415).json(&json!({})),
                ]
            }
            ("get", "/v1/receipts/{receipt_id}") => vec![
                Call::new(
                    "the sender",
                    format!("/v1/receipts/{}", self.receipt_id),
                    Some(&self.prison),
                    200,
                ),
                Call::new(
                    "a caseworker",
                    format!("/v1/receipts/{}", self.receipt_id),
                    caseworker,
                    200,
                ),
            ],
            ("post", "/v1/receipts/{receipt_id}/acknowledge") => vec![Call::new(
                "a caseworker",
                format!("/v1/receipts/{}/acknowledge", self.receipt_id),
                caseworker,
                200,
            )],
            ("get", "/v1/cases") => vec![
                Call::new("a caseworker", "/v1/cases", caseworker, 200),
                Call::new(
                    "a filter",
                    "/v1/cases?kind=release-notice&since=2026-01-01",
                    caseworker,
                    200,
                ),
                Call::new("an operator", "/v1/cases", operator, 403),
            ],
            ("get", "/v1/cases/{case_ref}") => {
                vec![Call::new(
                    "a caseworker",
                    format!("/v1/cases/{}", self.case_ref),
                    caseworker,
                    200,
                )]
            }
            ("put", "/v1/cases/{case_ref}/housing-needs") => {
                let path = format!("/v1/cases/{}/housing-needs", self.case_ref);
                vec![
                    Call::new("a caseworker", &path, caseworker, 200).json(&json!({
                        "dog": true, "min_rooms": 2, "max_rent_dkk": 5200,
                        "preferred_postcodes": ["8000"], "note": "Ønsker at bo tæt på behandlingsstedet"
                    })),
                    Call::new("nothing but the defaults", &path, caseworker, 200).json(&json!({})),
                    Call::new("a postcode of five digits", &path, caseworker, 400)
                        .json(&json!({ "preferred_postcodes": ["80000"] })),
                    Call::new("an operator", &path, operator, 403).json(&json!({})),
                ]
            }
            ("get", "/v1/cases/{case_ref}/housing-needs") => vec![Call::new(
                "a caseworker",
                format!("/v1/cases/{}/housing-needs", self.case_ref),
                caseworker,
                200,
            )],
            ("get", "/v1/cases/{case_ref}/candidates") => {
                let mut home = example(Kind::HousingOffer, "valid/vacant-skaev-bolig");
                home["municipality"] = "751".into();
                home["message_id"] = "OPENAPI-VACANT-751".into();
                home["offer_id"] = "OPENAPI-TILBUD-751".into();
                // Called for GET and again for HEAD: the second time the offer is a repeat (200).
                let response = self.app.submit(Kind::HousingOffer, &self.housing, &home).await;
                assert!(response.status().is_success());
                let receipt: Value = response.json().await.unwrap();
                let home_case = receipt["case_ref"].as_str().unwrap().to_owned();
                vec![
                    Call::new(
                        "a vacant home",
                        format!("/v1/cases/{home_case}/candidates"),
                        caseworker,
                        200,
                    ),
                    Call::new(
                        "a citizen's case",
                        format!("/v1/cases/{}/candidates", self.case_ref),
                        caseworker,
                        409,
                    ),
                ]
            }
            ("post", "/v1/cases/{case_ref}/housing-answer") => {
                let mut home = example(Kind::HousingOffer, "valid/vacant-skaev-bolig");
                home["municipality"] = "751".into();
                home["message_id"] = "OPENAPI-VACANT-751-ANSWER".into();
                home["offer_id"] = "OPENAPI-TILBUD-751-ANSWER".into();
                let receipt = self.app.accept(Kind::HousingOffer, &self.housing, &home).await;
                let path = format!("/v1/cases/{}/housing-answer", receipt["case_ref"].as_str().unwrap());
                vec![
                    Call::new("a reason from the list", &path, caseworker, 200)
                        .json(&json!({ "reason": "no_candidate_fits" })),
                    Call::new("another answer after it", &path, caseworker, 409).json(&json!({ "reason": "other" })),
                    Call::new("a reason not on the list", &path, caseworker, 400)
                        .json(&json!({ "reason": "too expensive" })),
                    Call::new(
                        "a citizen's case",
                        format!("/v1/cases/{}/housing-answer", self.case_ref),
                        caseworker,
                        409,
                    )
                    .json(&json!({ "reason": "other" })),
                ]
            }
            ("get", "/v1/deadlines") => vec![
                Call::new("a caseworker", "/v1/deadlines", caseworker, 200),
                Call::new(
                    "open ones",
                    "/v1/deadlines?state=open&due_before=2027-12-31",
                    caseworker,
                    200,
                ),
                Call::new("an unknown state", "/v1/deadlines?state=late", caseworker, 400),
            ],
            ("post", "/v1/deadlines/{id}/resolve") => {
                let deadline = self.open_deadlines().await.remove(0);
                let path = format!("/v1/deadlines/{}/resolve", deadline["id"]);
                vec![
                    Call::new("an outcome it has", &path, caseworker, 200)
                        .json(&json!({ "outcome": deadline["outcomes"][0] })),
                    Call::new("again", &path, caseworker, 409).json(&json!({ "outcome": deadline["outcomes"][0] })),
                    Call::new("an outcome it has not", &path, caseworker, 400).json(&json!({ "outcome": "nope" })),
                ]
            }
            ("post", "/v1/deadlines/{id}/reopen") => {
                let mut open = self.open_deadlines().await;
                let (deadline, other) = (open.remove(0), open.remove(0));
                assert_eq!(self.resolve(&deadline).await, 200);
                assert_eq!(self.resolve(&other).await, 200);
                let path = format!("/v1/deadlines/{}/reopen", deadline["id"]);
                let with_reason = format!("/v1/deadlines/{}/reopen", other["id"]);
                vec![
                    Call::new("a met deadline", &path, caseworker, 200),
                    Call::new("a met deadline, with a reason", &with_reason, caseworker, 200)
                        .json(&json!({ "reason": "not_done" })),
                    Call::new("an open one", &path, caseworker, 409),
                    Call::new("an unknown reason", &path, caseworker, 400).json(&json!({ "reason": "because" })),
                    Call::new("an open one, with a reason", &path, caseworker, 409)
                        .json(&json!({ "reason": "resolved_by_mistake" })),
                ]
            }
            ("get", "/v1/reports/{report}") => vec![
                Call::new("JSON", "/v1/reports/institutions", caseworker, 200),
                Call::new(
                    "CSV by format",
                    "/v1/reports/municipalities?format=csv",
                    caseworker,
                    200,
                ),
                Call::new("CSV by Accept", "/v1/reports/teams", operator, 200).accept("text/csv"),
                Call::new(
                    "an operator's",
                    "/v1/reports/teams?municipality=751&from=2026-01-01",
                    operator,
                    200,
                ),
                Call::new(
                    "an empty period",
                    "/v1/reports/teams?from=2026-02-01&to=2026-01-01",
                    operator,
                    400,
                ),
                Call::new("not a date", "/v1/reports/teams?from=yesterday", operator, 400),
                Call::new("a sender's", "/v1/reports/teams", Some(&self.prison), 403),
            ],
            ("get", "/v1/dead-letters") => vec![
                Call::new("an operator", "/v1/dead-letters", operator, 200),
                Call::new(
                    "a filter",
                    "/v1/dead-letters?destination=case_system&since=2026-01-01&until=2026-12-01T10:00:00Z",
                    operator,
                    200,
                ),
                Call::new("a caseworker", "/v1/dead-letters", caseworker, 403),
            ],
            ("post", "/v1/dead-letters/replay") => vec![
                Call::new("all", template, operator, 202).json(&json!({ "all": true })),
                Call::new("nothing named", template, operator, 400).json(&json!({})),
            ],
            ("post", "/v1/dead-letters/{delivery_id}/replay") => {
                self.dead_letter().await;
                let list: Value = self
                    .app
                    .get("/v1/dead-letters", &self.operator)
                    .await
                    .json()
                    .await
                    .unwrap();
                let id = list["dead_letters"][0]["delivery_id"]
                    .as_str()
                    .expect("a dead letter")
                    .to_owned();
                vec![Call::new(
                    "a dead letter",
                    format!("/v1/dead-letters/{id}/replay"),
                    operator,
                    202,
                )]
            }
            ("get", "/v1/status") => vec![Call::new("an operator", template, operator, 200)],
            ("post", "/v1/destinations/{destination}/pause") => vec![
                Call::new("a webhook", "/v1/destinations/mail:intake/pause", operator, 200),
                Call::new("unknown", "/v1/destinations/nowhere/pause", operator, 404),
                Call::new("a caseworker", "/v1/destinations/mail:intake/pause", caseworker, 403),
            ],
            ("post", "/v1/destinations/{destination}/resume") => vec![
                Call::new("a webhook", "/v1/destinations/mail:intake/resume", operator, 200),
                Call::new("unknown", "/v1/destinations/nowhere/resume", operator, 404),
            ],
            ("post", "/v1/case-search") => vec![
                Call::new("a citizen with a case", template, caseworker, 200)
                    .json(&json!({ "cpr": parole_notice()["citizen"]["cpr"] })),
                Call::new("a citizen without", template, caseworker, 200).json(&json!({ "cpr": "010190-2345" })),
                Call::new("not a CPR number", template, caseworker, 400).json(&json!({ "cpr": "311399-1234" })),
                Call::new("an operator", template, operator, 403).json(&json!({ "cpr": "010190-2345" })),
            ],
            ("get", "/v1/audit") => {
                let auditor = Some(self.auditor.as_str());
                vec![
                    Call::new("an auditor", template, auditor, 200),
                    Call::new(
                        "a filter",
                        format!(
                            "/v1/audit?case={}&action=case.read&from=2026-01-01&to=2030-01-01T00:00:00Z&after=0",
                            self.case_ref
                        ),
                        auditor,
                        200,
                    ),
                    Call::new("a caseworker", template, caseworker, 403),
                ]
            }
            ("get", "/v1/schemas/{kind}") => vec![
                Call::new("a kind", "/v1/schemas/release-notice", None, 200),
                Call::new("a file name", "/v1/schemas/housing-offer.v1.json", None, 200),
            ],
            ("get", "/healthz" | "/readyz" | "/metrics" | "/openapi.json") => {
                vec![Call::new("anyone", template, None, 200)]
            }
            _ => return None,
        };
        Some(calls)
    }
}

/// The calls every operation gets besides its own, from what the document says of it: without
/// a token (401) where one is needed, every path parameter naming nothing (404) where a `404`
/// is documented, and each bounded integer query parameter just out of its bounds (400) and at
/// its bound.
fn derived_calls(operation: &Value, template: &str, first: &Call) -> Vec<Call> {
    let mut calls = Vec::new();
    if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
        calls.push(Call {
            what: "no token",
            token: None,
            expect: 401,
            ..first.clone()
        });
    }
    if template.contains('{') && operation["responses"]["404"].is_object() {
        let mut path = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let close = rest.find('}').unwrap();
            path.push_str(&rest[..open]);
            path.push('0');
            rest = &rest[close + 1..];
        }
        path.push_str(rest);
        calls.push(Call {
            what: "nothing by that name",
            path,
            expect: 404,
            ..first.clone()
        });
    }
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        let schema = &parameter["schema"];
        if parameter["in"] != "query" || schema["type"] != "integer" {
            continue;
        }
        let name = parameter["name"].as_str().unwrap();
        let join = if first.path.contains('?') { '&' } else { '?' };
        let (minimum, maximum) = (schema["minimum"].as_i64(), schema["maximum"].as_i64());
        if name == "limit" {
            assert!(
                minimum.is_some() && maximum.is_some(),
                "{template}: the query parameter limit has no bounds"
            );
        }
        // Each documented bound is where the answers change; an integer that may be anything
        // (a page's `after` id) has none to try.
        let mut tries = Vec::new();
        if let Some(minimum) = minimum {
            tries.extend([(minimum - 1, 400), (minimum, first.expect)]);
        }
        if let Some(maximum) = maximum {
            tries.extend([(maximum, first.expect), (maximum + 1, 400)]);
        }
        for (value, expect) in tries {
            calls.push(Call {
                what: "a bound of an integer parameter",
                path: format!("{}{join}{name}={value}", first.path),
                expect,
                ..first.clone()
            });
        }
    }
    calls
}

/// Validates `instance` against `schema`, a schema of the document whose references point into
/// the document: the faults, none if it is valid.
fn faults(doc: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    faults_with(doc, schema, instance, false)
}

/// As `faults`, and with `formats` the formats (`date`, `date-time` …) are checked too.
fn faults_with(doc: &Value, schema: &Value, instance: &Value, formats: bool) -> Vec<String> {
    let root = json!({
        "$defs": { "answer": schema },
        "components": doc["components"],
        "$ref": "#/$defs/answer",
    });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(formats)
        .build(&root)
        .unwrap_or_else(|e| panic!("the schema {schema} does not compile: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path().as_str()))
        .collect()
}

/// Sends a call with `method` and checks the answer against the document; returns the media
/// type of the answer.
async fn send_and_check(app: &TestApp, doc: &Value, template: &str, method: &str, call: &Call) -> String {
    let name = format!("{} {} ({})", method.to_uppercase(), call.path, call.what);
    let operation = &doc["paths"][template][method];

    // What is sent is what the document describes: its query parameters (those of a call meant to
    // be refused may be out of bounds) and its body.
    if let Some((_, query)) = call.path.split_once('?') {
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let parameter = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["in"] == "query" && p["name"] == key)
                .unwrap_or_else(|| panic!("{name}: the query parameter {key} is not documented"));
            let value = match value.parse::<i64>() {
                Ok(number) if parameter["schema"]["type"] == "integer" => json!(number),
                _ => json!(value),
            };
            let faults = faults_with(doc, &parameter["schema"], &value, true);
            if call.expect < 400 {
                assert!(
                    faults.is_empty(),
                    "{name}: {key}={value} breaks its documented schema: {faults:?}"
                );
            }
        }
    }
    if let (Some(content_type), Some(body)) = (call.content_type, &call.body) {
        let documented = &operation["requestBody"]["content"][content_type];
        if call.expect != 415 {
            assert!(
                documented.is_object(),
                "{name}: {content_type} is not a documented request body"
            );
        }
        if content_type == "application/json" && call.expect < 400 {
            let body: Value = serde_json::from_slice(body).unwrap();
            let faults = faults(doc, &documented["schema"], &body);
            assert!(
                faults.is_empty(),
                "{name}: the request body breaks its documented schema: {faults:?}"
            );
        }
    }

    let url = format!("{}{}", app.address, call.path);
    let mut request = app.client.request(method.to_uppercase().parse().unwrap(), url);
    if let Some(token) = &call.token {
        request = request.bearer_auth(token);
    }
    if let Some(content_type) = call.content_type {
        request = request.header("Content-Type", content_type);
    }
    if let Some(accept) = call.accept {
        request = request.header("Accept", accept);
    }
    if let Some(body) = &call.body {
        request = request.body(body.clone());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let media_type = response
        .headers()
        .get("content-type")
        .map(|v| {
            v.to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    assert!(
        response.headers().contains_key("x-request-id"),
        "{name}: no x-request-id"
    );
    let body = response.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, call.expect, "{name}: {text}");

    let documented = &operation["responses"][status.to_string()];
    assert!(documented.is_object(), "{name}: {status} is not documented");
    let schema = &documented["content"][&media_type]["schema"];
    assert!(
        schema.is_object(),
        "{name}: {media_type} is not documented for {status} (documented: {})",
        documented["content"]
    );
    if method == "head" {
        assert!(body.is_empty(), "{name}: a HEAD answer has no body");
        return media_type;
    }
    match media_type.as_str() {
        "application/json" | "application/problem+json" | "application/schema+json" => {
            let answer: Value =
                serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{name}: the body is no JSON ({e}): {text}"));
            let faults = faults(doc, schema, &answer);
            assert!(
                faults.is_empty(),
                "{name}: the answer breaks its documented schema: {faults:?}\n{text}"
            );
        }
        "application/xml" => {
            let mut reader = quick_xml::Reader::from_reader(&body[..]);
            let mut buffer = Vec::new();
            let mut elements = 0;
            loop {
                match reader.read_event_into(&mut buffer) {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(quick_xml::events::Event::Start(_)) => elements += 1,
                    Ok(_) => {}
                    Err(e) => panic!("{name}: the XML does not parse: {e}\n{text}"),
                }
                buffer.clear();
            }
            assert!(elements > 0, "{name}: an XML answer without elements: {text}");
        }
        "text/csv" => {
            let mut reader = csv::Reader::from_reader(&body[..]);
            let columns = reader.headers().unwrap_or_else(|e| panic!("{name}: {e}")).len();
            assert!(columns > 1, "{name}: a CSV answer with {columns} column: {text}");
            for record in reader.records() {
                record.unwrap_or_else(|e| panic!("{name}: the CSV does not parse: {e}\n{text}"));
            }
        }
        "application/openmetrics-text" => {
            assert!(
                text.ends_with("# EOF\n"),
                "{name}: OpenMetrics text ends with # EOF: {text}"
            );
        }
        other => panic!("{name}: no check for answers of {other}: add one"),
    }
    media_type
}

#[tokio::test]
async fn every_operation_of_the_document_answers_as_the_document_says() {
    let mut world = World::new().await;
    let doc = served_document(&world.app).await;
    // The check sees through references: a receipt without its members is no receipt.
    let receipt = json!({ "$ref": "#/components/schemas/ReceiptBody" });
    assert!(!faults(&doc, &receipt, &json!({ "receipt_id": "r" })).is_empty());
    let mut missing = Vec::new();
    // (path, method, media type) of every successful answer seen.
    let mut seen = BTreeSet::new();

    for (template, method, operation) in operations(&doc) {
        // HEAD is exercised with the calls of GET, sent as HEAD.
        let own = if method == "head" { "get" } else { method.as_str() };
        let Some(calls) = world.calls(own, &template).await else {
            missing.push(format!("{} {template}", method.to_uppercase()));
            continue;
        };
        let derived = derived_calls(&operation, &template, &calls[0]);

        // Every media type the operation takes has a call that is accepted.
        for documented in operation["requestBody"]["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            assert!(
                calls
                    .iter()
                    .any(|c| c.content_type == Some(documented.as_str()) && c.expect < 300),
                "{} {template}: no call sends {documented}",
                method.to_uppercase()
            );
        }
        for call in calls.iter().chain(&derived) {
            let media_type = send_and_check(&world.app, &doc, &template, &method, call).await;
            if call.expect < 300 {
                seen.insert((template.clone(), method.clone(), media_type));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "operations of the document without a case in tests/api/openapi.rs: {missing:?}"
    );

    // Every media type documented for a successful answer was seen.
    for (template, method, operation) in operations(&doc) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            if !status.starts_with('2') {
                continue;
            }
            for media_type in response["content"].as_object().into_iter().flatten().map(|(k, _)| k) {
                assert!(
                    seen.contains(&(template.clone(), method.clone(), media_type.clone())),
                    "{} {template}: no call got a {status} of {media_type}",
                    method.to_uppercase()
                );
            }
        }
    }
}
