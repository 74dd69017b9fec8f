//! Every `console` example of README.md, run in order against a fresh gateway, its output
//! compared in shape with what the README shows, so that the README cannot drift from the code.
//!
//! How a session is replayed:
//! - `$ cargo run [-q] --release -- ARGS` runs the real binary with ARGS (in the repository's root,
//!   on the gateway's data folder); `$ curl …` is sent by a small curl (`-i`, `-s`, `-X`, `-H`,
//!   `-d`, `--data-binary [@FILE]`) to the gateway, `http://127.0.0.1:8080` standing for its
//!   address; `$ NAME=$(COMMAND | tail -n 1)` keeps the last line; `$ NAME=VALUE` keeps VALUE,
//!   or, when VALUE is the last line the README shows for the command before (a token copied by
//!   hand), the last line that command really printed. `$NAME` and `"$NAME"` are expanded.
//! - Between two commands the gateway's clock moves on five minutes and its queue is drained, as
//!   when a person types them; the gateway has a case-system webhook, `case_system`, that refuses
//!   the first two events (`400`), so the dead-letter examples have a dead letter to show.
//! - The shape is compared, not ids and times: the status line and header names of `curl -i`;
//!   of JSON the members (all of them, or at least those shown where the README elides with `…`),
//!   the types of the values and every string without a digit (states, kinds, names); of text the
//!   words, a word with a digit standing for any such word. Each element the README shows in an
//!   array must match an element of the real one. An id the README shows (a receipt, a delivery)
//!   stands, in later commands, for the id it matched.
//! - A command the README shows no output for is run, not compared.

use crate::helpers::{TestApp, spawn_app_in};
use crate::receiver::{Receiver, Reply};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

struct Step {
    /// The README's line of the `$`, 1-based.
    line: usize,
    command: String,
    output: Vec<String>,
}

fn steps(readme: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut in_console = false;
    let mut lines = readme.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        if !in_console {
            in_console = line.trim() == "```console";
            continue;
        }
        if line.trim() == "```" {
            in_console = false;
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            let mut command = command.to_owned();
            while command.ends_with('\\') {
                command.pop();
                let (_, next) = lines.next().expect("a continued command goes on");
                command.push(' ');
                command.push_str(next.trim());
            }
            steps.push(Step {
                line: i + 1,
                command,
                output: Vec::new(),
            });
        } else {
            let step = steps.last_mut().expect("output follows a command");
            step.output.push(line.to_owned());
        }
    }
    steps
}

/// Splits a command into words as a shell does, for what the README uses: quotes and `$NAME`.
fn words(command: &str, vars: &HashMap<String, String>) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut started = false;
    let mut chars = command.chars().peekable();
    let expand = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, word: &mut String| {
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        word.push_str(vars.get(&name).unwrap_or_else(|| panic!("${name} is not set")));
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            '\'' => {
                started = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                started = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '$' => expand(&mut chars, &mut word),
                        c => word.push(c),
                    }
                }
            }
            '$' => {
                started = true;
                expand(&mut chars, &mut word);
            }
            c => {
                started = true;
                word.push(c);
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `cargo run [-q] --release -- ARGS` or `indgang ARGS`: the real binary, in `folder`.
fn binary(data_dir: &Path, folder: &Path, words: &[String]) -> Vec<String> {
    let args = match words[0].as_str() {
        "indgang" => &words[1..],
        _ => words
            .iter()
            .position(|w| w == "--")
            .map(|at| &words[at + 1..])
            .expect("cargo run … -- ARGS"),
    };
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_indgang"))
        .args(args)
        .current_dir(folder)
        .env("INDGANG__DATA_DIR", data_dir)
        .envs(crate::backend::storage_env(std::path::Path::new(&data_dir)))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The curl of the README's examples.
async fn curl(app: &TestApp, words: &[String]) -> Vec<String> {
    let mut include = false;
    let mut method = None;
    let mut headers = Vec::new();
    let mut body = None;
    let mut url = None;
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        match word.as_str() {
            "-i" => include = true,
            "-s" => {}
            "-X" => method = rest.next().cloned(),
            "-H" => headers.push(rest.next().unwrap().clone()),
            "-d" | "--data-binary" => {
                let data = rest.next().unwrap();
                body = Some(match data.strip_prefix('@') {
                    Some(file) => std::fs::read(root().join(file)).unwrap(),
                    None => data.clone().into_bytes(),
                });
            }
            other if other.starts_with('-') => panic!("the README's curl has no {other}"),
            other => url = Some(other.replace("http://127.0.0.1:8080", &app.address)),
        }
    }
    let method = method.unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_owned());
    let mut request = app.client.request(method.parse().unwrap(), url.expect("curl URL"));
    for header in headers {
        let (name, value) = header.split_once(':').unwrap();
        request = request.header(name.trim(), value.trim());
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.unwrap();
    let mut out = Vec::new();
    if include {
        let status = response.status();
        out.push(format!(
            "HTTP/1.1 {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or_default()
        ));
        for (name, value) in response.headers() {
            out.push(format!("{name}: {}", value.to_str().unwrap_or_default()));
        }
        out.push(String::new());
    }
    let text = response.text().await.unwrap();
    out.extend(text.lines().map(str::to_owned));
    out
}

/// A text line's shape: its words, each word with a digit as `#`.
fn text_shape(line: &str) -> String {
    line.split_whitespace()
        .map(|w| if w.chars().any(|c| c.is_ascii_digit()) { "#" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The README's JSON with its `…` left out; `true` when something was.
fn readme_json(line: &str) -> Option<(Value, bool)> {
    let elided = line.contains('…');
    let cleaned = line
        .replace(",…", "")
        .replace("…,", "")
        .replace("[ … ]", "[]")
        .replace('…', "");
    serde_json::from_str(&cleaned).ok().map(|v| (v, elided))
}

/// Compares `actual` with the README's `shown`; the ids it matched on success.
fn same_shape(shown: &Value, actual: &Value, elided: bool, at: &str) -> Result<Vec<(String, String)>, String> {
    let mut ids = Vec::new();
    match (shown, actual) {
        (Value::Object(s), Value::Object(a)) => {
            let missing: Vec<&String> = s.keys().filter(|k| !a.contains_key(*k)).collect();
            let extra: Vec<&String> = a.keys().filter(|k| !s.contains_key(*k)).collect();
            if !missing.is_empty() || (!elided && !extra.is_empty()) {
                return Err(format!(
                    "{at}: members the README shows and the output lacks {missing:?}, and that the output has besides {extra:?}"
                ));
            }
            for (key, value) in s {
                ids.extend(same_shape(value, &a[key], elided, &format!("{at}/{key}"))?);
            }
        }
        (Value::Array(s), Value::Array(a)) => {
            for (i, value) in s.iter().enumerate() {
                let found = a
                    .iter()
                    .find_map(|candidate| same_shape(value, candidate, elided, at).ok());
                match found {
                    Some(found) => ids.extend(found),
                    None => {
                        let why = a
                            .first()
                            .map(|first| same_shape(value, first, elided, &format!("{at}/{i}")))
                            .and_then(Result::err)
                            .unwrap_or_else(|| format!("{at}: the output's array is empty"));
                        return Err(why);
                    }
                }
            }
        }
        (Value::String(s), Value::String(a)) => {
            if s.chars().any(|c| c.is_ascii_digit()) {
                if s != a {
                    ids.push((s.clone(), a.clone()));
                }
            } else if s != a {
                return Err(format!("{at}: the README shows {s:?}, the output {a:?}"));
            }
        }
        // A number may differ; a long one is an id (a deadline's, which on PostgreSQL is another
        // number than on the embedded store), taken over into the commands after it.
        (Value::Number(s), Value::Number(a)) => {
            if s != a {
                ids.push((s.to_string(), a.to_string()));
            }
        }
        (Value::Bool(_), Value::Bool(_)) | (Value::Null, Value::Null) => {}
        _ => return Err(format!("{at}: the README shows {shown}, the output {actual}")),
    }
    Ok(ids)
}

/// Compares a command's output with the README's; the ids matched.
fn compare(step: &Step, actual: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut ids = Vec::new();
    let (mut shown, mut real) = (step.output.as_slice(), actual);
    if shown.first().is_some_and(|l| l.starts_with("HTTP/")) {
        let head = |lines: &[String]| lines.iter().position(String::is_empty).unwrap_or(lines.len());
        let (shown_head, real_head) = (head(shown), head(real));
        if real.first().map(|l| text_shape(l)) != Some(text_shape(&shown[0])) {
            return Err(format!("the status line: the output's is {:?}", real.first()));
        }
        let names = |lines: &[String]| -> Vec<String> {
            lines[1..]
                .iter()
                .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_ascii_lowercase()))
                .collect()
        };
        let real_names = names(&real[..real_head]);
        for name in names(&shown[..shown_head]) {
            if !real_names.contains(&name) {
                return Err(format!("no {name} header in {real_names:?}"));
            }
        }
        shown = &shown[(shown_head + 1).min(shown.len())..];
        real = &real[(real_head + 1).min(real.len())..];
    }
    if shown.len() != real.len() {
        return Err(format!("{} lines shown, {} printed", shown.len(), real.len()));
    }
    for (i, (s, a)) in shown.iter().zip(real).enumerate() {
        match readme_json(s) {
            Some((shown_json, elided)) => {
                let actual: Value =
                    serde_json::from_str(a).map_err(|e| format!("output line {}: not JSON ({e})", i + 1))?;
                ids.extend(same_shape(&shown_json, &actual, elided, "")?);
            }
            None if text_shape(s) != text_shape(a) => {
                return Err(format!("output line {}: the README shows {s:?}", i + 1));
            }
            None => {}
        }
    }
    Ok(ids)
}

#[tokio::test]
async fn every_console_example_of_the_readme_holds() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let steps = steps(&readme);
    assert!(steps.len() > 10, "the README's console examples are found");
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(400), Reply::status(400)]);
    let env = receiver.settings();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), &env).await;

    let mut vars: HashMap<String, String> = HashMap::new();
    // The README's ids, and the real ones they stand for: longest first, so none is cut short.
    let mut ids: Vec<(String, String)> = Vec::new();
    let mut previous: Option<(&Step, Vec<String>)> = None;
    let mut failures = Vec::new();
    for step in &steps {
        let mut command = step.command.clone();
        for (shown, real) in &ids {
            command = command.replace(shown.as_str(), real);
        }
        let assignment = command
            .split_once('=')
            .filter(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        let output = if let Some((name, value)) = assignment {
            let value = if let Some(inner) = value.strip_prefix("$(").and_then(|v| v.strip_suffix(')')) {
                let inner = inner
                    .strip_suffix(" | tail -n 1")
                    .unwrap_or_else(|| panic!("README line {}: only `| tail -n 1` is known", step.line));
                binary(&app.data_dir, &root(), &words(inner, &vars))
                    .last()
                    .cloned()
                    .unwrap_or_default()
            } else {
                match &previous {
                    Some((before, printed)) if before.output.last().map(String::as_str) == Some(value) => {
                        printed.last().cloned().unwrap_or_default()
                    }
                    _ => value.to_owned(),
                }
            };
            vars.insert(name.to_owned(), value);
            Vec::new()
        } else {
            let words = words(&command, &vars);
            match words[0].as_str() {
                "cargo" => binary(&app.data_dir, &root(), &words),
                "curl" => curl(&app, &words).await,
                other => panic!("README line {}: the test cannot run {other}", step.line),
            }
        };
        if !step.output.is_empty() {
            match compare(step, &output) {
                Ok(found) => {
                    for (shown, real) in found {
                        if !ids.iter().any(|(s, _)| *s == shown) && shown.len() >= 12 {
                            ids.push((shown, real));
                        }
                    }
                    ids.sort_by_key(|(shown, _)| std::cmp::Reverse(shown.len()));
                }
                Err(why) => failures.push(format!(
                    "README.md line {} (`{}`): {why}\nthe output:\n{}",
                    step.line,
                    step.command,
                    output.join("\n")
                )),
            }
        }
        previous = Some((step, output));
        app.advance_and_drain(300).await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The `indgang` commands of the adapters' READMEs print what the READMEs show (in the adapter's
/// folder, without a gateway).
#[test]
fn the_adapters_readmes_show_what_the_commands_print() {
    let data = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for adapter in ["boligtildeling", "kriminalforsorgen", "jobcenter"] {
        let folder = root().join("adapters").join(adapter);
        let readme = std::fs::read_to_string(folder.join("README.md")).unwrap();
        for step in steps(&readme) {
            let words = words(&step.command, &HashMap::new());
            assert_eq!(words[0], "indgang", "adapters/{adapter}/README.md line {}", step.line);
            let output = binary(data.path(), &folder, &words);
            if let Err(why) = compare(&step, &output) {
                panic!(
                    "adapters/{adapter}/README.md line {} (`{}`): {why}\nthe output:\n{}",
                    step.line,
                    step.command,
                    output.join("\n")
                );
            }
            ran += 1;
        }
    }
    assert!(ran > 0, "the adapters' READMEs show a command");
}

/// What docs/errors.md says of the Bearer scheme and of the `415` details.
#[tokio::test]
async fn the_documented_problem_details_hold() {
    let app = crate::helpers::spawn_app().await;
    let token = app.prison_token().await;
    let notice = crate::helpers::release_notice("KIF-DOC-1", "150385-1234", "751");
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = app
            .client
            .post(format!("{}/v1/release-notices", app.address))
            .header("Authorization", format!("{scheme} {token}"))
            .header("Content-Type", "application/json")
            .body(notice.to_string())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{scheme}: {}", response.status());
    }
    let housing = app
        .sender_token("boligtildeling", &[indgang::domain::Kind::HousingOffer])
        .await;
    for (path, token, content_type, detail) in [
        (
            "/v1/release-notices",
            &token,
            Some("text/plain"),
            "send application/json or application/xml, not text/plain",
        ),
        (
            "/v1/housing-offers",
            &housing,
            Some("application/xml"),
            "send application/json, not application/xml",
        ),
        (
            "/v1/housing-offers/batch",
            &housing,
            Some("application/json"),
            "send text/csv, not application/json",
        ),
        (
            "/v1/release-notices",
            &token,
            None,
            "send Content-Type: application/json or application/xml",
        ),
    ] {
        let mut request = app
            .client
            .post(format!("{}{path}", app.address))
            .bearer_auth(token)
            .body("x");
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{path}");
        assert_eq!(crate::helpers::problem(response).await["detail"], detail, "{path}");
    }
}
