//! Every schema example through the real endpoint: valid ones are accepted, invalid ones are
//! refused with a fault at the pointer `schemas/examples/README.md` names for them.

use crate::helpers::{example_sender, examples_dir, problem, spawn_app};
use indgang::domain::Kind;
use serde_json::Value;
use std::collections::HashMap;

fn files(kind: Kind, verdict: &str) -> Vec<std::path::PathBuf> {
    let dir = examples_dir().join(kind.as_str()).join(verdict);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// `kind/invalid/file.json` → pointer, from the README's tables.
fn documented_pointers() -> HashMap<String, String> {
    let readme = std::fs::read_to_string(examples_dir().join("README.md")).unwrap();
    readme
        .lines()
        .filter(|line| line.contains("/invalid/"))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(|c| c.trim().trim_matches('`')).collect();
            (cells.len() > 4).then(|| (cells[1].to_owned(), cells[3].to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn every_valid_example_is_accepted_and_every_invalid_one_refused_where_documented() {
    let app = spawn_app().await;
    let pointers = documented_pointers();
    for kind in Kind::ALL {
        let token = app.sender_token(example_sender(kind), &[kind]).await;
        let valid = files(kind, "valid");
        let invalid = files(kind, "invalid");
        assert!(
            valid.len() >= 3 && invalid.len() >= 8,
            "{kind}: at least 3 valid and 8 invalid examples"
        );

        for path in valid {
            let body: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let response = app.submit(kind, &token, &body).await;
            assert_eq!(
                response.status(),
                202,
                "{}: {}",
                path.display(),
                response.text().await.unwrap()
            );
        }
        for path in invalid {
            let name = format!(
                "{}/invalid/{}",
                kind.as_str(),
                path.file_name().unwrap().to_str().unwrap()
            );
            let body: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let response = app.submit(kind, &token, &body).await;
            assert_eq!(response.status(), 422, "{name}");
            let problem = problem(response).await;
            let found: Vec<&str> = problem["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["pointer"].as_str().unwrap())
                .collect();
            let documented = pointers
                .get(&name)
                .unwrap_or_else(|| panic!("{name} is not described in the README"));
            assert!(
                found.contains(&documented.as_str()),
                "{name}: expected a fault at {documented}, got {found:?}"
            );
        }
    }
}
