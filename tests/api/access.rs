//! Who may do what: reads the table in docs/operations.md ("Who may do what") and walks it,
//! every role as a token and as a person signed in with OpenID Connect, against every
//! endpoint, asserting the documented status. The table must name every operation of the
//! OpenAPI document, so a new endpoint cannot be left out of it.

use crate::helpers::*;
use crate::provider::{Browser, spawn_with_provider};
use indgang::domain::Kind;
use serde_json::{Value, json};
use std::collections::BTreeSet;

struct Row {
    method: String,
    path: String,
    /// anyone, sender, caseworker, caseworker elsewhere, operator, auditor
    statuses: Vec<u16>,
}

const COLUMNS: [&str; 6] = [
    "anyone",
    "sender",
    "caseworker",
    "caseworker elsewhere",
    "operator",
    "auditor",
];

fn table() -> Vec<Row> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md")).unwrap();
    let section = text
        .split("\n## Who may do what\n")
        .nth(1)
        .expect("docs/operations.md has the section Who may do what");
    let mut lines = section.lines().skip_while(|l| !l.starts_with("| method |"));
    let header: Vec<&str> = lines.next().unwrap().split('|').map(str::trim).collect();
    assert_eq!(&header[3..9], &COLUMNS, "the table's columns");
    lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            Row {
                method: cells[1].to_owned(),
                path: cells[2].to_owned(),
                statuses: cells[3..9].iter().map(|c| c.parse().unwrap()).collect(),
            }
        })
        .collect()
}

/// Someone making requests: nobody, a token, or a signed-in person (with their CSRF token).
enum Who {
    Anyone,
    Token(&'static str, String),
    Person(&'static str, Browser, String),
}

impl Who {
    fn name(&self) -> String {
        match self {
            Who::Anyone => "anyone".to_owned(),
            Who::Token(name, _) => format!("{name} token"),
            Who::Person(name, ..) => format!("{name} (signed in)"),
        }
    }
}

async fn person(app: &TestApp, login: &'static str) -> Who {
    let browser = Browser::default();
    assert_eq!(browser.sign_in(app, login).await.status(), 303, "{login} signs in");
    let csrf = browser.csrf_token(app).await;
    Who::Person(login, browser, csrf)
}

/// What the walk's requests are about: a message of 751 and one of its open deadlines.
struct Fixture {
    receipt_id: String,
    case_ref: String,
    /// The case of a vacant home in Aarhus, for its candidates and the answer on it.
    home_case: String,
    deadline: i64,
}

fn concrete(path: &str, fixture: &Fixture) -> String {
    let case_ref = if path.ends_with("/candidates") || path.ends_with("/housing-answer") {
        &fixture.home_case
    } else {
        &fixture.case_ref
    };
    path.replace("{receipt_id}", &fixture.receipt_id)
        .replace("{case_ref}", case_ref)
        .replace("{id}", &fixture.deadline.to_string())
        .replace("{delivery_id}", "dlv_00000000000000000000000000000000")
        .replace("{destination}", "mail:intake")
        .replace("{report}", "municipalities")
        .replace("{kind}", "release-notice")
}

/// The body of a well-formed request to this endpoint, and its content type.
fn body(method: &str, path: &str) -> Option<(&'static str, String)> {
    let json = |v: Value| Some(("application/json", v.to_string()));
    match (method, path) {
        ("POST", "/v1/release-notices") => json(parole_notice()),
        ("POST", "/v1/housing-offers") => json(example(Kind::HousingOffer, "valid/offer-youth-housing")),
        ("POST", "/v1/jobcenter-messages") => json(json!({})),
        ("POST", "/v1/housing-offers/batch") => Some(("text/csv", "tilbud_id;cpr\n".to_owned())),
        ("POST", "/v1/case-search") => json(json!({"cpr": "150385-1234"})),
        ("POST", "/v1/deadlines/{id}/resolve") => json(json!({"outcome": "case_started"})),
        ("POST", "/v1/dead-letters/replay") => json(json!({"all": true})),
        ("POST", "/v1/cases/{case_ref}/housing-answer") => json(json!({"reason": "passed_on"})),
        ("PUT", "/v1/cases/{case_ref}/housing-needs") => json(json!({"dog": true, "max_rent_dkk": 5200})),
        ("POST", _) => None,
        ("GET", _) => None,
        other => panic!("the walk does not know {other:?}"),
    }
}

async fn send(app: &TestApp, who: &Who, row: &Row, fixture: &Fixture) -> reqwest::Response {
    let url = format!("{}{}", app.address, concrete(&row.path, fixture));
    let client = match who {
        Who::Person(_, browser, _) => &browser.client,
        _ => &app.client,
    };
    let mut request = match row.method.as_str() {
        "GET" => client.get(url),
        "POST" => client.post(url),
        "PUT" => client.put(url),
        other => panic!("the walk does not know the method {other}"),
    };
    if let Some((content_type, body)) = body(&row.method, &row.path) {
        request = request.header("content-type", content_type).body(body);
    }
    match who {
        Who::Anyone => {}
        Who::Token(_, token) => request = request.bearer_auth(token),
        Who::Person(_, _, csrf) => request = request.header("x-csrf-token", csrf),
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_role_gets_the_documented_status_at_every_endpoint_as_token_and_as_person() {
    let it = spawn_with_provider(&[]).await;
    let app = &it.app;
    let prison = app.prison_token().await;
    let filed = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("KIF-ACCESS-1", "150385-1234", "751"),
        )
        .await;
    let mut home = example(Kind::HousingOffer, "valid/vacant-skaev-bolig");
    home["municipality"] = "751".into();
    let housing = app
        .sender_token(example_sender(Kind::HousingOffer), &[Kind::HousingOffer])
        .await;
    let home_case = app.accept(Kind::HousingOffer, &housing, &home).await["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let aarhus = app.caseworker_token("751").await;
    let open: Value = app.get("/v1/deadlines?state=open", &aarhus).await.json().await.unwrap();
    let deadline = open["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["policy"] == "benefit" && d["case_ref"] == filed["case_ref"])
        .expect("the notice's benefit deadline")["id"]
        .as_i64()
        .unwrap();
    let fixture = Fixture {
        receipt_id: filed["receipt_id"].as_str().unwrap().to_owned(),
        case_ref: filed["case_ref"].as_str().unwrap().to_owned(),
        home_case,
        deadline,
    };
    let columns: Vec<Vec<Who>> = vec![
        vec![Who::Anyone],
        vec![Who::Token("sender", prison.clone())],
        vec![
            Who::Token("caseworker", aarhus.clone()),
            person(app, "alice").await,
            person(app, "lead").await,
        ],
        vec![
            Who::Token("caseworker elsewhere", app.caseworker_token("101").await),
            person(app, "carl").await,
        ],
        vec![
            Who::Token("operator", app.operator_token().await),
            person(app, "olga").await,
        ],
        vec![
            Who::Token("auditor", app.auditor_token().await),
            person(app, "audrey").await,
        ],
    ];
    let rows = table();
    assert!(rows.len() > 20, "the table has its rows");

    let mut wrong = Vec::new();
    for (column, whos) in columns.iter().enumerate() {
        for who in whos {
            for row in &rows {
                let status = send(app, who, row, &fixture).await.status().as_u16();
                if status != row.statuses[column] {
                    wrong.push(format!(
                        "{} {} as {}: {status}, documented {}",
                        row.method,
                        row.path,
                        who.name(),
                        row.statuses[column]
                    ));
                }
            }
        }
    }

    assert!(
        wrong.is_empty(),
        "answers that differ from docs/operations.md:\n{}",
        wrong.join("\n")
    );
}

/// The table names every operation of the API document, and the document says that each
/// operation that needs credentials takes a token or the session cookie.
#[tokio::test]
async fn the_table_names_every_operation_of_the_api_document() {
    let app = spawn_app().await;
    let document: Value = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(|method| (method.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let tabled: BTreeSet<(String, String)> = table().into_iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(tabled, documented, "docs/operations.md's table against /openapi.json");
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if let Some(security) = operation["security"].as_array().filter(|s| !s.is_empty()) {
                assert_eq!(
                    security,
                    &vec![json!({"bearer": []}), json!({"session": []})],
                    "{method} {path}: a token or the session cookie"
                );
            }
        }
    }
    assert_eq!(
        document["components"]["securitySchemes"]["session"],
        json!({"type": "apiKey", "in": "cookie", "name": "indgang_session",
               "description": document["components"]["securitySchemes"]["session"]["description"]})
    );
}
