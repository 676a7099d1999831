//! Tidiness the reviewers would otherwise have to remember: every source module says what it
//! is in a `//!` paragraph (test modules excepted), and no source or doc names a machine's
//! absolute path or points at a design text outside the repository instead of giving the
//! reason in place.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                files(&path, extensions, out);
            }
        } else if extensions.iter().any(|ext| name.ends_with(ext)) {
            out.push(path);
        }
    }
}

fn is_test_module(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == "tests.rs")
        || path.components().any(|c| c.as_os_str() == "tests")
}

#[test]
fn every_source_module_opens_with_a_doc_paragraph() {
    let mut sources = Vec::new();
    files(&repo().join("crates"), &[".rs"], &mut sources);
    let missing: Vec<String> = sources
        .iter()
        .filter(|path| path.components().any(|c| c.as_os_str() == "src"))
        .filter(|path| !is_test_module(path))
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|path| path.strip_prefix(repo()).unwrap().display().to_string())
        .collect();
    assert!(sources.len() > 100, "the walk found the sources");
    assert_eq!(
        missing,
        Vec::<String>::new(),
        "modules without a `//!` paragraph"
    );
}

/// What a line must not say, and why.
fn offence(line: &str) -> Option<&'static str> {
    let design = ["DESIGN", " §"].concat();
    let machine = ["/ho", "me/"].concat();
    let root = ["/ro", "ot/"].concat();
    let work = ["/wo", "rk/"].concat();
    if line.contains(&design) {
        Some("cites the design brief outside the repository: give the reason here")
    } else if line.contains(&machine) || line.contains(&root) || line.contains(&work) {
        Some("names a machine's absolute path")
    } else {
        None
    }
}

#[test]
fn no_machine_paths_and_no_outside_design_references() {
    let mut texts = Vec::new();
    files(
        &repo().join("crates"),
        &[".rs", ".md", ".toml", ".html"],
        &mut texts,
    );
    files(&repo().join("docs"), &[".md", ".toml"], &mut texts);
    files(&repo().join("runbooks"), &[".md"], &mut texts);
    texts.push(repo().join("README.md"));
    texts.push(repo().join("ARCHITECTURE.md"));
    let mut found = Vec::new();
    for path in &texts {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if let Some(why) = offence(line) {
                let shown = path.strip_prefix(repo()).unwrap().display();
                found.push(format!("{shown}:{}: {why}", n + 1));
            }
        }
    }
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn the_offences_are_recognised() {
    assert!(offence(&["see DESIGN", " §5"].concat()).is_some());
    assert!(offence(&["cd /ho", "me/alice/nightwatch"].concat()).is_some());
    assert!(offence("a plain sentence about §5 of RFC 9110").is_none());
}
