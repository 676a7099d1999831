//! What log lines say, in the words programs and runtimes actually print: a name that does not
//! resolve, a refused connection, the kernel's OOM kill, a missing file or variable, and plain
//! errors. Lines are read, never executed or parsed as a program's own format.

use crate::evidence::finding::Category;

/// One kind of trouble a log line shows, with the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSignal {
    /// A hostname that does not exist (NXDOMAIN, ENOTFOUND, "no such host").
    NameNotFound {
        host: Option<String>,
        line: String,
    },
    /// The resolver itself failing or timing out.
    DnsUnavailable(String),
    /// A dependency refusing or timing out connections.
    ConnectionFailed(String),
    OutOfMemory(String),
    /// A missing file, variable, flag or permission at start-up.
    Misconfigured(String),
    Error(String),
}

impl LogSignal {
    pub fn line(&self) -> &str {
        match self {
            Self::NameNotFound { line, .. } => line,
            Self::DnsUnavailable(line)
            | Self::ConnectionFailed(line)
            | Self::OutOfMemory(line)
            | Self::Misconfigured(line)
            | Self::Error(line) => line,
        }
    }

    pub fn category(&self) -> Category {
        match self {
            // A name that does not exist is a wrong name or a missing Service: someone's
            // setting, not an outage.
            Self::NameNotFound { .. } | Self::Misconfigured(_) => Category::ConfigurationError,
            Self::DnsUnavailable(_) | Self::ConnectionFailed(_) => Category::DependencyFailure,
            Self::OutOfMemory(_) => Category::ResourceExhaustion,
            Self::Error(_) => Category::CodeDefect,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::NameNotFound {
                host: Some(host), ..
            } => format!("DNS resolution of {host} fails: the name does not exist (NXDOMAIN)"),
            Self::NameNotFound { host: None, .. } => {
                "DNS resolution fails: a name it connects to does not exist".to_owned()
            }
            Self::DnsUnavailable(_) => {
                "DNS resolution times out: the resolver is not answering".to_owned()
            }
            Self::ConnectionFailed(line) => match endpoint_in(line) {
                Some(endpoint) => {
                    format!(
                        "connecting to {endpoint} fails: the dependency refuses or drops its connections"
                    )
                }
                None => "a dependency refuses or drops its connections".to_owned(),
            },
            Self::OutOfMemory(_) => "it runs out of memory".to_owned(),
            Self::Misconfigured(line) => match executable_in(line) {
                Some(command) => match likely_meant(&command) {
                    Some(meant) => format!(
                        "its command `{command}` cannot be executed: it is not found in the image, likely a typo (the intended command is probably `{meant}`) or a binary the image lacks"
                    ),
                    None => format!(
                        "its command `{command}` cannot be executed: it is not found in the image (a typo in the command, or a binary the image lacks)"
                    ),
                },
                None => "it stops at start-up on missing or wrong configuration".to_owned(),
            },
            Self::Error(_) => "the program reports an error".to_owned(),
        }
    }
}

fn has_any(line: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| line.contains(n))
}

/// The host a resolver error names: the word after `lookup`/`ENOTFOUND`/`resolve`, or a
/// dotted name ending in a cluster or public suffix.
fn host_in(line: &str) -> Option<String> {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == '\'' || c == '"' || c == ',' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    for (i, word) in words.iter().enumerate() {
        let lower = word.to_ascii_lowercase();
        if matches!(lower.as_str(), "lookup" | "enotfound" | "resolve" | "host")
            && let Some(next) = words.get(i + 1)
        {
            let host = next.trim_end_matches(':').trim_end_matches('.');
            if host.contains('.') || host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Some(host.to_owned());
            }
        }
    }
    words
        .iter()
        .map(|w| w.trim_end_matches(':').trim_end_matches('.'))
        .find(|w| w.contains(".svc") || w.ends_with(".local") || w.ends_with(".internal"))
        .map(str::to_owned)
}

/// The command of `exec: "X": executable file not found`.
fn executable_in(line: &str) -> Option<String> {
    let at = line.find("exec: \"")? + "exec: \"".len();
    let rest = &line[at..];
    let end = rest.find('"')?;
    line.contains("not found").then(|| rest[..end].to_owned())
}

/// Classifies one line; `None` for an ordinary line.
pub fn classify(line: &str) -> Option<LogSignal> {
    let l = line.to_ascii_lowercase();
    if has_any(
        &l,
        &[
            "no such host",
            "enotfound",
            "nxdomain",
            "name or service not known",
            "could not resolve host",
            "unknownhostexception",
            "unable to resolve",
            "nodename nor servname",
            "failed to resolve",
        ],
    ) {
        return Some(LogSignal::NameNotFound {
            host: host_in(line),
            line: line.to_owned(),
        });
    }
    if has_any(
        &l,
        &[
            "temporary failure in name resolution",
            "server misbehaving",
            "eai_again",
            "i/o timeout",
        ],
    ) && has_any(
        &l,
        &["lookup", "resolv", "dns", "name resolution", "eai_again"],
    ) {
        return Some(LogSignal::DnsUnavailable(line.to_owned()));
    }
    if has_any(
        &l,
        &[
            "out of memory",
            "outofmemoryerror",
            "oom-kill",
            "oomkilled",
            "cannot allocate memory",
            "memory cgroup out of memory",
            "javascript heap out of memory",
        ],
    ) {
        return Some(LogSignal::OutOfMemory(line.to_owned()));
    }
    if has_any(
        &l,
        &[
            "connection refused",
            "econnrefused",
            "connection reset",
            "econnreset",
            "no route to host",
            "connect: timeout",
            "deadline exceeded",
            "etimedout",
            "no available connection",
            "failed to connect",
            "could not connect",
            "unable to connect",
            "connection timed out",
            "host(s) tried",
        ],
    ) {
        return Some(LogSignal::ConnectionFailed(line.to_owned()));
    }
    if has_any(
        &l,
        &[
            "executable file not found",
            "exec format error",
            "no such file or directory",
            "environment variable",
            "env var",
            "is not set",
            "missing required",
            "permission denied",
            "invalid configuration",
            "config file",
            "unknown flag",
            "unknown option",
        ],
    ) {
        return Some(LogSignal::Misconfigured(line.to_owned()));
    }
    if has_any(
        &l,
        &[
            "error",
            "exception",
            "fatal",
            "panic",
            "traceback",
            "failed",
            "segfault",
        ],
    ) && !has_any(&l, &[" 0 errors", "error=0", "errors: 0", "level=info"])
    {
        return Some(LogSignal::Error(line.to_owned()));
    }
    None
}

/// Every signal in `lines`, the specific ones (not plain errors) first, each line once.
pub fn signals(lines: &[String]) -> Vec<LogSignal> {
    let mut found: Vec<LogSignal> = lines.iter().filter_map(|l| classify(l)).collect();
    found.sort_by_key(|s| matches!(s, LogSignal::Error(_)));
    found
}

/// The last `n` lines that show trouble, in order; the last lines at all when none does.
pub fn tail_errors(lines: &[String], n: usize) -> Vec<String> {
    let troubled: Vec<&String> = lines.iter().filter(|l| classify(l).is_some()).collect();
    let chosen: Vec<&String> = if troubled.is_empty() {
        lines.iter().filter(|l| !l.trim().is_empty()).collect()
    } else {
        troubled
    };
    chosen
        .iter()
        .rev()
        .take(n)
        .rev()
        .map(|l| crate::analysis::clip(l.trim(), 300))
        .collect()
}

/// The first `host:port` a log line names (`prod-db:3333`, `http://api.shop:8080/x`,
/// `10.0.0.7:5432`): where a failing connection went.
pub fn endpoint_in(line: &str) -> Option<String> {
    line.split(|c: char| c.is_whitespace() || "()[]{}<>,;\"'`=".contains(c))
        .map(|token| {
            let token = token.split("://").last().unwrap_or(token);
            token
                .split('/')
                .next()
                .unwrap_or(token)
                .trim_end_matches(['.', ':'])
        })
        .find_map(|token| {
            let (host, port) = token.rsplit_once(':')?;
            let port_ok = (2..=5).contains(&port.len()) && port.chars().all(|c| c.is_ascii_digit());
            let host_ok = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                && host.chars().any(|c| c.is_ascii_alphabetic() || c == '.')
                && !host.chars().all(|c| c.is_ascii_digit());
            (port_ok && host_ok).then(|| token.to_owned())
        })
}

/// Programs container commands commonly run; a missing command one edit away from one of these
/// is most likely that one mistyped.
const COMMON_COMMANDS: &[&str] = &[
    "sh",
    "bash",
    "ash",
    "zsh",
    "env",
    "sleep",
    "echo",
    "cat",
    "ls",
    "cp",
    "mv",
    "rm",
    "mkdir",
    "chmod",
    "chown",
    "tar",
    "gzip",
    "unzip",
    "grep",
    "sed",
    "awk",
    "find",
    "xargs",
    "tee",
    "curl",
    "wget",
    "nc",
    "ping",
    "dig",
    "nslookup",
    "ssh",
    "rsync",
    "git",
    "jq",
    "yq",
    "python",
    "python3",
    "pip",
    "node",
    "npm",
    "npx",
    "yarn",
    "java",
    "ruby",
    "perl",
    "php",
    "go",
    "dotnet",
    "gunicorn",
    "uvicorn",
    "celery",
    "nginx",
    "httpd",
    "apache2",
    "caddy",
    "envoy",
    "haproxy",
    "redis-server",
    "redis-cli",
    "postgres",
    "psql",
    "mysqld",
    "mysql",
    "mongod",
    "mongosh",
    "kubectl",
    "helm",
    "aws",
    "gcloud",
    "az",
    "terraform",
    "supervisord",
    "tini",
    "dumb-init",
    "entrypoint.sh",
    "docker-entrypoint.sh",
];

/// The one common command `command` is one edit (or one swap of neighbours) away from; none
/// when it is a common command itself, too short to tell, or near several.
fn likely_meant(command: &str) -> Option<&'static str> {
    let name = command.rsplit('/').next().unwrap_or(command);
    if name.len() < 3 || COMMON_COMMANDS.contains(&name) {
        return None;
    }
    let mut near = COMMON_COMMANDS
        .iter()
        .copied()
        .filter(|known| known.len() >= 3 && strsim::damerau_levenshtein(name, known) == 1);
    match (near.next(), near.next()) {
        (Some(meant), None) => Some(meant),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_a_failing_connection_went_to() {
        let table = [
            (
                "All host(s) tried for db query failed (tried: prod-db:3333) - no available connection",
                Some("prod-db:3333"),
            ),
            (
                "dial tcp 10.0.0.7:5432: connect: connection refused",
                Some("10.0.0.7:5432"),
            ),
            (
                "GET http://api.shop.svc:8080/v1/x failed: ECONNREFUSED",
                Some("api.shop.svc:8080"),
            ),
            ("2024-05-01T10:00:00Z connection refused", None),
            ("connection refused", None),
        ];
        for (line, endpoint) in table {
            assert_eq!(endpoint_in(line).as_deref(), endpoint, "{line}");
        }
    }

    #[test]
    fn a_missing_command_near_a_common_one_is_named_as_its_likely_typo() {
        let table = [
            ("wge", Some("wget")),
            ("/usr/bin/pyhton", Some("python")),
            ("ngnix", Some("nginx")),
            ("curl", None),
            ("my-server", None),
            ("ls", None),
        ];
        for (command, meant) in table {
            assert_eq!(likely_meant(command), meant, "{command}");
        }
    }

    #[test]
    fn lines_real_programs_print() {
        let table: &[(&str, &str)] = &[
            (
                "Error: getaddrinfo ENOTFOUND postgres.production.svc.cluster.local",
                "name_not_found",
            ),
            (
                "dial tcp: lookup redis on 10.96.0.10:53: no such host",
                "name_not_found",
            ),
            (
                "dial tcp: lookup redis on 10.96.0.10:53: server misbehaving",
                "dns_unavailable",
            ),
            ("Temporary failure in name resolution", "dns_unavailable"),
            (
                "[kernel] Memory cgroup out of memory: Killed process 1 (api)",
                "oom",
            ),
            ("java.lang.OutOfMemoryError: Java heap space", "oom"),
            (
                "dial tcp 10.0.0.5:5432: connect: connection refused",
                "connection",
            ),
            (
                "FATAL: environment variable DATABASE_URL is not set",
                "misconfigured",
            ),
            (
                "open /etc/app/config.yaml: no such file or directory",
                "misconfigured",
            ),
            ("panic: runtime error: index out of range", "error"),
            ("GET /health 200 2ms", "none"),
        ];
        for (line, want) in table {
            let got = match classify(line) {
                Some(LogSignal::NameNotFound { .. }) => "name_not_found",
                Some(LogSignal::DnsUnavailable(_)) => "dns_unavailable",
                Some(LogSignal::OutOfMemory(_)) => "oom",
                Some(LogSignal::ConnectionFailed(_)) => "connection",
                Some(LogSignal::Misconfigured(_)) => "misconfigured",
                Some(LogSignal::Error(_)) => "error",
                None => "none",
            };
            assert_eq!(got, *want, "{line}");
        }
        assert_eq!(
            host_in("Error: getaddrinfo ENOTFOUND postgres.production.svc.cluster.local"),
            Some("postgres.production.svc.cluster.local".to_owned())
        );
        assert_eq!(
            host_in("dial tcp: lookup redis on 10.96.0.10:53: no such host"),
            Some("redis".to_owned())
        );
    }
}
