//! A full disk heals without a restart: while the gateway cannot write, a submission is answered
//! `503` with `Retry-After` and `/readyz` says so; once space is freed, filing resumes by itself,
//! and every message acknowledged before, during and after is kept.
//!
//! The data folder is a small tmpfs of its own (the tests run as root, as on CI), unmounted again
//! when the test ends, whether it passes or not.

use crate::helpers::{filed, release_notice, spawn_app_in};
use indgang::domain::Kind;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A tmpfs of `size` mounted on a temporary folder; unmounted (lazily, should a file still be
/// open) and removed on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("mount(8) runs");
        assert!(
            mounted.status.success(),
            "this test mounts a small tmpfs and must run as root: {}",
            String::from_utf8_lossy(&mounted.stderr)
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk is full.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0x5a_u8; 16 * 1024];
        loop {
            if let Err(e) = file.write_all(&chunk).and_then(|()| file.sync_data()) {
                assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
                break;
            }
        }
        // The last bytes of a page.
        while file.write(&[0x5a]).is_ok_and(|n| n == 1) {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

async fn ready(app: &crate::helpers::TestApp) -> reqwest::Response {
    app.client.get(format!("{}/readyz", app.address)).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_answered_503_and_filing_resumes_by_itself_when_space_is_freed() {
    if crate::backend::sqlite_only(
        "fills the disk under the SQLite file; PostgreSQL keeps its data on the server's disk",
    ) {
        return;
    }
    let disk = SmallDisk::mount("8m");
    let app = spawn_app_in(disk.path(), &[]).await;
    let token = app.prison_token().await;
    let notice = |i: usize| release_notice(&format!("disk-{i}"), &format!("{:02}0190{:04}", 1 + i % 28, i), "751");
    let mut acknowledged: Vec<Value> = Vec::new();
    for i in 0..5 {
        acknowledged.push(app.accept(Kind::ReleaseNotice, &token, &notice(i)).await);
    }

    let filler = disk.fill();
    // Filing goes on while what SQLite has already allocated lasts; then the disk is full.
    let mut refused = Vec::new();
    for i in 5..2_000 {
        let response = app.submit(Kind::ReleaseNotice, &token, &notice(i)).await;
        match response.status().as_u16() {
            202 => acknowledged.push(response.json().await.unwrap()),
            503 => {
                let retry_after = response.headers().get("retry-after").expect("Retry-After");
                assert!(retry_after.to_str().unwrap().parse::<u64>().unwrap() > 0);
                let problem = crate::helpers::problem(response).await;
                assert_eq!(problem["type"], "urn:indgang:problem:storage-unavailable");
                refused.push(i);
                if refused.len() == 3 {
                    break;
                }
            }
            status => panic!("{status}: {}", response.text().await.unwrap()),
        }
    }
    assert_eq!(refused.len(), 3, "the full disk refused submissions");
    let not_ready = ready(&app).await;
    assert_eq!(not_ready.status(), 503);
    assert!(not_ready.headers().contains_key("retry-after"));

    // Space is freed; nothing is restarted. The senders send again, as Retry-After asks.
    std::fs::remove_file(filler).unwrap();
    for &i in &refused {
        let mut tries = 0;
        let receipt = loop {
            let response = app.submit(Kind::ReleaseNotice, &token, &notice(i)).await;
            match response.status().as_u16() {
                202 => break response.json::<Value>().await.unwrap(),
                503 if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                status => panic!("{status} after the disk was freed"),
            }
        };
        acknowledged.push(receipt);
    }
    acknowledged.push(app.accept(Kind::ReleaseNotice, &token, &notice(5_000)).await);
    let mut tries = 0;
    while ready(&app).await.status() != 200 {
        tries += 1;
        assert!(tries < 100, "/readyz says ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Nothing acknowledged is lost, and nothing refused was filed behind the sender's back.
    let data_dir = app.data_dir.clone();
    app.stop().await;
    let again = spawn_app_in(&data_dir, &[]).await;
    assert_eq!(again.stored_messages(), acknowledged.len() as i64);
    for receipt in &acknowledged {
        assert_eq!(filed(&again.receipt(receipt, &token).await), filed(receipt));
    }
    again.stop().await;
    drop(disk);
}
