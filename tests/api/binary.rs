//! The real `indgang` binary as a child process: its commands, and `serve` with its log output
//! captured line by line.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Runs a command to its end; panics when it fails.
pub fn cli(data_dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_indgang"))
        .args(args)
        .env("INDGANG__DATA_DIR", data_dir)
        .envs(crate::backend::storage_env(std::path::Path::new(&data_dir)))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// `indgang token create ARGS…`: the token from the last line.
pub fn token(data_dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["token", "create"];
    all.extend_from_slice(args);
    cli(data_dir, &all).lines().last().unwrap().to_owned()
}

/// A sender token for the prison that sends the release-notice examples (`kif-horsens`).
pub fn prison_token(data_dir: &Path) -> String {
    token(
        data_dir,
        &[
            "--role",
            "sender",
            "--sender",
            "kif-horsens",
            "--kinds",
            "release-notice",
        ],
    )
}

pub struct Served {
    pub child: Child,
    pub address: String,
    pub lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

/// `indgang serve` on port 0 in `data_dir`, once it says where it listens.
pub fn serve(data_dir: &Path, log_level: &str) -> Served {
    serve_with(data_dir, log_level, &[])
}

/// As `serve`, with more settings in the environment.
pub fn serve_with(data_dir: &Path, log_level: &str, env: &[(String, String)]) -> Served {
    serve_configured(data_dir, log_level, None, env)
}

/// As `serve_with`, with a configuration file (`--config`) besides.
pub fn serve_configured(data_dir: &Path, log_level: &str, config: Option<&Path>, env: &[(String, String)]) -> Served {
    let mut command = Command::new(env!("CARGO_BIN_EXE_indgang"));
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    command
        .arg("serve")
        .env("INDGANG__DATA_DIR", data_dir)
        .envs(crate::backend::storage_env(std::path::Path::new(&data_dir)))
        .env("INDGANG__SERVER__BIND", "127.0.0.1:0")
        .env("INDGANG__LOG__LEVEL", log_level)
        .env("INDGANG__ALERTS__GROUP_WINDOW", "0s")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let collected = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("indgang is serving") {
                let parsed: Value = serde_json::from_str(&line).unwrap();
                let _ = ready_tx.send(parsed["listening"].as_str().unwrap().to_owned());
            }
            collected.lock().unwrap().push(line);
        }
    });
    let address = ready_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the gateway starts");
    Served {
        child,
        address,
        lines,
        reader: Some(reader),
    }
}

impl Served {
    /// Sends `signal` (e.g. `libc::SIGTERM`, `libc::SIGKILL`), waits for the exit and returns
    /// the standard error.
    pub fn stop(mut self, signal: i32) -> (std::process::ExitStatus, String) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits in i32");
        // SAFETY: kill(2) with the pid of our own child process and a valid signal number.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "the signal was delivered");
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut stderr).unwrap();
        (status, stderr)
    }
}

impl Drop for Served {
    /// A test that fails before stopping its gateway must not leave it running (blocked on a
    /// full log pipe, it would never exit by itself).
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
