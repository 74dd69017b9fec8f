//! The systemd units in deploy/: the template for several instances on one host stays as
//! confined as the single unit, and gives each instance its own port.

use std::path::Path;

fn unit(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(name)).unwrap()
}

/// The lines of a unit's `[Service]` section from `# Hardening.` on, without comments.
fn hardening(unit: &str) -> Vec<String> {
    let start = unit.find("# Hardening.").expect("a hardening block");
    let end = unit[start..].find("[Install]").map_or(unit.len(), |end| start + end);
    unit[start..end]
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_template_unit_is_confined_as_the_single_one_and_gives_each_instance_its_port() {
    let single = unit("indgang.service");
    let template = unit("indgang@.service");
    assert!(hardening(&single).len() > 20, "{:?}", hardening(&single));
    assert_eq!(
        hardening(&template),
        hardening(&single),
        "the same hardening in both units"
    );
    let lines: Vec<&str> = template.lines().collect();
    for expected in [
        "Environment=INDGANG__SERVER__BIND=127.0.0.1:%i",
        "EnvironmentFile=-/etc/indgang/indgang.env",
        "EnvironmentFile=-/etc/indgang/instance-%i.env",
        "ExecStart=/usr/local/bin/indgang --config /etc/indgang/indgang.toml serve",
        "RestartPreventExitStatus=2",
        "User=indgang",
    ] {
        assert!(lines.contains(&expected), "indgang@.service has {expected:?}");
    }
    // The instance's own file is read after the shared one, so that it wins.
    let shared = lines
        .iter()
        .position(|l| *l == "EnvironmentFile=-/etc/indgang/indgang.env");
    let own = lines
        .iter()
        .position(|l| *l == "EnvironmentFile=-/etc/indgang/instance-%i.env");
    assert!(shared < own);
}
