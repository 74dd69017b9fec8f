//! The XSD and the adapter agree: for every sample, `xmllint --noout --schema
//! schemas/xml/release-notice.v1.xsd FILE` gives the verdict `to_canonical` gives.
//!
//! - `samples/valid/`: xmllint validates and the adapter converts;
//! - `samples/invalid/`: xmllint refuses and the adapter refuses;
//! - `samples/invalid-rules/`: xmllint validates (the rules broken are beyond an XSD); the adapter
//!   converts them, except the `adapter-` ones it refuses itself (see `tests/adapter/samples.rs`).
//!
//! xmllint comes from Debian's `libxml2-utils`; when it is missing the test installs it with
//! apt-get (through `sudo -n` when not root) and fails with a clear message if it still cannot run it.

use crate::common::{XSD, files, name, read};
use indgang_kriminalforsorgen::to_canonical;
use std::path::Path;
use std::process::{Command, Output};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Valid,
    Invalid,
}

fn xmllint_runs() -> bool {
    Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn apt_get(as_root: bool, args: &[&str]) -> Option<Output> {
    let mut command = if as_root {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "apt-get"]);
        sudo
    };
    command
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .ok()
}

fn ensure_xmllint() {
    if xmllint_runs() {
        return;
    }
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let install = ["install", "-y", "-q", "libxml2-utils"];
    let mut log = String::new();
    let mut attempt = |args: &[&str]| match apt_get(as_root, args) {
        Some(output) => {
            log.push_str(&String::from_utf8_lossy(&output.stderr));
            output.status.success()
        }
        None => {
            log.push_str("apt-get (or sudo) could not be started\n");
            false
        }
    };
    if !attempt(&install) {
        attempt(&["update", "-q"]);
        attempt(&install);
    }
    assert!(
        xmllint_runs(),
        "the XSD agreement test needs xmllint (Debian package libxml2-utils) and could not install it; \
         install it with `apt-get install libxml2-utils`.\napt-get said:\n{log}"
    );
}

/// xmllint's verdict: exit 0 validates; 1 (not well-formed) and 3 (not valid) refuse; anything
/// else (5: the XSD itself does not compile, …) fails the test.
fn xmllint(path: &Path) -> Verdict {
    let output = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", XSD])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("xmllint could not be started: {e}"));
    match output.status.code() {
        Some(0) => Verdict::Valid,
        Some(1 | 3) => Verdict::Invalid,
        code => panic!(
            "xmllint gave exit code {code:?} on {}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

fn adapter(path: &Path) -> Verdict {
    match to_canonical(&read(path)) {
        Ok(_) => Verdict::Valid,
        Err(_) => Verdict::Invalid,
    }
}

#[test]
fn xmllint_and_the_adapter_give_the_same_verdict_on_every_sample() {
    ensure_xmllint();
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for (dir, expected) in [
        ("samples/valid", Verdict::Valid),
        ("samples/invalid", Verdict::Invalid),
        ("samples/invalid-rules", Verdict::Valid),
    ] {
        for path in files(dir, "xml") {
            checked += 1;
            let name = name(&path);
            let by_xsd = xmllint(&path);
            let by_adapter = adapter(&path);
            let adapter_expected = if name.starts_with("adapter-") {
                Verdict::Invalid
            } else {
                expected
            };
            if by_xsd != expected || by_adapter != adapter_expected {
                disagreements.push(format!(
                    "{dir}/{name}: xmllint says {by_xsd:?} (expected {expected:?}), \
                     the adapter says {by_adapter:?} (expected {adapter_expected:?})"
                ));
            }
        }
    }
    assert!(checked >= 35, "the samples were found ({checked})");
    assert!(
        disagreements.is_empty(),
        "the XSD and the adapter disagree:\n{}",
        disagreements.join("\n")
    );
}
