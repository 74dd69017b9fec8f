//! The binary's commands as an operator runs them.

use crate::helpers::examples_dir;
use std::process::{Command, Output};

fn indgang(data_dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_indgang"));
    command
        .args(args)
        .env("INDGANG__DATA_DIR", data_dir)
        .envs(crate::backend::storage_env(std::path::Path::new(&data_dir)))
        .env_remove("RUST_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_config_accepts_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let output = indgang(dir.path(), &["check-config"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("configuration OK"));
    assert!(text(&output.stdout).contains("127.0.0.1:8080"));
    assert!(text(&output.stdout).contains("digest           07:30 on working days"));
}

#[test]
fn a_bad_value_is_refused_naming_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("INDGANG__SERVER__BIND", "not-an-address", "server.bind"),
        ("INDGANG__LIMITS__MAX_BODY_BYTES", "lots", "limits.max_body_bytes"),
        ("INDGANG__LIMITS__MAX_BODY_BYTES", "10", "limits.max_body_bytes"),
        ("INDGANG__MUNICIPALITIES", "751,411", "municipalities"),
        ("INDGANG__STORAGE__URL", "mysql://db", "storage.url"),
        ("INDGANG__LOG__FORMAT", "xml", "log.format"),
        ("INDGANG__SECURITY__KEY", "not-base64!", "security.key"),
        ("INDGANG__ALERTS__GROUP_WINDOW", "soon", "alerts.group_window"),
        ("INDGANG__ALERTS__GROUP_WINDOW", "2h", "alerts.group_window"),
        ("INDGANG__STORAGE__COMMIT_INTERVAL", "soon", "storage.commit_interval"),
        ("INDGANG__STORAGE__COMMIT_INTERVAL", "1s", "storage.commit_interval"),
        ("INDGANG__ALERTS__GROUP_MAX", "0", "alerts.group_max"),
        (
            "INDGANG__MATCHING__ANSWER_DESTINATION",
            "nowhere",
            "matching.answer_destination",
        ),
        ("INDGANG__ALERTS__DIGEST_AT", "25:00", "alerts.digest_at"),
        (
            "INDGANG__ALERTS__DIGEST_WORKING_DAYS",
            "-1",
            "alerts.digest_working_days",
        ),
    ];
    for (key, value, named) in cases {
        let output = indgang(dir.path(), &["check-config"], &[(key, value)]);
        assert!(!output.status.success(), "{key}={value} was accepted");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(named), "{key}={value}: {stderr}");
    }
}

#[test]
fn a_config_file_is_layered_under_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("indgang.toml");
    std::fs::write(
        &file,
        "[server]\nbind = \"127.0.0.1:9999\"\n[limits]\nmax_body_bytes = 4096\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();

    let from_file = indgang(dir.path(), &["--config", path, "check-config"], &[]);
    assert!(text(&from_file.stdout).contains("127.0.0.1:9999"));
    let env_wins = indgang(
        dir.path(),
        &["--config", path, "check-config"],
        &[("INDGANG__SERVER__BIND", "0.0.0.0:7000")],
    );
    assert!(text(&env_wins.stdout).contains("0.0.0.0:7000"));

    std::fs::write(&file, "[server]\nbnid = \"127.0.0.1:9999\"\n").unwrap();
    let typo = indgang(dir.path(), &["--config", path, "check-config"], &[]);
    assert!(!typo.status.success());
    assert!(text(&typo.stderr).contains("bnid"), "{}", text(&typo.stderr));

    let missing = indgang(
        dir.path(),
        &["--config", "/nonexistent/indgang.toml", "check-config"],
        &[],
    );
    assert!(!missing.status.success());
}

#[test]
fn validate_applies_the_servers_rules_offline() {
    let dir = tempfile::tempdir().unwrap();
    let examples = examples_dir();
    let valid = examples.join("release-notice/valid/initial-parole.json");
    let friday = examples.join("release-notice/valid/update-release-on-friday.json");
    let invalid = examples.join("release-notice/invalid/cpr-31-february.json");
    let schema_fault = examples.join("housing-offer/invalid/missing-dogs-allowed.json");

    let ok = indgang(
        dir.path(),
        &["validate", valid.to_str().unwrap(), friday.to_str().unwrap()],
        &[],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stdout));
    assert!(text(&ok.stdout).contains("release_on_friday"));

    let bad = indgang(
        dir.path(),
        &[
            "validate",
            valid.to_str().unwrap(),
            invalid.to_str().unwrap(),
            schema_fault.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(1));
    let out = text(&bad.stdout);
    assert!(
        out.contains("/citizen/cpr") && out.contains("/dwelling/dogs_allowed"),
        "{out}"
    );

    let unreadable = indgang(
        dir.path(),
        &["validate", valid.to_str().unwrap(), "/nonexistent.json"],
        &[],
    );
    assert_eq!(unreadable.status.code(), Some(2));

    let json = indgang(
        dir.path(),
        &["validate", "--output", "json", invalid.to_str().unwrap()],
        &[],
    );
    let verdict: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(verdict["valid"], false);
    assert_eq!(verdict["kind"], "release-notice");
    assert_eq!(verdict["violations"][0]["pointer"], "/citizen/cpr");

    let wrong_kind = indgang(
        dir.path(),
        &["validate", "--kind", "housing-offer", valid.to_str().unwrap()],
        &[],
    );
    assert_eq!(wrong_kind.status.code(), Some(1));

    let not_served = indgang(
        dir.path(),
        &["validate", valid.to_str().unwrap()],
        &[("INDGANG__MUNICIPALITIES", "101")],
    );
    assert_eq!(
        not_served.status.code(),
        Some(1),
        "validate honours the served municipalities"
    );
}

#[test]
fn tokens_are_shown_once_listed_without_secrets_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let created = indgang(
        dir.path(),
        &[
            "token",
            "create",
            "--role",
            "sender",
            "--sender",
            "kif-horsens",
            "--kinds",
            "release-notice,housing-offer",
        ],
        &[],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let stdout = text(&created.stdout);
    let token = stdout.lines().last().unwrap();
    assert!(
        token.starts_with("igt_") && token.len() > 40,
        "the token alone on the last line: {stdout}"
    );
    let id = stdout.split_whitespace().nth(1).unwrap().to_owned();
    assert!(id.starts_with("tok_"));

    let caseworker = indgang(
        dir.path(),
        &[
            "token",
            "create",
            "--role",
            "caseworker",
            "--municipality",
            "751",
            "--team",
            "Hjemløsegruppen",
        ],
        &[],
    );
    assert!(caseworker.status.success());

    let listed = indgang(dir.path(), &["token", "list"], &[]);
    let list = text(&listed.stdout);
    assert!(list.contains(&id) && list.contains("Hjemløsegruppen"));
    assert!(!list.contains(token), "the list never shows a token");

    let revoked = indgang(dir.path(), &["token", "revoke", &id], &[]);
    assert!(revoked.status.success());
    assert!(text(&indgang(dir.path(), &["token", "list"], &[]).stdout).contains("revoked"));
    assert!(
        !indgang(dir.path(), &["token", "revoke", &id], &[]).status.success(),
        "revoking twice is an error"
    );

    for bad in [
        vec!["token", "create", "--role", "sender", "--kinds", "release-notice"],
        vec![
            "token", "create", "--role", "sender", "--sender", "kif", "--kinds", "letters",
        ],
        vec!["token", "create", "--role", "caseworker", "--municipality", "411"],
        vec!["token", "create", "--role", "caseworker"],
    ] {
        let output = indgang(dir.path(), &bad, &[]);
        assert!(!output.status.success(), "{bad:?} was accepted");
        assert!(!text(&output.stderr).is_empty());
    }
    let not_served = indgang(
        dir.path(),
        &["token", "create", "--role", "caseworker", "--municipality", "101"],
        &[("INDGANG__MUNICIPALITIES", "751")],
    );
    assert!(!not_served.status.success());
    assert!(
        text(&not_served.stderr).contains("not served"),
        "{}",
        text(&not_served.stderr)
    );
}

#[test]
fn serve_refuses_a_port_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = indgang(dir.path(), &["serve"], &[("INDGANG__SERVER__BIND", &address)]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "not a configuration error: the systemd unit restarts on 1"
    );
    assert!(text(&output.stderr).contains("server.bind"), "{}", text(&output.stderr));
}

#[test]
fn calendar_prints_a_years_closing_days_without_weekends() {
    let dir = tempfile::tempdir().unwrap();
    let output = indgang(dir.path(), &["calendar", "2026"], &[]);
    assert!(output.status.success());
    assert_eq!(
        text(&output.stdout),
        "2026-01-01\tnytårsdag\n2026-04-02\tskærtorsdag\n2026-04-03\tlangfredag\n2026-04-06\t2. påskedag\n\
         2026-05-14\tKristi himmelfartsdag\n2026-05-25\t2. pinsedag\n2026-06-05\tgrundlovsdag\n\
         2026-12-24\tjuleaftensdag\n2026-12-25\tjuledag\n2026-12-31\tnytårsaftensdag\n"
    );
    let bededag = indgang(dir.path(), &["calendar", "2023"], &[]);
    assert!(text(&bededag.stdout).contains("2023-05-05\tstore bededag"));
    assert!(!text(&indgang(dir.path(), &["calendar", "2024"], &[]).stdout).contains("bededag"));

    let own = indgang(
        dir.path(),
        &["calendar", "2026"],
        &[("INDGANG__CALENDAR__EXTRA_CLOSING_DAYS", "2026-07-10 sommerlukket")],
    );
    let own = text(&own.stdout);
    assert!(own.contains("2026-07-10\tsommerlukket") && !own.contains("grundlovsdag"));

    let bad = indgang(
        dir.path(),
        &["calendar", "2026"],
        &[("INDGANG__CALENDAR__EXTRA_CLOSING_DAYS", "13-01 x")],
    );
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("calendar.extra_closing_days[0]"),
        "{}",
        text(&bad.stderr)
    );
    let late = indgang(
        dir.path(),
        &["check-config"],
        &[("INDGANG__CALENDAR__DEADLINE_TIME", "late")],
    );
    assert!(text(&late.stderr).contains("calendar.deadline_time"));
    assert!(!indgang(dir.path(), &["calendar", "1899"], &[]).status.success());
}

#[test]
fn routes_test_shows_where_a_message_would_go() {
    let dir = tempfile::tempdir().unwrap();
    let notice = examples_dir().join("release-notice/valid/initial-parole.json");
    let output = indgang(dir.path(), &["routes", "test", notice.to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("routes        default"), "{stdout}");
    assert!(stdout.contains("deliveries    mail:intake"), "{stdout}");
    assert!(!stdout.contains("150385"), "no CPR number in the output");

    let config = dir.path().join("routes.toml");
    std::fs::write(
        &config,
        "[teams.misbrug]\nname = \"Misbrugscenteret\"\nmailbox = \"misbrug@kommune.example\"\nlead = \"leder@kommune.example\"\n\
         [[routing.routes]]\nname = \"addiction\"\nneeds = [\"addiction_treatment\"]\nteams = [\"misbrug\"]\n",
    )
    .unwrap();
    let output = indgang(
        dir.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "routes",
            "test",
            "--json",
            notice.to_str().unwrap(),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["routes"], serde_json::json!(["addiction"]));
    assert_eq!(answer["deliveries"], serde_json::json!(["mail:misbrug"]));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing was stored or sent"
    );
}

#[test]
fn a_route_to_an_unknown_team_or_destination_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    for (key, value, named) in [
        (
            "INDGANG__ROUTING__TEAMS",
            "nobody",
            "routing.teams: unknown team \"nobody\"",
        ),
        (
            "INDGANG__ROUTING__DESTINATIONS",
            "esdh",
            "routing.destinations: unknown destination \"esdh\"",
        ),
        (
            "INDGANG__DELIVERY__RETRY_SCHEDULE",
            "5s,soon",
            "delivery.retry_schedule[1]",
        ),
        (
            "INDGANG__TEAMS__INTAKE__MAILBOX",
            "not an address",
            "teams.intake.mailbox",
        ),
        ("INDGANG__SMTP__URL", "http://mail.example", "smtp.url"),
    ] {
        let output = indgang(
            dir.path(),
            &["serve"],
            &[(key, value), ("INDGANG__SERVER__BIND", "127.0.0.1:0")],
        );
        assert_eq!(output.status.code(), Some(2), "{key}={value} was accepted");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(named), "{key}={value}: {stderr}");
    }
    let webhook = [
        ("INDGANG__DESTINATIONS__ESDH__TYPE", "webhook"),
        ("INDGANG__DESTINATIONS__ESDH__URL", "http://esdh.kommune.example/events"),
        (
            "INDGANG__DESTINATIONS__ESDH__SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
    ];
    let output = indgang(dir.path(), &["check-config"], &webhook);
    assert!(
        text(&output.stderr).contains("destinations.esdh.url") && text(&output.stderr).contains("use https"),
        "{}",
        text(&output.stderr)
    );
}

#[tokio::test]
async fn replay_puts_dead_letters_back_from_the_command_line() {
    let receiver = crate::receiver::Receiver::start().await;
    receiver.script([crate::receiver::Reply::status(422)]);
    let settings = receiver.settings();
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = crate::helpers::spawn_app_with(&env).await;
    let token = app.prison_token().await;
    let receipt = app
        .accept(
            indgang::domain::Kind::ReleaseNotice,
            &token,
            &crate::helpers::release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    app.drain().await;
    let data_dir = app.data_dir.clone();
    let dir = app.stop().await.unwrap();
    let id = receipt["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == "case_system")
        .unwrap()["delivery_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let refused = indgang(&data_dir, &["replay"], &[]);
    assert!(!refused.status.success(), "replay without a selection does nothing");
    let output = indgang(&data_dir, &["replay", "--destination", "case_system"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), id);

    let state = crate::backend::first_row(
        &data_dir,
        "SELECT state FROM deliveries WHERE delivery_id = ?1",
        "SELECT state FROM deliveries WHERE delivery_id = $1",
        &[&id],
    )
    .remove(0);
    assert_eq!(state, "pending");
    drop(dir);
}

#[test]
fn validate_reads_the_partners_xml_with_the_gateways_adapters() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("adapters");
    let valid = root.join("kriminalforsorgen/samples/valid/initial-parole.xml");
    let envelope = root.join("jobcenter/samples/valid/appointment-default-namespace.xml");
    let output = indgang(
        dir.path(),
        &["validate", valid.to_str().unwrap(), envelope.to_str().unwrap()],
        &[],
    );
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("valid release-notice"));
    assert!(text(&output.stdout).contains("valid jobcenter-message"));
    let doctype = root.join("jobcenter/samples/invalid/doctype-external-entity.xml");
    let output = indgang(dir.path(), &["validate", doctype.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stdout).contains("line "), "{}", text(&output.stdout));
}

#[test]
fn validate_checks_every_row_of_a_csv_batch() {
    let dir = tempfile::tempdir().unwrap();
    let csv = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("adapters/boligtildeling/samples/tilbud-lf-uden-bom.csv");
    let output = indgang(dir.path(), &["validate", csv.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(1), "one row is invalid");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("invalid housing-offer"), "{stdout}");
    assert!(stdout.contains("  line "), "every fault names its line: {stdout}");
    let forced = indgang(
        dir.path(),
        &["validate", "--format", "json", csv.to_str().unwrap()],
        &[],
    );
    assert!(
        text(&forced.stdout).contains("not well-formed JSON"),
        "--format picks the reader"
    );
}

// ---- The command line that behaves (issue 13, item 3) ----

fn boligtildeling(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("adapters/boligtildeling/samples")
        .join(name)
}

/// A CSV batch of the first `rows` data rows of `tilbud-lf-uden-bom.csv` (the fourth is rejected).
fn batch_of(dir: &std::path::Path, rows: &[usize]) -> std::path::PathBuf {
    let sample = std::fs::read_to_string(boligtildeling("tilbud-lf-uden-bom.csv")).unwrap();
    let lines: Vec<&str> = sample.lines().collect();
    let mut out = vec![lines[0], lines[1]];
    out.extend(rows.iter().map(|r| lines[1 + r]));
    let file = dir.join(format!("batch-{}.csv", rows.len()));
    std::fs::write(&file, out.join("\n") + "\n").unwrap();
    file
}

#[test]
fn a_closed_pipe_stops_a_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let example = examples_dir().join("release-notice/valid/initial-parole.json");
    let example = example.to_str().unwrap();
    let many: Vec<&str> = std::iter::repeat_n(example, 2000).collect();
    let csv = boligtildeling("tilbud-crlf-bom.csv");
    let commands: Vec<Vec<&str>> = vec![
        [vec!["validate"], many.clone()].concat(),
        [vec!["validate", "--json"], many.clone()].concat(),
        [vec!["routes", "test"], many.clone()].concat(),
        vec!["calendar", "2026"],
        vec!["check-config"],
        vec!["import", "--json", csv.to_str().unwrap()],
    ];
    for args in commands {
        let mut child = Command::new(env!("CARGO_BIN_EXE_indgang"))
            .args(&args)
            .env("INDGANG__DATA_DIR", dir.path())
            .envs(crate::backend::storage_env(std::path::Path::new(&dir.path())))
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -0`: whoever reads stops before the first line.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = text(&output.stderr);
        assert_ne!(output.status.code(), Some(101), "{}: {stderr}", args[0]);
        assert!(!stderr.contains("panicked"), "{}: {stderr}", args[0]);
        assert!(!stderr.contains("Broken pipe"), "{}: {stderr}", args[0]);
    }
}

/// Settings in the environment of one run.
type Env<'a> = &'a [(&'a str, &'a str)];

#[test]
fn every_command_exits_0_1_or_2_by_one_convention() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let examples = examples_dir();
    let valid = examples.join("release-notice/valid/initial-parole.json");
    let valid = valid.to_str().unwrap();
    let invalid = examples.join("release-notice/invalid/cpr-31-february.json");
    let invalid = invalid.to_str().unwrap();
    let good_batch = batch_of(data, &[1]);
    let good_batch = good_batch.to_str().unwrap();
    let mixed_batch = boligtildeling("tilbud-lf-uden-bom.csv");
    let mixed_batch = mixed_batch.to_str().unwrap();
    let no_header = boligtildeling("file-faults/ingen-header.csv");
    let no_header = no_header.to_str().unwrap();
    let bad_config: &[(&str, &str)] = &[("INDGANG__LIMITS__MAX_BODY_BYTES", "lots")];
    let cases: Vec<(Vec<&str>, Env, i32)> = vec![
        // Usage.
        (vec!["--help"], &[], 0),
        (vec!["frobnicate"], &[], 2),
        (vec!["validate"], &[], 2),
        (vec!["validate", "--kind", "letters", valid], &[], 2),
        // Configuration.
        (vec!["check-config"], &[], 0),
        (vec!["check-config"], bad_config, 2),
        (vec!["validate", valid], bad_config, 2),
        (vec!["token", "list"], bad_config, 2),
        (vec!["calendar", "2026"], &[], 0),
        (vec!["calendar", "1899"], &[], 2),
        // validate: valid, invalid, unreadable.
        (vec!["validate", valid], &[], 0),
        (vec!["validate", invalid], &[], 1),
        (vec!["validate", "/nonexistent.json"], &[], 2),
        // import: filed, rows rejected, a file that is no batch, unreadable, usage.
        (vec!["import", good_batch], &[], 0),
        (vec!["import", mixed_batch], &[], 1),
        (vec!["import", no_header], &[], 1),
        (vec!["import", "/nonexistent.csv"], &[], 2),
        (vec!["import", "--kind", "release-notice", good_batch], &[], 2),
        (vec!["import", "--sender", "Not An Id", good_batch], &[], 2),
        // routes test.
        (vec!["routes", "test", valid], &[], 0),
        (vec!["routes", "test", invalid], &[], 1),
        (vec!["routes", "test", "/nonexistent.json"], &[], 2),
        // report.
        (vec!["report", "teams"], &[], 0),
        (vec!["report", "municipalities", "--municipality", "751"], &[], 0),
        (vec!["report", "municipalities", "--municipality", "999"], &[], 2),
        (vec!["report", "teams", "--from", "jan"], &[], 2),
        (
            vec!["report", "teams", "--from", "2026-02-01", "--to", "2026-01-01"],
            &[],
            2,
        ),
        (vec!["report", "sales"], &[], 2),
        // token.
        (vec!["token", "create", "--role", "operator"], &[], 0),
        (
            vec!["token", "create", "--role", "sender", "--kinds", "release-notice"],
            &[],
            2,
        ),
        (
            vec!["token", "create", "--role", "caseworker", "--municipality", "999"],
            &[],
            2,
        ),
        (vec!["token", "revoke", "tok_000000000000"], &[], 1),
        (vec!["token", "list"], &[], 0),
        // replay.
        (vec!["replay"], &[], 2),
        (vec!["replay", "--since", "jan"], &[], 2),
        (vec!["replay", "--all"], &[], 0),
        (vec!["replay", "dlv_00000000000000000000000000000000"], &[], 1),
        (vec!["webhook-secret"], &[], 0),
        // audit.
        (vec!["audit", "verify"], &[], 0),
        (vec!["audit", "export", "--since", "jan"], &[], 2),
        (vec!["audit", "export"], &[], 0),
    ];
    let mut wrong = Vec::new();
    for (args, env, expected) in cases {
        let output = indgang(data, &args, env);
        if output.status.code() != Some(expected) {
            wrong.push(format!(
                "indgang {}: {:?}, not {expected}: {}",
                args.join(" "),
                output.status.code(),
                text(&output.stderr).trim()
            ));
        }
        let why = match expected {
            2 => text(&output.stderr),
            1 => text(&output.stderr) + &text(&output.stdout),
            _ => "-".to_owned(),
        };
        assert!(!why.trim().is_empty(), "indgang {} says why", args.join(" "));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn help_states_the_exit_codes_and_describes_every_argument() {
    let dir = tempfile::tempdir().unwrap();
    let help = text(&indgang(dir.path(), &["--help"], &[]).stdout);
    assert!(
        help.contains("Exit codes: 0 success; 1 the input was checked and found wanting"),
        "{help}"
    );
    fn walk(command: &clap::Command, path: String, missing: &mut Vec<String>) {
        if command.get_about().is_none() && !path.is_empty() {
            missing.push(format!("{path}: the command"));
        }
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            if arg.get_help().is_none() {
                missing.push(format!("{path}: {id}"));
            }
        }
        for sub in command.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            walk(sub, format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&indgang::cli::command(), String::new(), &mut missing);
    assert!(missing.is_empty(), "without a description:\n{}", missing.join("\n"));
}

#[test]
fn logs_go_to_standard_error_without_colour_codes_and_not_one_line_per_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = boligtildeling("tilbud-crlf-bom.csv");
    let quiet = indgang(dir.path(), &["import", csv.to_str().unwrap()], &[]);
    let stderr = text(&quiet.stderr);
    assert_eq!(
        stderr.lines().count(),
        1,
        "the rows go to the summary, not the log: {stderr}"
    );
    assert!(stderr.contains("rows were rejected"), "{stderr}");
    let output = Command::new(env!("CARGO_BIN_EXE_indgang"))
        .args(["import", csv.to_str().unwrap()])
        .env("INDGANG__DATA_DIR", dir.path().join("again"))
        .envs(crate::backend::storage_env(std::path::Path::new(
            &dir.path().join("again"),
        )))
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(stderr.lines().count() > 3, "RUST_LOG shows more: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colour codes in a pipe: {stderr}");
    assert!(!text(&output.stdout).contains("INFO"), "no log on standard output");
}

#[test]
fn every_machine_format_is_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let examples = examples_dir();
    let a = examples.join("release-notice/valid/initial-parole.json");
    let b = examples.join("release-notice/invalid/cpr-31-february.json");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let csv = boligtildeling("tilbud-lf-uden-bom.csv");
    let csv = csv.to_str().unwrap();
    let cases: Vec<(Vec<&str>, usize, &str)> = vec![
        (vec!["validate", "--json", a, b], 2, "file"),
        (vec!["validate", "--output", "json", a, b, csv], 3, "file"),
        (vec!["routes", "test", "--json", a, a], 2, "deliveries"),
        (vec!["import", "--json", csv], 4, "status"),
        (vec!["report", "institutions", "--format", "json"], 0, "sender_id"),
    ];
    for (args, lines, key) in cases {
        let output = indgang(dir.path(), &args, &[]);
        let stdout = text(&output.stdout);
        assert_eq!(stdout.lines().count(), lines, "{args:?}: one object a line: {stdout}");
        for line in stdout.lines() {
            let object: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{args:?}: {e}: {line}"));
            assert!(object.get(key).is_some(), "{args:?}: {line}");
        }
    }
    // A report's lines, one a line, once there is something to report.
    indgang(dir.path(), &["import", csv], &[]);
    let output = indgang(dir.path(), &["report", "teams", "--format", "json"], &[]);
    let stdout = text(&output.stdout);
    assert!(stdout.lines().count() >= 1, "{stdout}");
    for line in stdout.lines() {
        let object: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(object.get("team").is_some(), "{line}");
    }
}

#[test]
fn validate_and_import_name_a_fault_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let csv = boligtildeling("tilbud-crlf-bom.csv");
    let csv = csv.to_str().unwrap();
    let validated = text(&indgang(dir.path(), &["validate", csv], &[]).stdout);
    let imported = text(&indgang(dir.path(), &["import", csv], &[]).stdout);
    let fault = "line 7: ledig_fra: `31-11-2026` is not a date: write dd-mm-yyyy, e.g. 01-12-2026 [csv]";
    assert!(validated.contains(&format!("  {fault}\n")), "{validated}");
    assert!(imported.contains(&format!("{fault}\n")), "{imported}");
    assert!(!imported.contains("row 7"), "{imported}");
}

#[test]
fn counts_agree_in_number() {
    let dir = tempfile::tempdir().unwrap();
    let one_good = batch_of(dir.path(), &[1]);
    let output = indgang(dir.path(), &["import", one_good.to_str().unwrap()], &[]);
    assert!(
        text(&output.stdout).contains("1 row: 1 accepted, 0 already filed, 0 rejected"),
        "{}",
        text(&output.stdout)
    );
    let one_bad = batch_of(dir.path(), &[1, 4]);
    let output = indgang(dir.path(), &["import", one_bad.to_str().unwrap()], &[]);
    assert!(
        text(&output.stdout).contains("2 rows: 0 accepted, 1 already filed, 1 rejected"),
        "{}",
        text(&output.stdout)
    );
    assert_eq!(text(&output.stderr), "indgang: 1 row was rejected\n");
    let all = boligtildeling("tilbud-crlf-bom.csv");
    let output = indgang(dir.path(), &["import", all.to_str().unwrap()], &[]);
    assert_eq!(text(&output.stderr), "indgang: 7 rows were rejected\n");

    let invalid = examples_dir().join("release-notice/invalid/cpr-31-february.json");
    let output = indgang(dir.path(), &["routes", "test", invalid.to_str().unwrap()], &[]);
    assert!(text(&output.stderr).contains("(1 fault;"), "{}", text(&output.stderr));
    let output = indgang(dir.path(), &["replay", "--all"], &[]);
    assert_eq!(text(&output.stderr), "0 dead letters are back in the queue\n");
}

#[test]
fn check_config_prints_the_storage_as_it_is_written() {
    if crate::backend::sqlite_only("the default storage printed is the SQLite file, and this run sets a PostgreSQL URL")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = indgang(dir.path(), &["check-config"], &[]);
    let expected = format!("storage          sqlite:{}\n", dir.path().join("indgang.db").display());
    assert!(text(&output.stdout).contains(&expected), "{}", text(&output.stdout));
    let output = indgang(
        dir.path(),
        &["check-config"],
        &[("INDGANG__STORAGE__URL", "sqlite:///var/lib/indgang/indgang.db")],
    );
    assert!(
        text(&output.stdout).contains("storage          sqlite:/var/lib/indgang/indgang.db\n"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn token_list_is_aligned() {
    let dir = tempfile::tempdir().unwrap();
    crate::binary::prison_token(dir.path());
    crate::binary::token(
        dir.path(),
        &[
            "--role",
            "caseworker",
            "--municipality",
            "751",
            "--team",
            "Hjemløsegruppen",
        ],
    );
    let operator = crate::binary::cli(dir.path(), &["token", "create", "--role", "operator"]);
    let id = operator.split_whitespace().nth(1).unwrap();
    crate::binary::cli(dir.path(), &["token", "revoke", id]);
    let list = crate::binary::cli(dir.path(), &["token", "list"]);
    let lines: Vec<Vec<char>> = list.lines().map(|l| l.chars().collect()).collect();
    assert_eq!(lines.len(), 4, "{list}");
    let header: String = lines[0].iter().collect();
    for column in ["role", "created", "grants", "state"] {
        let at = header.find(column).unwrap();
        let at = header[..at].chars().count();
        for line in &lines[1..] {
            assert!(
                line[at - 1] == ' ' && line[at] != ' ',
                "{column} starts at column {at} on every line:\n{list}"
            );
        }
    }
}

#[test]
fn import_needs_no_kind() {
    let dir = tempfile::tempdir().unwrap();
    let one_good = batch_of(dir.path(), &[1]);
    let output = indgang(dir.path(), &["import", one_good.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

#[test]
fn serve_writes_no_colour_codes_when_its_output_is_no_terminal() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_indgang"))
        .arg("serve")
        .env("INDGANG__DATA_DIR", dir.path())
        .envs(crate::backend::storage_env(std::path::Path::new(&dir.path())))
        .env("INDGANG__SERVER__BIND", "127.0.0.1:0")
        .env("INDGANG__LOG__FORMAT", "pretty")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let serving = line.contains("indgang is serving");
        lines.push(line);
        if serving {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let log = lines.join("\n");
    assert!(log.contains("indgang is serving"), "{log}");
    assert!(!log.contains('\u{1b}'), "readable text, without colour codes: {log}");
}
