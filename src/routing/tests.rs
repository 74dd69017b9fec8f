//! The route tree: its semantics, and the checks that stop a bad `[routing]`.

use super::*;
use crate::config::Settings;
use jiff::civil::date;

const TEAMS_AND_DESTINATIONS: &str = r#"
[teams.misbrug]
name = "Misbrugscenteret"
mailbox = "misbrug@kommune.example"
lead = "leder@kommune.example"

[teams.bolig]
name = "Boligsocialt team"
mailbox = "bolig@kommune.example"
lead = "bolig-leder@kommune.example"

[destinations.case_system]
type = "webhook"
url = "https://esdh.example/events"
secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

[destinations.housing_portal]
type = "webhook"
url = "https://bolig.example/hooks"
secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
"#;

/// Settings from the defaults, two extra teams, two destinations, `routes` and `env`.
fn load(routes: &str, env: &[(&str, &str)]) -> anyhow::Result<Settings> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("indgang.toml");
    std::fs::write(&path, format!("{TEAMS_AND_DESTINATIONS}\n{routes}")).unwrap();
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let settings = Settings::load_from(Some(&path), env)?;
    Router::from_settings(&settings)?;
    Ok(settings)
}

fn router(routes: &str) -> Router {
    let settings = load(routes, &[]).unwrap_or_else(|e| panic!("{e:#}"));
    Router::from_settings(&settings).unwrap()
}

/// The whole error chain of a configuration that must not start.
fn error(routes: &str, env: &[(&str, &str)]) -> String {
    match load(routes, env) {
        Ok(_) => panic!("the configuration was accepted:\n{routes}"),
        Err(e) => format!("{e:#}"),
    }
}

fn assert_error(routes: &str, env: &[(&str, &str)], expected: &[&str]) {
    let message = error(routes, env);
    for part in expected {
        assert!(message.contains(part), "{part:?} is not in {message:?}");
    }
}

fn example(kind: &str, name: &str) -> Value {
    let path = format!(
        "{}/schemas/examples/{kind}/valid/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn release(name: &str) -> Value {
    example("release-notice", name)
}

fn offer(name: &str) -> Value {
    example("housing-offer", name)
}

fn jobcenter(name: &str) -> Value {
    example("jobcenter-message", name)
}

const TODAY: Date = date(2026, 10, 14);

fn decide_on(router: &Router, document: &Value, birth_date: Option<Date>, on: Date) -> Decision {
    router.route(&Facts {
        kind: Kind::detect(document).expect("an example has one type member"),
        municipality: document["municipality"].as_str().unwrap(),
        sender_id: document["sender"]["id"].as_str().unwrap(),
        document,
        birth_date,
        on,
    })
}

fn decide(router: &Router, document: &Value) -> Decision {
    decide_on(router, document, Some(date(1985, 3, 15)), TODAY)
}

fn keys(decision: &Decision) -> Vec<String> {
    decision.targets().iter().map(Target::key).collect()
}

// Tree semantics.

#[test]
fn without_routes_everything_goes_to_the_single_intake() {
    let settings = Settings::load_from(None, Vec::<(String, String)>::new()).unwrap();
    let router = Router::from_settings(&settings).unwrap();
    for document in [release("initial-parole"), offer("withdrawal"), jobcenter("appointment")] {
        let decision = decide(&router, &document);
        assert_eq!(decision.routes, ["default"]);
        assert_eq!(decision.teams, ["intake"]);
        assert!(decision.destinations.is_empty());
        assert_eq!(keys(&decision), ["mail:intake"]);
    }
}

#[test]
fn the_root_teams_can_come_from_the_environment() {
    let settings = Settings::load_from(
        None,
        [
            ("INDGANG__TEAMS__MODTAGELSE__NAME", "Modtagelsen"),
            ("INDGANG__TEAMS__MODTAGELSE__MAILBOX", "modtagelse@kommune.example"),
            ("INDGANG__TEAMS__MODTAGELSE__LEAD", "leder@kommune.example"),
            ("INDGANG__ROUTING__TEAMS", "intake, modtagelse"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let decision = decide(&Router::from_settings(&settings).unwrap(), &release("initial-parole"));
    assert_eq!(decision.teams, ["intake", "modtagelse"]);
    assert_eq!(keys(&decision), ["mail:intake", "mail:modtagelse"]);
}

#[test]
fn the_default_route_takes_what_no_route_matches() {
    let router = router(
        r#"
[[routing.routes]]
name = "addiction"
needs = ["addiction_treatment"]
teams = ["misbrug"]
"#,
    );
    let decision = decide(&router, &release("initial-parole"));
    assert_eq!(decision.routes, ["addiction"]);
    assert_eq!(decision.teams, ["misbrug"]);
    for document in [
        release("initial-consent-refused"),
        offer("offer-youth-housing"),
        jobcenter("case-closed"),
    ] {
        let decision = decide(&router, &document);
        assert_eq!(decision.routes, ["default"]);
        assert_eq!(decision.teams, ["intake"]);
    }
}

const TWO_SIBLINGS: &str = r#"
[[routing.routes]]
name = "addiction"
needs = ["addiction_treatment"]
teams = ["misbrug"]
destinations = ["case_system"]

[[routing.routes]]
name = "housing"
needs = ["housing"]
teams = ["bolig"]
destinations = ["housing_portal"]
"#;

#[test]
fn the_first_matching_route_takes_the_message() {
    let router = router(TWO_SIBLINGS);
    // initial-parole needs both housing and addiction treatment: the first route wins.
    let decision = decide(&router, &release("initial-parole"));
    assert_eq!(decision.routes, ["addiction"]);
    assert_eq!(decision.teams, ["misbrug"]);
    assert_eq!(decision.destinations, ["case_system"]);
    assert_eq!(keys(&decision), ["mail:misbrug", "case_system"]);
    // admission-sentence needs housing only: the second route.
    let decision = decide(&router, &release("admission-sentence"));
    assert_eq!(decision.routes, ["housing"]);
    assert_eq!(keys(&decision), ["mail:bolig", "housing_portal"]);
}

#[test]
fn continue_lets_later_siblings_match_too() {
    let router = router(&TWO_SIBLINGS.replacen("teams = [\"misbrug\"]", "teams = [\"misbrug\"]\ncontinue = true", 1));
    let decision = decide(&router, &release("initial-parole"));
    assert_eq!(decision.routes, ["addiction", "housing"]);
    assert_eq!(decision.teams, ["misbrug", "bolig"]);
    assert_eq!(decision.destinations, ["case_system", "housing_portal"]);
    assert_eq!(
        keys(&decision),
        ["mail:misbrug", "mail:bolig", "case_system", "housing_portal"]
    );
    // A message the continuing route does not match still goes to the next one alone.
    assert_eq!(decide(&router, &release("admission-sentence")).routes, ["housing"]);
    // Nothing matches: the default route.
    assert_eq!(decide(&router, &release("cancellation")).routes, ["default"]);
}

const NESTED: &str = r#"
[[routing.routes]]
name = "release"
kinds = ["release-notice"]
teams = ["misbrug"]
destinations = ["case_system"]

[[routing.routes.routes]]
name = "addiction"
needs = ["addiction_treatment"]

[[routing.routes.routes.routes]]
name = "addiction-young"
age_under = 30

[[routing.routes.routes]]
name = "refused"
fields = [{ path = "/consent", values = ["refused"] }]
teams = ["bolig"]

[[routing.routes]]
name = "housing-offers"
kinds = ["housing-offer"]
destinations = ["housing_portal"]
"#;

#[test]
fn child_routes_refine_their_parent() {
    let router = router(NESTED);
    // A child with no teams or destinations of its own has its parent's.
    let decision = decide(&router, &release("initial-parole"));
    assert_eq!(decision.routes, ["addiction"]);
    assert_eq!(decision.teams, ["misbrug"]);
    assert_eq!(decision.destinations, ["case_system"]);
    // A child with teams of its own does not inherit the parent's destinations.
    let decision = decide(&router, &release("initial-consent-refused"));
    assert_eq!(decision.routes, ["refused"]);
    assert_eq!(decision.teams, ["bolig"]);
    assert!(decision.destinations.is_empty());
    // No child matches: the parent is the result.
    let decision = decide(&router, &release("cancellation"));
    assert_eq!(decision.routes, ["release"]);
    assert_eq!(keys(&decision), ["mail:misbrug", "case_system"]);
    // The parent does not match: its children are never tried.
    let decision = decide(&router, &offer("offer-youth-housing"));
    assert_eq!(decision.routes, ["housing-offers"]);
    assert!(decision.teams.is_empty());
    assert_eq!(keys(&decision), ["housing_portal"]);
    assert_eq!(decide(&router, &jobcenter("appointment")).routes, ["default"]);
}

#[test]
fn inheritance_passes_through_generations() {
    let router = router(NESTED);
    let young = Some(date(2000, 1, 1));
    let decision = decide_on(&router, &release("initial-parole"), young, TODAY);
    assert_eq!(decision.routes, ["addiction-young"]);
    assert_eq!(decision.teams, ["misbrug"]);
    assert_eq!(decision.destinations, ["case_system"]);
}

#[test]
fn teams_and_destinations_are_named_once() {
    let router = router(
        r#"
[[routing.routes]]
name = "one"
kinds = ["release-notice"]
teams = ["misbrug", "intake"]
destinations = ["case_system"]
continue = true

[[routing.routes]]
name = "two"
municipalities = ["751"]
teams = ["intake", "misbrug", "bolig"]
destinations = ["case_system", "housing_portal"]
"#,
    );
    let decision = decide(&router, &release("initial-parole"));
    assert_eq!(decision.routes, ["one", "two"]);
    assert_eq!(decision.teams, ["misbrug", "intake", "bolig"]);
    assert_eq!(decision.destinations, ["case_system", "housing_portal"]);
    assert_eq!(
        keys(&decision),
        [
            "mail:misbrug",
            "mail:intake",
            "mail:bolig",
            "case_system",
            "housing_portal"
        ]
    );
}

#[test]
fn a_route_without_a_name_is_named_by_its_key() {
    let router = router(
        r#"
[[routing.routes]]
kinds = ["jobcenter-message"]
teams = ["bolig"]
"#,
    );
    assert_eq!(decide(&router, &jobcenter("appointment")).routes, ["routing.routes[0]"]);
}

#[test]
fn target_keys_read_back() {
    for target in [Target::Mailbox("intake".into()), Target::Webhook("case_system".into())] {
        assert_eq!(Target::parse(&target.key()), target);
    }
    assert_eq!(Target::Mailbox("misbrug".into()).key(), "mail:misbrug");
    assert_eq!(Target::Webhook("case_system".into()).key(), "case_system");
}

// Matchers.

/// Whether a single route with `matchers` takes `document` (given the birth date and day).
fn takes_on(matchers: &str, document: &Value, birth_date: Option<Date>, on: Date) -> bool {
    let router = router(&format!(
        "[[routing.routes]]\nname = \"hit\"\nteams = [\"misbrug\"]\n{matchers}\n"
    ));
    let decision = decide_on(&router, document, birth_date, on);
    match decision.routes.as_slice() {
        [hit] if hit == "hit" => {
            assert_eq!(decision.teams, ["misbrug"]);
            true
        }
        [default] if default == "default" => {
            assert_eq!(decision.teams, ["intake"]);
            false
        }
        other => panic!("unexpected routes {other:?}"),
    }
}

fn takes(matchers: &str, document: &Value) -> bool {
    takes_on(matchers, document, Some(date(1985, 3, 15)), TODAY)
}

#[test]
fn kinds_matcher() {
    let m = r#"kinds = ["housing-offer", "jobcenter-message"]"#;
    assert!(takes(m, &offer("withdrawal")));
    assert!(takes(m, &jobcenter("case-closed")));
    assert!(!takes(m, &release("initial-parole")));
}

#[test]
fn municipalities_matcher() {
    let m = r#"municipalities = ["751", "461"]"#;
    assert!(takes(m, &release("initial-parole")));
    assert!(takes(m, &release("transfer-to-open-prison")));
    assert!(takes(m, &jobcenter("appointment")));
    assert!(!takes(m, &release("initial-consent-refused")));
    assert!(!takes(m, &offer("withdrawal")));
    // The environment's comma-separated form works too.
    assert!(takes(
        r#"municipalities = "101, 730""#,
        &release("update-release-on-friday")
    ));
}

#[test]
fn senders_matcher() {
    let m = r#"senders = ["jobcenter-aarhus"]"#;
    assert!(takes(m, &jobcenter("appointment")));
    assert!(!takes(m, &release("initial-parole")));
    assert!(!takes(m, &offer("withdrawal")));
}

#[test]
fn notice_types_matcher() {
    let m = r#"notice_types = ["update", "transfer"]"#;
    assert!(takes(m, &release("update-release-on-friday")));
    assert!(takes(m, &release("transfer-to-open-prison")));
    assert!(!takes(m, &release("initial-parole")));
    assert!(!takes(m, &jobcenter("appointment")));
}

#[test]
fn custody_matcher() {
    let m = r#"custody = ["remand", "arrest"]"#;
    let mut notice = release("initial-parole");
    assert_eq!(notice["custody"]["type"], "sentence");
    assert!(!takes(m, &notice));
    notice["custody"]["type"] = "remand".into();
    assert!(takes(m, &notice));
    assert!(takes(r#"custody = "sentence""#, &release("initial-parole")));
}

#[test]
fn needs_matcher_looks_for_any_listed_need() {
    let m = r#"needs = ["mental_health", "physical_health"]"#;
    assert!(takes(m, &release("update-release-on-friday")));
    assert!(!takes(m, &release("initial-parole")));
    // A notice without needs.
    assert!(release("cancellation").get("needs").is_none());
    assert!(!takes(m, &release("cancellation")));
    assert!(takes(r#"needs = ["addiction_treatment"]"#, &release("initial-parole")));
    let mut notice = release("initial-parole");
    notice["needs"] = serde_json::json!([]);
    assert!(!takes(r#"needs = ["addiction_treatment"]"#, &notice));
}

#[test]
fn offer_types_matcher() {
    let m = r#"offer_types = ["withdrawal"]"#;
    assert!(takes(m, &offer("withdrawal")));
    assert!(!takes(m, &offer("offer-youth-housing")));
    assert!(!takes(m, &release("initial-parole")));
}

#[test]
fn message_types_matcher() {
    let m = r#"message_types = ["appointment", "appointment_cancelled"]"#;
    assert!(takes(m, &jobcenter("appointment")));
    assert!(takes(m, &jobcenter("appointment-cancelled")));
    assert!(!takes(m, &jobcenter("benefit-decision-granted")));
    assert!(!takes(m, &offer("withdrawal")));
}

#[test]
fn field_matcher_on_a_text_member() {
    let m = r#"fields = [{ path = "/consent", values = ["given"] }]"#;
    assert!(takes(m, &release("initial-parole")));
    assert!(!takes(m, &release("initial-consent-refused")));
    assert!(!takes(m, &offer("offer-youth-housing")));
    let nested = r#"fields = [{ path = "/dwelling/kind", values = ["youth_housing", "skaev_bolig"] }]"#;
    assert!(takes(nested, &offer("offer-youth-housing")));
    assert!(takes(nested, &offer("vacant-skaev-bolig")));
    assert!(!takes(nested, &offer("offer-named-citizen-dogs-allowed")));
    assert!(!takes(nested, &offer("withdrawal")));
}

#[test]
fn field_matcher_on_a_boolean_member() {
    let m = r#"fields = [{ path = "/cover_letter", values = ["true"] }]"#;
    assert_eq!(release("initial-parole")["cover_letter"], true);
    assert!(takes(m, &release("initial-parole")));
    assert_eq!(release("admission-sentence")["cover_letter"], false);
    assert!(!takes(m, &release("admission-sentence")));
    assert!(release("cancellation").get("cover_letter").is_none());
    assert!(!takes(m, &release("cancellation")));
    let mut notice = release("initial-parole");
    notice["cover_letter"] = Value::Null;
    assert!(!takes(m, &notice));
    assert!(takes(
        r#"fields = [{ path = "/cover_letter", values = ["false"] }]"#,
        &release("admission-sentence")
    ));
}

#[test]
fn field_matcher_on_a_number_member() {
    let m = r#"fields = [{ path = "/custody/sentence_length_days", values = ["730"] }]"#;
    assert_eq!(release("initial-parole")["custody"]["sentence_length_days"], 730);
    assert!(takes(m, &release("initial-parole")));
    let mut notice = release("initial-parole");
    notice["custody"]["sentence_length_days"] = 731.into();
    assert!(!takes(m, &notice));
}

#[test]
fn every_matcher_of_a_route_must_hold() {
    let m = r#"
municipalities = ["751"]
needs = ["housing"]
fields = [{ path = "/consent", values = ["given"] }]
"#;
    assert!(takes(m, &release("initial-parole")));
    // Needs housing and consented, but from 101.
    assert!(!takes(m, &release("initial-consent-refused")));
    let mut notice = release("initial-parole");
    notice["consent"] = "not_asked".into();
    assert!(!takes(m, &notice));
    // From 751, but has no needs.
    assert!(!takes(m, &jobcenter("appointment")));
}

#[test]
fn age_under_counts_whole_years_to_the_day() {
    let m = "age_under = 25";
    let parole = release("initial-parole");
    let birth = Some(date(2001, 3, 10));
    assert!(
        takes_on(m, &parole, birth, date(2026, 3, 9)),
        "the day before the 25th birthday"
    );
    assert!(!takes_on(m, &parole, birth, date(2026, 3, 10)), "on the 25th birthday");
    assert!(!takes_on(m, &parole, birth, date(2026, 3, 11)));
    // Month earlier but day later still counts by month first.
    assert!(takes_on(m, &parole, birth, date(2026, 2, 28)));
    assert!(!takes_on(m, &parole, birth, date(2026, 4, 1)));
    // No birth date (a vacant dwelling): no age matcher holds.
    assert!(!takes_on(m, &offer("vacant-skaev-bolig"), None, date(2026, 3, 9)));
}

#[test]
fn age_at_least_counts_whole_years_to_the_day() {
    let m = "age_at_least = 25";
    let parole = release("initial-parole");
    let birth = Some(date(2001, 3, 10));
    assert!(
        !takes_on(m, &parole, birth, date(2026, 3, 9)),
        "the day before the 25th birthday"
    );
    assert!(takes_on(m, &parole, birth, date(2026, 3, 10)), "on the 25th birthday");
    assert!(takes_on(m, &parole, birth, date(2027, 1, 1)));
    assert!(!takes_on(m, &offer("vacant-skaev-bolig"), None, date(2030, 1, 1)));
}

#[test]
fn an_age_band() {
    let m = "age_at_least = 18\nage_under = 30";
    let parole = release("initial-parole");
    let on = date(2026, 10, 14);
    assert!(!takes_on(m, &parole, Some(date(2008, 10, 15)), on), "17");
    assert!(takes_on(m, &parole, Some(date(2008, 10, 14)), on), "18 today");
    assert!(takes_on(m, &parole, Some(date(1996, 10, 15)), on), "29");
    assert!(!takes_on(m, &parole, Some(date(1996, 10, 14)), on), "30 today");
}

#[test]
fn age_of_someone_born_on_a_leap_day() {
    assert_eq!(age(date(2004, 2, 29), date(2022, 2, 28)), 17);
    assert_eq!(age(date(2004, 2, 29), date(2022, 3, 1)), 18);
    assert_eq!(age(date(2004, 2, 29), date(2024, 2, 29)), 20);
}

// Configurations that stop the start.

#[test]
fn an_unknown_team_stops_the_start() {
    assert_error(
        "[[routing.routes]]\nkinds = [\"release-notice\"]\nteams = [\"misbrugg\"]\n",
        &[],
        &["routing.routes[0].teams", "\"misbrugg\"", "bolig, intake, misbrug"],
    );
    assert_error(
        "",
        &[("INDGANG__ROUTING__TEAMS", "nobody")],
        &["routing.teams", "unknown team \"nobody\""],
    );
}

#[test]
fn an_unknown_destination_stops_the_start() {
    assert_error(
        "[[routing.routes]]\nkinds = [\"release-notice\"]\ndestinations = [\"esdh\"]\n",
        &[],
        &[
            "routing.routes[0].destinations",
            "\"esdh\"",
            "case_system, housing_portal",
        ],
    );
}

#[test]
fn a_kind_that_does_not_exist_stops_the_start() {
    assert_error(
        "[[routing.routes]]\nkinds = [\"release-notice\", \"release-notices\"]\nteams = [\"misbrug\"]\n",
        &[],
        &["routing.routes[0].kinds", "\"release-notices\" is not a kind"],
    );
}

#[test]
fn a_value_outside_the_schema_stops_the_start() {
    assert_error(
        "[[routing.routes]]\nneeds = [\"housing\", \"addiction\"]\nteams = [\"misbrug\"]\n",
        &[],
        &["routing.routes[0].needs", "\"addiction\"", "addiction_treatment"],
    );
    assert_error(
        "[[routing.routes]]\ncustody = [\"prison\"]\nteams = [\"misbrug\"]\n",
        &[],
        &["routing.routes[0].custody", "\"prison\"", "/custody/type"],
    );
    assert_error(
        "[[routing.routes]]\nmessage_types = [\"appointments\"]\nteams = [\"misbrug\"]\n",
        &[],
        &["routing.routes[0].message_types", "\"appointments\""],
    );
    assert_error(
        "[[routing.routes]]\nfields = [{ path = \"/cover_letter\", values = [\"yes\"] }]\nteams = [\"misbrug\"]\n",
        &[],
        &["routing.routes[0].fields[0]", "\"yes\"", "true, false"],
    );
}

#[test]
fn a_field_no_kind_has_stops_the_start() {
    assert_error(
        r#"
[[routing.routes]]
name = "consenting"
teams = ["misbrug"]
fields = [{ path = "/consent", values = ["given"] }, { path = "/custody/kind", values = ["x"] }]
"#,
        &[],
        &[
            "routing.routes[0].fields[1]",
            "no kind of message has a member /custody/kind",
        ],
    );
    assert_error(
        "[[routing.routes]]\nfields = [{ path = \"consent\", values = [\"given\"] }]\nteams = [\"misbrug\"]\n",
        &[],
        &["routing.routes[0].fields[0]", "not a JSON pointer"],
    );
}

#[test]
fn routing_on_the_citizen_stops_the_start() {
    for path in ["/citizen/cpr", "/citizen/name", "/citizen"] {
        assert_error(
            &format!(
                "[[routing.routes]]\nfields = [{{ path = \"{path}\", values = [\"x\"] }}]\nteams = [\"misbrug\"]\n"
            ),
            &[],
            &["routing.routes[0].fields[0]", "citizen's personal data is not allowed"],
        );
    }
}

#[test]
fn a_field_matcher_that_can_never_match_stops_the_start() {
    // An object has no value of its own.
    assert_error(
        "[[routing.routes]]\nfields = [{ path = \"/custody\", values = [\"sentence\"] }]\nteams = [\"misbrug\"]\n",
        &[],
        &["routing.routes[0].fields[0]", "/custody is an object"],
    );
    // No values at all.
    assert_error(
        "[[routing.routes]]\nfields = [{ path = \"/consent\", values = [] }]\nteams = [\"misbrug\"]\n",
        &[],
        &["routing.routes[0].fields[0]", "can never match"],
    );
}

#[test]
fn a_municipality_not_served_stops_the_start() {
    let routes = "[[routing.routes]]\nmunicipalities = [\"101\"]\nteams = [\"misbrug\"]\n";
    assert_error(
        routes,
        &[("INDGANG__MUNICIPALITIES", "751")],
        &[
            "routing.routes[0].municipalities",
            "101 is not among the municipalities this gateway serves",
        ],
    );
    assert!(load(routes, &[("INDGANG__MUNICIPALITIES", "751,101")]).is_ok());
    assert_error(
        "[[routing.routes]]\nmunicipalities = [\"999\"]\nteams = [\"misbrug\"]\n",
        &[],
        &["routing.routes[0].municipalities", "\"999\""],
    );
}

#[test]
fn fields_of_two_kinds_in_one_route_stop_the_start() {
    assert_error(
        r#"
[[routing.routes]]
kinds = ["release-notice"]
teams = ["misbrug"]

[[routing.routes]]
name = "impossible"
needs = ["housing"]
offer_types = ["offer"]
teams = ["bolig"]
"#,
        &[],
        &["routing.routes[1]", "can never match"],
    );
    assert_error(
        "[[routing.routes]]\nkinds = [\"housing-offer\"]\nneeds = [\"housing\"]\nteams = [\"bolig\"]\n",
        &[],
        &["routing.routes[0]", "can never match"],
    );
}

#[test]
fn a_child_outside_its_parent_stops_the_start() {
    assert_error(
        r#"
[[routing.routes]]
kinds = ["release-notice"]
teams = ["misbrug"]

[[routing.routes.routes]]
offer_types = ["offer"]
"#,
        &[],
        &["routing.routes[0].routes[0]", "can never match"],
    );
    assert_error(
        r#"
[[routing.routes]]
municipalities = ["751"]
teams = ["misbrug"]

[[routing.routes.routes]]
municipalities = ["101"]
"#,
        &[],
        &[
            "routing.routes[0].routes[0]",
            "can never match",
            "none of its municipalities",
        ],
    );
    // The wrong key deep in the tree is named in full.
    assert_error(
        r#"
[[routing.routes]]
kinds = ["release-notice"]
teams = ["misbrug"]

[[routing.routes.routes]]
needs = ["housing"]

[[routing.routes.routes]]
needs = ["employment"]
teams = ["nobody"]
"#,
        &[],
        &["routing.routes[0].routes[1].teams", "\"nobody\""],
    );
}

#[test]
fn a_route_after_a_catch_all_sibling_stops_the_start() {
    let routes = r#"
[[routing.routes]]
name = "everything"
teams = ["misbrug"]

[[routing.routes]]
name = "addiction"
needs = ["addiction_treatment"]
teams = ["bolig"]
"#;
    assert_error(
        routes,
        &[],
        &[
            "routing.routes[1] (\"addiction\") can never match",
            "routing.routes[0] (\"everything\")",
        ],
    );
    // With continue = true on the catch-all the later route is reachable.
    let router = router(&routes.replacen("teams = [\"misbrug\"]", "teams = [\"misbrug\"]\ncontinue = true", 1));
    assert_eq!(
        decide(&router, &release("initial-parole")).routes,
        ["everything", "addiction"]
    );
    assert_eq!(decide(&router, &offer("withdrawal")).routes, ["everything"]);
}

#[test]
fn a_route_after_a_wider_sibling_stops_the_start() {
    let wider_first = r#"
[[routing.routes]]
name = "wide"
kinds = ["release-notice", "housing-offer"]
teams = ["misbrug"]

[[routing.routes]]
name = "narrow"
kinds = ["release-notice"]
municipalities = ["751"]
teams = ["bolig"]
"#;
    assert_error(
        wider_first,
        &[],
        &[
            "routing.routes[1] (\"narrow\") can never match",
            "routing.routes[0] (\"wide\")",
        ],
    );
    // Narrow first is fine.
    let router = router(
        r#"
[[routing.routes]]
name = "narrow"
kinds = ["release-notice"]
municipalities = ["751"]
teams = ["bolig"]

[[routing.routes]]
name = "wide"
kinds = ["release-notice", "housing-offer"]
teams = ["misbrug"]
"#,
    );
    assert_eq!(decide(&router, &release("initial-parole")).routes, ["narrow"]);
    assert_eq!(decide(&router, &release("cancellation")).routes, ["wide"]);
    // So is a wider sibling that lets messages through.
    router_ok(&wider_first.replacen("teams = [\"misbrug\"]", "teams = [\"misbrug\"]\ncontinue = true", 1));
    // Shadowing by values and ages is found too.
    assert_error(
        r#"
[[routing.routes]]
needs = ["housing", "employment"]
age_under = 30
teams = ["misbrug"]

[[routing.routes]]
needs = ["housing"]
age_under = 25
teams = ["bolig"]
"#,
        &[],
        &["routing.routes[1]", "can never match", "routing.routes[0]"],
    );
    // Overlapping but not contained: accepted.
    router_ok(
        r#"
[[routing.routes]]
needs = ["housing"]
teams = ["misbrug"]

[[routing.routes]]
needs = ["housing", "employment"]
teams = ["bolig"]
"#,
    );
}

fn router_ok(routes: &str) {
    if let Err(e) = load(routes, &[]) {
        panic!("{e:#}\n{routes}");
    }
}

#[test]
fn an_empty_age_band_stops_the_start() {
    assert_error(
        "[[routing.routes]]\nage_at_least = 30\nage_under = 30\nteams = [\"misbrug\"]\n",
        &[],
        &["routing.routes[0]", "can never match", "at least 30 and under 30"],
    );
    assert_error(
        "[[routing.routes]]\nage_at_least = 40\nage_under = 30\nteams = [\"misbrug\"]\n",
        &[],
        &["routing.routes[0]", "can never match"],
    );
    assert_error(
        "[[routing.routes]]\nage_under = 0\nteams = [\"misbrug\"]\n",
        &[],
        &["routing.routes[0].age_under", "between 1 and 150"],
    );
    router_ok("[[routing.routes]]\nage_at_least = 29\nage_under = 30\nteams = [\"misbrug\"]\n");
}

#[test]
fn matchers_on_the_root_stop_the_start() {
    assert_error(
        "",
        &[("INDGANG__ROUTING__KINDS", "release-notice")],
        &["routing:", "root"],
    );
    assert_error("[routing]\nneeds = [\"housing\"]\n", &[], &["routing:", "root"]);
    assert_error("[routing]\ncontinue = true\n", &[], &["routing:", "root"]);
    assert_error(
        "",
        &[("INDGANG__ROUTING__TEAMS", "")],
        &["routing:", "at least one team or destination"],
    );
}
