//! What only the PostgreSQL store has: migrations under a lock, `indgang migrate`, the URL's
//! password kept out of what is printed. The tests that need a server run on the PostgreSQL run
//! (`INDGANG_TEST_STORAGE=postgres`) and say so on the SQLite one.

use indgang::store::Store;
use indgang::store::postgres::PostgresStore;
use std::process::{Command, Output};

fn indgang(data_dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_indgang"))
        .args(args)
        .env("INDGANG__DATA_DIR", data_dir)
        .envs(crate::backend::storage_env(data_dir))
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn instances_starting_together_on_a_new_database_migrate_it_once() {
    if crate::backend::postgres_only("what only the PostgreSQL store has") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = crate::backend::storage_env(dir.path()).remove(0).1;
    let opening: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::open(&url, 2).await })
        })
        .collect();
    let mut stores = Vec::new();
    for open in opening {
        stores.push(open.await.unwrap().expect("every instance starts"));
    }
    for store in &stores {
        store.ping().await.unwrap();
        store.close().await;
    }
    let applied = crate::backend::first_row(
        dir.path(),
        "",
        "SELECT COUNT(*)::text || ' ' || MAX(version)::text FROM schema_migrations",
        &[],
    );
    assert_eq!(applied, ["4 4"], "each migration applied once");
    crate::backend::drop_database_of(dir.path());
}

#[test]
fn migrate_applies_the_schema_once_and_then_finds_it_up_to_date() {
    if crate::backend::postgres_only("what only the PostgreSQL store has") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let first = indgang(dir.path(), &["migrate"], &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stdout).ends_with(": applied 4 migration(s); the schema is up to date\n"),
        "{}",
        text(&first.stdout)
    );
    let again = indgang(dir.path(), &["migrate"], &[]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).ends_with(": the schema is up to date\n"),
        "{}",
        text(&again.stdout)
    );
    // A token made afterwards lands in the migrated database.
    let token = indgang(dir.path(), &["token", "create", "--role", "operator"], &[]);
    assert!(token.status.success(), "{}", text(&token.stderr));
    crate::backend::drop_database_of(dir.path());
}

#[test]
fn an_unreachable_server_stops_migrate_with_the_reason_and_no_password() {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 (discard) on loopback: nothing listens there.
    let url = "postgres://indgang:s3cret-pw@127.0.0.1:9/indgang?connect_timeout=2";
    let output = indgang(dir.path(), &["migrate"], &[("INDGANG__STORAGE__URL", url)]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("PostgreSQL"), "{stderr}");
    assert!(!stderr.contains("s3cret-pw"), "the password is never printed: {stderr}");
}

#[test]
fn check_config_prints_a_postgres_url_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://indgang:s3cret-pw@db.example:5432/indgang?sslmode=require";
    let output = indgang(dir.path(), &["check-config"], &[("INDGANG__STORAGE__URL", url)]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout)
            .contains("storage          postgres://indgang:***@db.example:5432/indgang?sslmode=require\n"),
        "{}",
        text(&output.stdout)
    );
    assert!(!text(&output.stdout).contains("s3cret-pw"));
}

/// With `sslmode=require` the connection is TLS and the server's certificate is checked: trusted
/// through `PGSSLROOTCERT` it works, without it the start is refused naming the certificate.
/// (The server here has Debian's self-signed certificate for `localhost`.)
#[test]
fn sslmode_require_speaks_tls_and_checks_the_servers_certificate() {
    if crate::backend::postgres_only("what only the PostgreSQL store has") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = crate::backend::storage_env(dir.path()).remove(0).1;
    let settings = crate::backend::first_row(
        dir.path(),
        "",
        "SELECT current_setting('ssl') || ' ' || current_setting('ssl_cert_file')",
        &[],
    )
    .remove(0);
    let (ssl, certificate) = settings.split_once(' ').unwrap();
    assert_eq!(ssl, "on", "the test server speaks TLS (Debian's default)");
    let url = format!("{}?sslmode=require", plain.replace("@127.0.0.1:", "@localhost:"));
    let storage = [("INDGANG__STORAGE__URL", url.as_str())];

    let refused = indgang(dir.path(), &["migrate"], &storage);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stdout));
    assert!(
        text(&refused.stderr).contains("certificate") || text(&refused.stderr).contains("UnknownIssuer"),
        "{}",
        text(&refused.stderr)
    );

    let trusted = indgang(dir.path(), &["migrate"], &[storage[0], ("PGSSLROOTCERT", certificate)]);
    assert!(trusted.status.success(), "{}", text(&trusted.stderr));
    crate::backend::drop_database_of(dir.path());
}

/// Submissions at once about one citizen land on one case, and about different citizens on
/// cases with different numbers: on PostgreSQL the losers of the race for a new case run again
/// and find the winner's, and numbers come from a sequence. (Runs on both backends.)
#[tokio::test]
async fn concurrent_first_messages_open_one_case_per_citizen_with_distinct_numbers() {
    let app = crate::helpers::spawn_app().await;
    let token = app.prison_token().await;
    let app = std::sync::Arc::new(app);
    let mut sending = Vec::new();
    for i in 0..24 {
        let (app, token) = (app.clone(), token.clone());
        // Twelve about one citizen, twelve about twelve others.
        let cpr = if i % 2 == 0 {
            "0101901234".to_owned()
        } else {
            format!("{:02}0290{:04}", 1 + i / 2, i)
        };
        sending.push(tokio::spawn(async move {
            let notice = crate::helpers::release_notice(&format!("race-{i}"), &cpr, "751");
            let receipt = app.accept(indgang::domain::Kind::ReleaseNotice, &token, &notice).await;
            (i % 2 == 0, receipt["case_ref"].as_str().unwrap().to_owned())
        }));
    }
    let mut shared = std::collections::HashSet::new();
    let mut own = std::collections::HashSet::new();
    for sent in sending {
        let (same_citizen, case_ref) = sent.await.unwrap();
        if same_citizen {
            shared.insert(case_ref);
        } else {
            own.insert(case_ref);
        }
    }
    assert_eq!(shared.len(), 1, "one citizen, one case: {shared:?}");
    assert_eq!(own.len(), 12, "twelve citizens, twelve cases: {own:?}");
    assert!(own.is_disjoint(&shared));
    assert_eq!(app.stored_messages(), 24);
}
