//! A small disk that fills up: a tmpfs of a chosen size in a mount namespace of its own, for
//! storage-fault tests. Nothing is mounted on the host; the mount lives as long as its holder
//! process. Processes under test are started inside it through [`SmallDisk::enter`] and see
//! the tmpfs at [`SmallDisk::dir`]; the test grows it with [`SmallDisk::resize`] (space
//! "freed") and reads its files through the holder's `/proc/PID/root`.
//!
//! Needs `unshare` and `nsenter` (util-linux) and either root or unprivileged user namespaces.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct SmallDisk {
    holder: Child,
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (tmpfs syntax: `8m`) over a fresh directory, in a new user and
    /// mount namespace. Panics, naming the reason, when namespaces are not available here.
    pub fn new(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let mut holder = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "--propagation", "private"])
            .args(["sh", "-c"])
            .arg(r#"mount -t tmpfs -o "size=$1" nightwatch-test "$2" && echo mounted && exec sleep 86400"#)
            .args(["sh", size])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting unshare for a small disk: {e}"));
        let mut line = String::new();
        let stdout = holder.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        if line.trim() != "mounted" {
            let output = holder.wait_with_output().unwrap();
            panic!(
                "cannot mount a tmpfs in a namespace of its own (a storage-fault test needs \
                 root or unprivileged user namespaces): {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        SmallDisk { holder, dir }
    }

    /// The tmpfs, as processes started through [`SmallDisk::enter`] see it.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The same directory as seen from the test: through the holder's root.
    pub fn host_path(&self, name: &str) -> PathBuf {
        let inside = self.dir.path().strip_prefix("/").unwrap();
        PathBuf::from(format!("/proc/{}/root", self.holder.id()))
            .join(inside)
            .join(name)
    }

    /// A command prefix that runs a program inside the disk's namespaces, as its own process
    /// (nsenter execs it): pass to `Nightwatch::start_wrapped`.
    pub fn enter(&self) -> Vec<String> {
        vec![
            "nsenter".to_owned(),
            "--target".to_owned(),
            self.holder.id().to_string(),
            "--user".to_owned(),
            "--mount".to_owned(),
        ]
    }

    /// Changes the tmpfs's size; growing it is a disk that got room again.
    pub fn resize(&self, size: &str) {
        let status = Command::new(&self.enter()[0])
            .args(&self.enter()[1..])
            .args(["mount", "-o"])
            .arg(format!("remount,size={size}"))
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "resizing the small disk to {size}");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
