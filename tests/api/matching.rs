//! A vacant home finds the citizens who need it: housing needs recorded on the case, the
//! candidates ranked with their reasons in Danish, the hard rule that excluded each of the
//! others, and what a caseworker may and may not do. The tests' clock shows 23 November 2026.

use crate::helpers::{TestApp, example, example_sender, problem, release_notice, spawn_app, spawn_app_with};
use crate::receiver::{Receiver, Reply, SECRET};
use indgang::domain::Kind;
use serde_json::{Value, json};

/// A release notice to Aarhus for a citizen released on `release`, housing at release `housing`.
fn notice(id: &str, cpr: &str, release: &str, housing: &str) -> Value {
    let mut n = release_notice(id, cpr, "751");
    n["release"]["expected_date"] = release.into();
    n["housing_at_release"] = housing.into();
    n.as_object_mut().unwrap().remove("release_meeting");
    n
}

/// A vacant two-room home in 8000 Aarhus C: dogs yes, cats no, 4,850 kr. a month, free from
/// 15 December 2026, answer by 1 December.
fn vacant_home(offer_id: &str) -> Value {
    let mut offer = example(Kind::HousingOffer, "valid/vacant-skaev-bolig");
    offer["message_id"] = format!("M-{offer_id}").into();
    offer["offer_id"] = offer_id.into();
    offer["sent_at"] = "2026-11-20T10:00:00+01:00".into();
    offer["municipality"] = "751".into();
    offer["dwelling"]["address"] = json!({ "street": "Vestergade 1, 2. tv.", "postcode": "8000", "city": "Aarhus C" });
    offer["dwelling"]["kind"] = "public_housing".into();
    offer["dwelling"]["rooms"] = 2.into();
    offer["dwelling"]["monthly_rent_dkk"] = 4850.into();
    offer["dwelling"]["dogs_allowed"] = true.into();
    offer["dwelling"]["cats_allowed"] = false.into();
    offer["dwelling"]["step_free"] = false.into();
    offer["available_from"] = "2026-12-15".into();
    offer["answer_deadline"] = "2026-12-01".into();
    offer
}

struct Town {
    app: TestApp,
    caseworker: String,
    prison: String,
    housing: String,
}

impl Town {
    async fn new() -> Town {
        Town::with(spawn_app().await).await
    }

    /// Files a release notice; returns the case reference.
    async fn citizen(&self, id: &str, cpr: &str, release: &str, housing: &str) -> String {
        let receipt = self
            .app
            .accept(Kind::ReleaseNotice, &self.prison, &notice(id, cpr, release, housing))
            .await;
        receipt["case_ref"].as_str().unwrap().to_owned()
    }

    async fn offer(&self, offer: &Value) -> String {
        let receipt = self.app.accept(Kind::HousingOffer, &self.housing, offer).await;
        receipt["case_ref"].as_str().unwrap().to_owned()
    }

    async fn put_needs(&self, case_ref: &str, token: &str, needs: &Value) -> reqwest::Response {
        self.app
            .client
            .put(format!("{}/v1/cases/{case_ref}/housing-needs", self.app.address))
            .bearer_auth(token)
            .json(needs)
            .send()
            .await
            .unwrap()
    }

    async fn needs(&self, case_ref: &str, needs: Value) {
        let response = self.put_needs(case_ref, &self.caseworker, &needs).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    async fn candidates(&self, case_ref: &str) -> reqwest::Response {
        self.app
            .get(&format!("/v1/cases/{case_ref}/candidates"), &self.caseworker)
            .await
    }
}

fn refs(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_ref"].as_str().unwrap())
        .collect()
}

fn has(reasons: &Value, reason: &str) -> bool {
    reasons.as_array().unwrap().iter().any(|r| r == reason)
}

#[tokio::test]
async fn a_vacant_home_ranks_the_citizens_seeking_housing_and_says_why_each_other_was_excluded() {
    let town = Town::new().await;
    // Released 20 December with a dog, rent at most 5,200 kr., wishing for 8000.
    let dog_owner = town.citizen("N-1", "150385-1234", "2026-12-20", "none").await;
    town.needs(
        &dog_owner,
        json!({ "dog": true, "max_rent_dkk": 5200, "preferred_postcodes": ["8000"], "min_rooms": 2 }),
    )
    .await;
    // Released 5 December; only the notice says housing is needed.
    let from_notice = town.citizen("N-2", "010190-2345", "2026-12-05", "unknown").await;
    let cat_owner = town.citizen("N-3", "020290-1234", "2026-12-10", "none").await;
    town.needs(&cat_owner, json!({ "cat": true })).await;
    let tight_budget = town.citizen("N-4", "030391-2345", "2026-12-10", "none").await;
    town.needs(&tight_budget, json!({ "max_rent_dkk": 4000 })).await;
    // Released half a year after the home is free: it would stand empty.
    let far_off = town.citizen("N-5", "040492-3456", "2027-06-01", "none").await;
    // Has a home at release: not seeking.
    let housed = town.citizen("N-6", "050593-4567", "2026-12-10", "public_housing").await;

    let home = town.offer(&vacant_home("TILBUD-8000-1")).await;
    let response = town.candidates(&home).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();

    assert_eq!(refs(&body["candidates"]), [dog_owner.as_str(), from_notice.as_str()]);
    let best = &body["candidates"][0];
    assert_eq!(best["rank"], 1);
    for reason in [
        "hund tilladt",
        "husleje 4.850 kr. ≤ 5.200 kr.",
        "løsladelse om 27 dage",
        "2 værelser, mindst 2 ønsket",
        "postnummer 8000 ønsket",
    ] {
        assert!(has(&best["reasons"], reason), "{reason} in {}", best["reasons"]);
    }
    assert!(has(&body["candidates"][1]["reasons"], "løsladelse om 12 dage"));

    let excluded: Vec<(&str, &str, &str)> = body["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["case_ref"].as_str().unwrap(),
                e["rule"].as_str().unwrap(),
                e["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        excluded,
        [
            (cat_owner.as_str(), "cat", "kat ikke tilladt"),
            (tight_budget.as_str(), "rent", "husleje 4.850 kr. > 4.000 kr."),
            (
                far_off.as_str(),
                "timing",
                "løsladelse 168 dage efter overtagelsesdatoen (højst 30 dage)"
            ),
        ]
    );
    assert_eq!(body["excluded_by"], json!({ "cat": 1, "rent": 1, "timing": 1 }));
    assert_eq!(body["seeking"], 5);
    assert!(
        !body.to_string().contains(&housed),
        "a citizen with a home is no candidate"
    );
    assert_eq!(body["home"]["postcode"], "8000");
    assert_eq!(body["as_of"], "2026-11-23");

    // Case references only: no CPR number, no name, no street.
    let text = body.to_string();
    for personal in ["150385", "1503851234", "Jonas", "Mikkelsen", "Vestergade"] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }

    // Reading the list is an audit entry on the home's case.
    let auditor = town.app.auditor_token().await;
    let audit: Value = town
        .app
        .get("/v1/audit?action=candidates.read", &auditor)
        .await
        .json()
        .await
        .unwrap();
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["case_ref"], home.as_str());
    assert_eq!(entries[0]["outcome"], "ok");
}

/// The municipality report's count of citizens due for release within 30 days without housing
/// (the first municipality's; `null` when none has a line).
async fn due_without_housing(app: &TestApp, operator: &str) -> Value {
    let body: Value = app
        .get("/v1/reports/municipalities", operator)
        .await
        .json()
        .await
        .unwrap();
    body["municipalities"][0]["due_within_30_days_without_housing"].clone()
}

#[tokio::test]
async fn a_home_found_ends_the_search() {
    let town = Town::new().await;
    let citizen = town.citizen("N-1", "150385-1234", "2026-12-20", "none").await;
    let home = town.offer(&vacant_home("TILBUD-8000-2")).await;
    let body: Value = town.candidates(&home).await.json().await.unwrap();
    assert_eq!(refs(&body["candidates"]), [citizen.as_str()]);
    // Released in 27 days without housing: counted in the municipality report (Målsætning 4).
    let operator = town.app.operator_token().await;
    assert_eq!(due_without_housing(&town.app, &operator).await, 1);

    // The housing deadline resolved with a home: the citizen leaves the list.
    let case: Value = town
        .app
        .get(&format!("/v1/cases/{citizen}"), &town.caseworker)
        .await
        .json()
        .await
        .unwrap();
    let housing = case["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["policy"] == "housing")
        .expect("a housing deadline");
    let resolved = town
        .app
        .client
        .post(format!("{}/v1/deadlines/{}/resolve", town.app.address, housing["id"]))
        .bearer_auth(&town.caseworker)
        .json(&json!({ "outcome": "public_housing" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);
    let body: Value = town.candidates(&home).await.json().await.unwrap();
    assert_eq!(body["candidates"], json!([]));
    assert_eq!(body["seeking"], 0);
    // … and out of the report's figure by the same act.
    assert_eq!(due_without_housing(&town.app, &operator).await, Value::Null);
}

#[tokio::test]
async fn housing_needs_are_recorded_by_the_municipalitys_caseworkers_with_the_note_sealed() {
    let town = Town::new().await;
    let citizen = town.citizen("N-1", "150385-1234", "2026-12-20", "none").await;
    let note = "Hunden hedder Bella og er en stor schæfer";

    let before: Value = town
        .app
        .get(&format!("/v1/cases/{citizen}/housing-needs"), &town.caseworker)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["recorded"], false);
    assert_eq!(before["seeking_housing"], true, "the notice alone marks the search");
    assert_eq!(
        before["income_basis"], "social_assistance",
        "the hint for the rent limit"
    );

    town.needs(
        &citizen,
        json!({ "dog": true, "step_free": true, "max_rent_dkk": 5200, "avoided_postcodes": ["8220"], "note": note }),
    )
    .await;
    let after: Value = town
        .app
        .get(&format!("/v1/cases/{citizen}/housing-needs"), &town.caseworker)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            &after["recorded"],
            &after["dog"],
            &after["step_free"],
            &after["max_rent_dkk"]
        ),
        (&json!(true), &json!(true), &json!(true), &json!(5200))
    );
    assert_eq!(after["avoided_postcodes"], json!(["8220"]));
    assert_eq!(after["note"], note);

    // The note is stored sealed: its words are nowhere in the database (its files, or its rows).
    let stored = crate::backend::stored_bytes(&town.app.data_dir);
    let text = String::from_utf8_lossy(&stored);
    assert!(
        !text.contains("schæfer") && !text.contains("Bella"),
        "the note is stored in clear"
    );

    // Every fault named; nothing of the body repeated.
    let bad = town
        .put_needs(
            &citizen,
            &town.caseworker,
            &json!({ "min_rooms": 0, "preferred_postcodes": ["80000"], "note": "x" }),
        )
        .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let problem: Value = bad.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("min_rooms") && detail.contains("preferred_postcodes/0"),
        "{detail}"
    );
    let unknown = town
        .put_needs(&citizen, &town.caseworker, &json!({ "cpr": "150385-1234" }))
        .await;
    assert_eq!(unknown.status(), 400);
    assert!(!unknown.text().await.unwrap().contains("150385"));

    // Another municipality's caseworker finds no such case; an operator may not.
    let copenhagen = town.app.caseworker_token("101").await;
    assert_eq!(town.put_needs(&citizen, &copenhagen, &json!({})).await.status(), 404);
    let operator = town.app.operator_token().await;
    assert_eq!(town.put_needs(&citizen, &operator, &json!({})).await.status(), 403);

    // Needs belong on a citizen's case, candidates on a vacant home's.
    let home = town.offer(&vacant_home("TILBUD-8000-3")).await;
    assert_eq!(town.put_needs(&home, &town.caseworker, &json!({})).await.status(), 409);
    assert_eq!(town.candidates(&citizen).await.status(), 409);

    // A withdrawn offer has no candidates.
    let mut withdrawal = example(Kind::HousingOffer, "valid/withdrawal");
    withdrawal["message_id"] = "M-W".into();
    withdrawal["offer_id"] = "TILBUD-8000-3".into();
    withdrawal["municipality"] = "751".into();
    withdrawal["sent_at"] = "2026-11-21T10:00:00+01:00".into();
    assert_eq!(town.offer(&withdrawal).await, home);
    let withdrawn = town.candidates(&home).await;
    assert_eq!(withdrawn.status(), 409);

    // Written and read needs are audit entries.
    let auditor = town.app.auditor_token().await;
    let audit: Value = town
        .app
        .get(&format!("/v1/audit?case={citizen}"), &auditor)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"housing-needs.write") && actions.contains(&"housing-needs.read"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn match_test_ranks_the_current_cases_against_an_offer_file_printing_case_references_only() {
    let town = Town::new().await;
    let dog_owner = town.citizen("N-1", "150385-1234", "2026-12-20", "none").await;
    town.needs(&dog_owner, json!({ "dog": true, "max_rent_dkk": 5200 }))
        .await;
    let cat_owner = town.citizen("N-2", "020290-1234", "2026-12-10", "none").await;
    town.needs(&cat_owner, json!({ "cat": true })).await;
    let data_dir = town.app.data_dir.clone();
    let _dir = town.app.stop().await.unwrap();
    let offer = data_dir.join("offer.json");
    std::fs::write(&offer, serde_json::to_vec(&vacant_home("TILBUD-FIL-1")).unwrap()).unwrap();

    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_indgang"))
            .args(args)
            .env("INDGANG__DATA_DIR", &data_dir)
            .envs(crate::backend::storage_env(std::path::Path::new(&data_dir)))
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    let output = run(&["match", "test", offer.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("2 citizens seeking housing in 751"), "{stdout}");
    let candidate = stdout
        .lines()
        .find(|l| l.contains(&dog_owner))
        .expect("the dog owner is a candidate");
    assert!(candidate.trim_start().starts_with("1  "), "{candidate}");
    assert!(
        candidate.contains("hund tilladt; husleje 4.850 kr. ≤ 5.200 kr."),
        "{candidate}"
    );
    let excluded = stdout.lines().find(|l| l.contains(&cat_owner)).unwrap();
    assert!(
        excluded.contains("cat") && excluded.contains("kat ikke tilladt"),
        "{excluded}"
    );
    for personal in ["150385", "020290", "Jonas", "Vestergade"] {
        assert!(!stdout.contains(personal), "{personal} printed: {stdout}");
    }

    let json_lines = run(&["match", "test", "--json", offer.to_str().unwrap()]);
    let lines: Vec<Value> = String::from_utf8_lossy(&json_lines.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["rule"], "cat");

    // A withdrawal describes no home: the input is found wanting (exit code 1).
    let mut withdrawal = example(Kind::HousingOffer, "valid/withdrawal");
    withdrawal["municipality"] = "751".into();
    std::fs::write(&offer, serde_json::to_vec(&withdrawal).unwrap()).unwrap();
    assert_eq!(run(&["match", "test", offer.to_str().unwrap()]).status.code(), Some(1));
}

/// The plain text of every email in the outbox.
fn email_texts(app: &TestApp) -> Vec<String> {
    let Ok(folder) = std::fs::read_dir(app.data_dir.join("outbox")) else {
        return Vec::new();
    };
    folder
        .map(|entry| {
            let raw = std::fs::read(entry.unwrap().path()).unwrap();
            let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
            mail.body_text(0).unwrap_or_default().replace("\r\n", "\n")
        })
        .collect()
}

#[tokio::test]
async fn the_team_hears_of_a_vacant_home_with_its_facts_and_how_many_it_suits_without_personal_data() {
    let town = Town::new().await;
    let dog_owner = town.citizen("N-1", "150385-1234", "2026-12-20", "none").await;
    town.needs(&dog_owner, json!({ "dog": true })).await;
    town.app.advance_and_drain(180).await;
    let home = town.offer(&vacant_home("TILBUD-8000-4")).await;
    town.app.advance_and_drain(180).await;
    let texts = email_texts(&town.app);
    let email = texts
        .iter()
        .find(|t| t.contains(&format!("sag {home}")))
        .unwrap_or_else(|| panic!("an email about the home: {texts:?}"));
    for fact in [
        "almen bolig, 2 vær.",
        "4.850 kr. om måneden",
        "Hund",
        "tilladt",
        "Postnummer",
        "8000",
        "1 borger (se listen)",
        &format!("/sager/{home}"),
    ] {
        assert!(email.contains(fact), "{fact} in {email}");
    }
    for personal in ["Vestergade", "150385", "Jonas", "Lise Overgaard"] {
        assert!(!email.contains(personal), "{personal} in {email}");
    }

    // A home nobody seeking housing can take is said too, so it can be passed on in time.
    let mut no_dogs = vacant_home("TILBUD-8000-5");
    no_dogs["dwelling"]["dogs_allowed"] = false.into();
    let other = town.offer(&no_dogs).await;
    town.app.advance_and_drain(180).await;
    let texts = email_texts(&town.app);
    let email = texts.iter().find(|t| t.contains(&format!("sag {other}"))).unwrap();
    assert!(email.contains("ingen borgere søger en bolig, der passer"), "{email}");
}

/// A town whose answers on vacant homes go to `receiver` as the destination `boligtildeling`.
async fn town_answering_to(receiver: &Receiver) -> Town {
    let settings = [
        ("INDGANG__DESTINATIONS__BOLIGTILDELING__TYPE", "webhook".to_owned()),
        ("INDGANG__DESTINATIONS__BOLIGTILDELING__URL", receiver.url()),
        ("INDGANG__DESTINATIONS__BOLIGTILDELING__SECRET", SECRET.to_owned()),
        (
            "INDGANG__DESTINATIONS__BOLIGTILDELING__TIMEOUT_SECONDS",
            "30".to_owned(),
        ),
        ("INDGANG__MATCHING__ANSWER_DESTINATION", "boligtildeling".to_owned()),
    ];
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Town::with(spawn_app_with(&env).await).await
}

impl Town {
    async fn with(app: TestApp) -> Town {
        Town {
            caseworker: app.caseworker_token("751").await,
            prison: app.prison_token().await,
            housing: app
                .sender_token(example_sender(Kind::HousingOffer), &[Kind::HousingOffer])
                .await,
            app,
        }
    }

    async fn answer(&self, home: &str, token: &str, answer: &Value) -> reqwest::Response {
        self.app
            .client
            .post(format!("{}/v1/cases/{home}/housing-answer", self.app.address))
            .bearer_auth(token)
            .json(answer)
            .send()
            .await
            .unwrap()
    }

    /// The deadlines of `policy` on a case.
    async fn deadlines(&self, case_ref: &str, policy: &str) -> Vec<Value> {
        let case: Value = self
            .app
            .get(&format!("/v1/cases/{case_ref}"), &self.caseworker)
            .await
            .json()
            .await
            .unwrap();
        case["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["policy"] == policy)
            .cloned()
            .collect()
    }
}

#[tokio::test]
async fn the_answer_names_a_candidate_reaches_the_allocation_office_once_and_the_citizen_housed_leaves_the_figure() {
    let receiver = Receiver::start().await;
    let town = town_answering_to(&receiver).await;
    let citizen = town.citizen("N-1", "150385-1234", "2026-12-20", "none").await;
    town.needs(&citizen, json!({ "dog": true })).await;
    let home = town.offer(&vacant_home("TILBUD-8000-9")).await;
    let operator = town.app.operator_token().await;
    assert_eq!(due_without_housing(&town.app, &operator).await, 1);

    // The caseworker names the first candidate.
    let response = town
        .answer(&home, &town.caseworker, &json!({ "candidate": citizen }))
        .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["answer"], "candidate");
    assert_eq!(answer["candidate"], citizen.as_str());
    assert_eq!(answer["candidate_rank"], 1);
    assert_eq!(answer["deadline_state"], "met");
    let deadline = &town.deadlines(&home, "offer_answer").await[0];
    assert_eq!(deadline["state"], "met");
    assert_eq!(deadline["outcome"], "accepted");
    // Recorded on both cases.
    for case_ref in [&home, &citizen] {
        let case: Value = town
            .app
            .get(&format!("/v1/cases/{case_ref}"), &town.caseworker)
            .await
            .json()
            .await
            .unwrap();
        let answers = &case["housing_answers"];
        assert_eq!(answers.as_array().unwrap().len(), 1, "{case_ref}: {answers}");
        assert_eq!(
            (&answers[0]["case_ref"], &answers[0]["candidate"]),
            (&json!(home), &json!(citizen))
        );
    }

    // The same answer again (a reply lost) is the answer given, not a second message.
    let again = town
        .answer(&home, &town.caseworker, &json!({ "candidate": citizen }))
        .await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["delivery_id"], answer["delivery_id"]);

    // The allocation office gets one signed CloudEvent, with the stable delivery id, however
    // often the queue is worked.
    town.app.drain().await;
    town.app.drain().await;
    let received = receiver.accepted();
    assert_eq!(received.len(), 1, "exactly once");
    assert_eq!(receiver.bad_signatures(), 0);
    let event = &received[0].event;
    assert_eq!(event["type"], "dk.indgang.housing-answer.v1");
    assert_eq!(event["id"], answer["delivery_id"]);
    assert_eq!(event["id"], received[0].id.as_str(), "the event id is the webhook-id");
    assert_eq!(event["subject"], home.as_str());
    assert_eq!(event["source"], "urn:indgang:kommune:751");
    let data = &event["data"];
    assert_eq!(data["offer_id"], "TILBUD-8000-9");
    assert_eq!(data["answer"], "candidate");
    assert_eq!(data["reason"], Value::Null);
    assert_eq!(data["citizen"]["case_ref"], citizen.as_str());
    assert_eq!(
        data["citizen"]["cpr"], "150385-1234",
        "what the office needs to offer the home"
    );

    // The answer is an audit entry on the home's case, its deadline resolved by the same person.
    let auditor = town.app.auditor_token().await;
    let audit: Value = town
        .app
        .get("/v1/audit?action=housing.answer", &auditor)
        .await
        .json()
        .await
        .unwrap();
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{audit}");
    assert_eq!(entries[0]["case_ref"], home.as_str());
    assert_eq!(entries[0]["outcome"], "ok");
    assert!(!audit.to_string().contains("150385"), "no CPR number in the audit log");

    // The office offers the home to the citizen it was told of; the citizen accepts.
    let mut offer = example(Kind::HousingOffer, "valid/offer-named-citizen-dogs-allowed");
    offer["message_id"] = "M-TILBUD-8000-9-citizen".into();
    offer["offer_id"] = "TILBUD-8000-9".into();
    offer["municipality"] = "751".into();
    offer["citizen"] = json!({ "cpr": data["citizen"]["cpr"] });
    offer["sent_at"] = "2026-11-22T10:00:00+01:00".into();
    offer["available_from"] = "2026-12-15".into();
    offer["answer_deadline"] = "2026-12-01".into();
    offer.as_object_mut().unwrap().remove("viewing");
    let offered = town.app.accept(Kind::HousingOffer, &town.housing, &offer).await;
    assert_eq!(offered["case_ref"], citizen.as_str(), "filed on the citizen's case");
    let to_answer = &town.deadlines(&citizen, "offer_answer").await[0];
    let accepted = town
        .app
        .client
        .post(format!("{}/v1/deadlines/{}/resolve", town.app.address, to_answer["id"]))
        .bearer_auth(&town.caseworker)
        .json(&json!({ "outcome": "accepted" }))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);

    let housing = &town.deadlines(&citizen, "housing").await[0];
    assert_eq!(housing["state"], "met");
    assert_eq!(housing["outcome"], "housing_offer");
    assert_eq!(
        due_without_housing(&town.app, &operator).await,
        Value::Null,
        "Målsætning 4: one citizen fewer due for release without housing"
    );
    assert_eq!(receiver.accepted().len(), 1, "the citizen's own offer is not sent back");

    // The housing report: the home offered in November, answered in time naming a citizen, who
    // accepted; a second home not yet answered.
    town.offer(&vacant_home("TILBUD-8000-10")).await;
    let report: Value = town
        .app
        .get("/v1/reports/housing", &operator)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        report["housing"],
        json!([{ "municipality": "751", "name": "Aarhus", "month": "2026-11", "offered": 2, "answered": 1,
                 "answered_in_time": 1, "matched": 1, "accepted": 1, "median_days_to_answer": 0.0 }])
    );
    let csv = town
        .app
        .get("/v1/reports/housing?format=csv", &town.caseworker)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        csv,
        "municipality,name,month,offered,answered,answered_in_time,matched,accepted,median_days_to_answer\r\n\
         751,Aarhus,2026-11,2,1,1,1,1,0\r\n"
    );
}

#[tokio::test]
async fn an_answer_the_allocation_office_refuses_is_retried_dead_lettered_and_replayed_with_its_id() {
    let receiver = Receiver::start().await;
    // Busy, then refused for good, then taken.
    receiver.script([Reply::status(503), Reply::status(400), Reply::status(200)]);
    let town = town_answering_to(&receiver).await;
    let home = town.offer(&vacant_home("TILBUD-8000-11")).await;
    let answer: Value = town
        .answer(&home, &town.caseworker, &json!({ "reason": "passed_on" }))
        .await
        .json()
        .await
        .unwrap();
    let id = answer["delivery_id"].as_str().unwrap().to_owned();

    town.app.drain().await;
    town.app.advance_and_drain(10).await;
    let operator = town.app.operator_token().await;
    let dead: Value = town.app.get("/v1/dead-letters", &operator).await.json().await.unwrap();
    let dead = &dead["dead_letters"][0];
    assert_eq!(
        (&dead["delivery_id"], &dead["purpose"], &dead["case_ref"]),
        (&json!(id), &json!("housing-answer"), &json!(home))
    );
    assert_eq!(dead["attempts"], 2);

    let replayed = town
        .app
        .client
        .post(format!("{}/v1/dead-letters/{id}/replay", town.app.address))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 202);
    town.app.drain().await;
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    assert!(received.iter().all(|r| r.id == id), "one delivery id on every attempt");
    assert_eq!(received[2].event["data"]["reason"], "passed_on");
    assert_eq!(received[2].event["data"]["citizen"], Value::Null);
}

#[tokio::test]
async fn an_answer_names_a_candidate_of_the_list_or_none_with_a_reason_and_only_once() {
    let town = Town::new().await;
    let fits = town.citizen("N-1", "150385-1234", "2026-12-20", "none").await;
    let cat_owner = town.citizen("N-2", "020290-1234", "2026-12-10", "none").await;
    town.needs(&cat_owner, json!({ "cat": true })).await;
    let housed = town.citizen("N-3", "050593-4567", "2026-12-10", "public_housing").await;
    let home = town.offer(&vacant_home("TILBUD-8000-3")).await;

    // Refused, each with a problem that says why; nothing recorded.
    let refused = |status: u16, detail: &'static str| (status, detail);
    for (answer, (status, detail)) in [
        (
            json!({ "candidate": cat_owner }),
            refused(422, "excluded from this home by the rule cat: kat ikke tilladt"),
        ),
        (
            json!({ "candidate": housed }),
            refused(422, "not among this home's candidates"),
        ),
        (
            json!({ "candidate": fits, "reason": "other" }),
            refused(400, "not both"),
        ),
        (json!({}), refused(400, "not both")),
        (
            json!({ "reason": "the rent is too high" }),
            refused(400, "is not one of no_candidate_fits"),
        ),
        (
            json!({ "reason": "other", "note": "free text" }),
            refused(400, "a member unknown"),
        ),
    ] {
        let response = town.answer(&home, &town.caseworker, &answer).await;
        assert_eq!(response.status(), status, "{answer}");
        let problem = problem(response).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(detail),
            "{answer}: {problem}"
        );
    }
    let response = town
        .answer(&fits, &town.caseworker, &json!({ "reason": "other" }))
        .await;
    assert_eq!(response.status(), 409, "a citizen's case has no home to answer");
    let copenhagen = town.app.caseworker_token("101").await;
    let response = town.answer(&home, &copenhagen, &json!({ "reason": "other" })).await;
    assert_eq!(response.status(), 404, "another municipality's home does not exist");
    assert_eq!(town.deadlines(&home, "offer_answer").await[0]["state"], "open");

    // None, with a reason: declined. No destination configured: no delivery.
    let response = town
        .answer(&home, &town.caseworker, &json!({ "reason": "no_candidate_fits" }))
        .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["answer"], "none");
    assert_eq!(answer["reason_text"], "ingen kandidat passer til boligen");
    assert_eq!(answer.get("delivery_id"), None);
    let deadline = &town.deadlines(&home, "offer_answer").await[0];
    assert_eq!(
        (&deadline["state"], &deadline["outcome"]),
        (&json!("met"), &json!("declined"))
    );

    // A second answer is refused: the office has been told.
    let again = town
        .answer(&home, &town.caseworker, &json!({ "candidate": fits }))
        .await;
    assert_eq!(again.status(), 409);
    assert!(
        problem(again).await["detail"]
            .as_str()
            .unwrap()
            .contains("answered already")
    );

    let auditor = town.app.auditor_token().await;
    let audit: Value = town
        .app
        .get("/v1/audit?action=housing.answer", &auditor)
        .await
        .json()
        .await
        .unwrap();
    let outcomes: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "refused",
            "refused",
            "refused",
            "refused",
            "refused",
            "refused",
            "conflict",
            "not-found",
            "ok",
            "conflict"
        ]
    );
}

/// The real binary: the answer carries the CPR number to the allocation office, and no log line
/// and no team email carries it or the name.
#[tokio::test]
async fn the_cpr_number_of_the_candidate_goes_to_the_allocation_office_and_nowhere_else() {
    use crate::binary::{prison_token, serve_with, token};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let prison = prison_token(data);
    let housing = token(
        data,
        &[
            "--role",
            "sender",
            "--sender",
            example_sender(Kind::HousingOffer),
            "--kinds",
            "housing-offer",
        ],
    );
    let caseworker = token(data, &["--role", "caseworker", "--municipality", "751"]);
    let receiver = Receiver::start().await;
    let env: Vec<(String, String)> = [
        ("INDGANG__DESTINATIONS__BOLIGTILDELING__TYPE", "webhook".to_owned()),
        ("INDGANG__DESTINATIONS__BOLIGTILDELING__URL", receiver.url()),
        ("INDGANG__DESTINATIONS__BOLIGTILDELING__SECRET", SECRET.to_owned()),
        ("INDGANG__MATCHING__ANSWER_DESTINATION", "boligtildeling".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let served = serve_with(data, "debug", &env);
    let client = crate::helpers::client();
    let post = |path: String, token: &str, body: Value| {
        client
            .post(format!("{}{path}", served.address))
            .bearer_auth(token)
            .json(&body)
            .send()
    };

    let mut n = notice("N-BIN-1", "150385-1234", "2026-12-20", "none");
    n["citizen"]["name"] = "Jonas Mikkelsen".into();
    let filed = post("/v1/release-notices".into(), &prison, n).await.unwrap();
    assert_eq!(filed.status(), 202);
    let citizen: Value = filed.json().await.unwrap();
    let mut offer = vacant_home("TILBUD-BIN-1");
    offer["answer_deadline"] = "2026-12-18".into();
    let offered = post("/v1/housing-offers".into(), &housing, offer).await.unwrap();
    assert_eq!(offered.status(), 202);
    let home: Value = offered.json().await.unwrap();
    let answered = post(
        format!("/v1/cases/{}/housing-answer", home["case_ref"].as_str().unwrap()),
        &caseworker,
        json!({ "candidate": citizen["case_ref"] }),
    )
    .await
    .unwrap();
    assert_eq!(answered.status(), 200, "{}", answered.text().await.unwrap());

    receiver.wait_for(1).await;
    let data_sent = &receiver.accepted()[0].event["data"];
    assert_eq!(data_sent["citizen"]["cpr"], "150385-1234");
    assert_eq!(data_sent["citizen"]["name"], "Jonas Mikkelsen");

    let outbox = data.join("outbox");
    for _ in 0..500 {
        if std::fs::read_dir(&outbox).map_or(0, |d| d.count()) >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let lines = served.lines.clone();
    let (status, stderr) = served.stop(libc::SIGTERM);
    assert!(status.success());
    let mut written = format!("{}\n{stderr}", lines.lock().unwrap().join("\n"));
    assert!(
        written.contains("vacant home answered"),
        "the test saw the answer's log line"
    );
    let mut emails = 0;
    for entry in std::fs::read_dir(&outbox).unwrap() {
        written.push_str(&String::from_utf8_lossy(&std::fs::read(entry.unwrap().path()).unwrap()));
        emails += 1;
    }
    assert!(emails >= 2, "the test read the team emails");
    for personal in ["150385-1234", "1503851234", "Jonas Mikkelsen"] {
        assert!(!written.contains(personal), "{personal} in a log line or an email");
    }
    // The event waiting in the outbox is sealed like a message body.
    let stored = crate::backend::stored_bytes(data);
    let stored = String::from_utf8_lossy(&stored);
    assert!(stored.contains("housing-answer"), "the test read the database");
    for personal in ["150385-1234", "1503851234", "Jonas Mikkelsen"] {
        assert!(!stored.contains(personal), "{personal} in clear in the database");
    }
}
