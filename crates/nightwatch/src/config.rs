//! Configuration: defaults ← config file ← environment ← flags.

use crate::cli::{Cli, Command};
use anyhow::Context;
use nightwatch_app::http::AuthConfig;
use nightwatch_core::duration::{duration_or_seconds, parse_duration};
use nightwatch_core::fingerprint::FingerprintConfig;
use nightwatch_llm::{LlmConfig, LlmSection};
use nightwatch_sources::SourcesConfig;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Inside a pod (`KUBERNETES_SERVICE_HOST` set) loopback cannot be reached from the Service.
pub const DEFAULT_LISTEN_IN_POD: &str = "0.0.0.0:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://nightwatch.db";
/// A 20k-alert storm is about 10 MB of JSON; leave room for big annotations.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// `[ingest]`: what one webhook delivery, and the deliveries at once, may take.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct IngestSection {
    /// Deliveries received at once (default 64); more are answered 503 and retried.
    max_concurrent: Option<usize>,
    /// How long a body may take to arrive (default "30s"); slower is 408.
    body_timeout: Option<String>,
    /// Alerts in one delivery (default 25,000).
    max_alerts: Option<usize>,
    /// Labels, and annotations, per alert (default 128 each).
    max_labels: Option<usize>,
    /// Bytes of a label or annotation name (default 1 KiB).
    max_name_bytes: Option<usize>,
    /// Bytes of a label or annotation value (default 32 KiB).
    max_value_bytes: Option<usize>,
}

/// `[http]`: the server's connections.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct HttpSection {
    /// Connections open at once (default 1024); one more is closed on arrival.
    max_connections: Option<usize>,
    /// How long a request's headers may take, and a kept-alive connection may idle (default "10s").
    header_timeout: Option<String>,
}

/// `[retention]`: how long raw alerts and resolved incidents are kept (a duration or `"off"`).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RetentionSection {
    /// Deliveries, their alerts and the alerts' repeat events, once folded (default "30d").
    alerts: Option<String>,
    /// Resolved incidents and everything about them (default "365d").
    incidents: Option<String>,
    /// Pause between pruning passes (default "1h").
    interval: Option<String>,
}

impl RetentionSection {
    fn resolve(&self) -> anyhow::Result<nightwatch_app::retention::Retention> {
        use nightwatch_app::retention::{DEFAULT_ALERTS, DEFAULT_INCIDENTS, DEFAULT_INTERVAL};
        let horizon = |key: &str, text: Option<&str>, default| match text.map(str::trim) {
            None => Ok(Some(default)),
            Some("off") => Ok(None),
            Some(text) => parse_duration(key, text).map(Some),
        };
        Ok(nightwatch_app::retention::Retention {
            alerts: horizon("retention.alerts", self.alerts.as_deref(), DEFAULT_ALERTS)?,
            incidents: horizon(
                "retention.incidents",
                self.incidents.as_deref(),
                DEFAULT_INCIDENTS,
            )?,
            interval: match &self.interval {
                Some(text) => parse_duration("retention.interval", text)?,
                None => DEFAULT_INTERVAL,
            },
        })
    }
}

/// `[access]`: who may use the API and the pages (see `docs/access.md`).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AccessSection {
    /// `false` is `--insecure-no-auth`: for a lab only.
    enabled: Option<bool>,
    session_ttl: Option<String>,
    /// Host names / addresses the `Host` header may name (no port); `"*"` for any.
    allowed_hosts: Option<Vec<String>>,
    proxy_header: Option<String>,
    /// Addresses or CIDR ranges of the reverse proxies allowed to send `proxy_header`.
    proxy_addresses: Vec<String>,
    proxy_default_role: Option<String>,
    secure_cookies: Option<bool>,
    max_failed_logins: Option<u32>,
    lockout: Option<String>,
    regenerations_per_hour: Option<u32>,
    /// Slack user id → nightwatch user name.
    slack_users: std::collections::BTreeMap<String, String>,
}

impl AccessSection {
    fn resolve(
        &self,
        listen: SocketAddr,
        insecure_flag: bool,
    ) -> anyhow::Result<nightwatch_app::access::AccessConfig> {
        use nightwatch_app::access::AccessConfig;
        use nightwatch_core::access::{Limit, Role};
        let defaults = AccessConfig::default();
        let duration = |key: &str, text: &Option<String>, default: chrono::Duration| {
            text.as_deref()
                .map(|text| {
                    let d = parse_duration(key, text)?;
                    chrono::Duration::from_std(d).with_context(|| format!("{key}: too long"))
                })
                .transpose()
                .map(|d| d.unwrap_or(default))
        };
        let proxy_addresses = self
            .proxy_addresses
            .iter()
            .map(|text| {
                text.parse::<ipnet::IpNet>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .with_context(|| {
                        format!("access.proxy_addresses: {text:?} is not an address or CIDR range")
                    })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if self.proxy_header.is_some() && proxy_addresses.is_empty() {
            anyhow::bail!(
                "access.proxy_header is set but access.proxy_addresses is empty: name the proxies \
                 allowed to send it"
            );
        }
        let proxy_default_role = match &self.proxy_default_role {
            Some(text) => text
                .parse::<Role>()
                .map_err(|e| anyhow::anyhow!("access.proxy_default_role: {e}"))?,
            None => defaults.proxy_default_role,
        };
        let allowed_hosts = match &self.allowed_hosts {
            Some(hosts) => hosts.clone(),
            // The listen address and localhost; listening on every interface (a container),
            // any name the cluster routes here.
            None if listen.ip().is_unspecified() => vec!["*".to_owned()],
            None => {
                let mut hosts = defaults.allowed_hosts.clone();
                hosts.push(listen.ip().to_string());
                hosts
            }
        };
        let max_failed = self
            .max_failed_logins
            .unwrap_or(defaults.login_failures.max);
        let regenerations = self
            .regenerations_per_hour
            .unwrap_or(defaults.regenerate.max);
        if max_failed == 0 || regenerations == 0 {
            anyhow::bail!(
                "access.max_failed_logins and access.regenerations_per_hour must be at least 1"
            );
        }
        Ok(AccessConfig {
            enabled: !insecure_flag && self.enabled.unwrap_or(true),
            session_ttl: duration(
                "access.session_ttl",
                &self.session_ttl,
                defaults.session_ttl,
            )?,
            allowed_hosts,
            proxy_header: self.proxy_header.clone(),
            proxy_addresses,
            proxy_default_role,
            secure_cookies: self.secure_cookies.unwrap_or(false),
            login_failures: Limit {
                max: max_failed,
                window: duration(
                    "access.lockout",
                    &self.lockout,
                    defaults.login_failures.window,
                )?,
            },
            regenerate: Limit {
                max: regenerations,
                window: chrono::Duration::hours(1),
            },
            slack_users: self.slack_users.clone(),
        })
    }
}

pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_MAX_CONCURRENT_INGEST: usize = 64;
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The config file's shape. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    log_level: Option<String>,
    log_json: Option<bool>,
    max_body_bytes: Option<usize>,
    max_clock_skew: Option<String>,
    ingest: IngestSection,
    http: HttpSection,
    retention: RetentionSection,
    workers: Option<usize>,
    fingerprint: FingerprintConfig,
    auth: AuthConfig,
    access: AccessSection,
    runbooks_dir: Option<PathBuf>,
    policy_file: Option<PathBuf>,
    kubernetes: KubernetesConfig,
    actions: ActionsConfig,
    llm: Option<LlmSection>,
    sources: SourcesConfig,
    notify: nightwatch_app::slack::NotifyConfig,
    briefing: BriefingConfig,
    verdicts: VerdictsConfig,
    tuning: nightwatch_app::tuning::TuningConfig,
}

impl FileConfig {
    /// Refuses values nightwatch cannot run with, naming the key, instead of replacing them.
    fn check(&self) -> anyhow::Result<()> {
        fn at_least_one(key: &str, value: Option<u64>) -> anyhow::Result<()> {
            match value {
                Some(0) => anyhow::bail!("{key} = 0: must be at least 1"),
                _ => Ok(()),
            }
        }
        at_least_one(
            "notify.nag.nags_per_target",
            Some(u64::from(self.notify.nag.nags_per_target)),
        )?;
        at_least_one("workers", self.workers.map(|n| n as u64))?;
        at_least_one("max_body_bytes", self.max_body_bytes.map(|n| n as u64))?;
        for (key, value) in [
            ("ingest.max_concurrent", self.ingest.max_concurrent),
            ("http.max_connections", self.http.max_connections),
            ("ingest.max_alerts", self.ingest.max_alerts),
            ("ingest.max_labels", self.ingest.max_labels),
            ("ingest.max_name_bytes", self.ingest.max_name_bytes),
            ("ingest.max_value_bytes", self.ingest.max_value_bytes),
        ] {
            at_least_one(key, value.map(|n| n as u64))?;
        }
        Ok(())
    }

    /// The durations, from their one spelling or the deprecated seconds keys (noted).
    fn timings(&self, notices: &mut Vec<String>) -> anyhow::Result<(ActionTimings, Duration)> {
        let a = &self.actions;
        let timings = ActionTimings {
            lease: a
                .lease
                .as_deref()
                .map(|text| parse_duration("actions.lease", text))
                .transpose()?,
            verify_timeout: duration_or_seconds(
                ("actions.verify_timeout", a.verify_timeout.as_deref()),
                ("actions.verify_timeout_seconds", a.verify_timeout_seconds),
                notices,
            )?,
            verify_interval: duration_or_seconds(
                ("actions.verify_interval", a.verify_interval.as_deref()),
                ("actions.verify_interval_seconds", a.verify_interval_seconds),
                notices,
            )?,
            recheck_after: duration_or_seconds(
                ("actions.recheck_after", a.recheck_after.as_deref()),
                ("actions.recheck_seconds", a.recheck_seconds),
                notices,
            )?,
        };
        let defaults = nightwatch_app::respond::RespondSettings::default();
        let lease = timings.lease.unwrap_or(defaults.lease);
        let verify_timeout = timings.verify_timeout.unwrap_or(defaults.verify_timeout);
        if lease <= verify_timeout {
            // A live worker still verifying would see its action taken up by another.
            anyhow::bail!(
                "actions.lease ({lease:?}) must be longer than actions.verify_timeout ({verify_timeout:?})"
            );
        }
        let nag = &self.notify.nag;
        let nag_interval = duration_or_seconds(
            ("notify.nag.interval", nag.interval.as_deref()),
            ("notify.nag.interval_seconds", nag.interval_seconds),
            notices,
        )?
        .unwrap_or(nightwatch_app::slack::DEFAULT_NAG_INTERVAL);
        Ok((timings, nag_interval))
    }
}

/// When the briefing is posted (to Slack when configured, and to the log).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BriefingConfig {
    pub on_start: bool,
    /// Cron expression (UTC), e.g. `0 8 * * 1-5`; none: only at start and on demand.
    pub schedule: Option<String>,
}

impl Default for BriefingConfig {
    fn default() -> Self {
        BriefingConfig {
            on_start: true,
            schedule: None,
        }
    }
}

/// How nightwatch reaches the cluster.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KubernetesConfig {
    /// false: never touch a cluster (runbooks route, read steps record that there is no access).
    pub enabled: Option<bool>,
    pub kubeconfig: Option<PathBuf>,
    /// How long one request to the API server may take (`"30s"`).
    pub timeout: Option<String>,
}

/// How actions run once the policy allows them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ActionsConfig {
    /// The image `fix_imagepullbackoff` falls back to.
    pub fallback_image: Option<String>,
    /// An action not confirmed by then counts as failed (`"3m"`).
    pub verify_timeout: Option<String>,
    /// Pause between verification reads (`"2s"`).
    pub verify_interval: Option<String>,
    /// A runbook run whose action gates were all closed runs again after this (`"2m"`: the
    /// evidence may come, a second OOM kill, a node turning healthy)…
    pub recheck_after: Option<String>,
    /// …at most this many times (0: never).
    pub max_rechecks: Option<u32>,
    /// A runbook run or an approved action whose process died is taken up by another after
    /// this (`"10m"`); longer than `verify_timeout`.
    pub lease: Option<String>,
    /// Deprecated spellings of the three durations above, in seconds.
    pub verify_timeout_seconds: Option<f64>,
    pub verify_interval_seconds: Option<f64>,
    pub recheck_seconds: Option<f64>,
}

/// The `[actions]` durations, resolved from either spelling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionTimings {
    pub lease: Option<Duration>,
    pub verify_timeout: Option<Duration>,
    pub verify_interval: Option<Duration>,
    pub recheck_after: Option<Duration>,
}

/// Verdicts nightwatch sets itself.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VerdictsConfig {
    /// Namespaces (globs) whose incidents get the verdict noise automatically; default
    /// `["tenant-test-*"]`, `[]` for none.
    pub noise_namespaces: Option<Vec<String>>,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub log_level: String,
    pub log_json: bool,
    pub max_body_bytes: usize,
    /// `[ingest]`: concurrency, body timeout and content limits of webhook deliveries.
    pub max_concurrent_ingest: usize,
    /// `[http]`: connections at once and the header / idle deadline.
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub ingest_limits: nightwatch_core::parse::limits::Limits,
    /// Queue workers (Postgres; SQLite has one writer, so one worker).
    pub workers: usize,
    pub fingerprint: FingerprintConfig,
    pub auth: AuthConfig,
    /// `[access]` with `--insecure-no-auth`, resolved.
    pub access: nightwatch_app::access::AccessConfig,
    pub runbooks_dir: Option<PathBuf>,
    pub policy_file: Option<PathBuf>,
    /// `--mode` / NIGHTWATCH_MODE: overrides the policy file's mode.
    pub mode: Option<String>,
    pub kubernetes: KubernetesConfig,
    pub actions: ActionsConfig,
    /// `[llm]` overlaid by `ANTHROPIC_*` / `OPENAI_*`; `None`: no model, template analyses.
    pub llm: Option<LlmConfig>,
    /// The file's `[llm]` as written (replay re-resolves it for another provider).
    pub llm_section: Option<LlmSection>,
    /// Prometheus, Alertmanager, Loki, VictoriaLogs, Grafana for the investigation's tools.
    pub sources: SourcesConfig,
    /// Slack and the nag settings.
    pub notify: nightwatch_app::slack::NotifyConfig,
    pub briefing: BriefingConfig,
    pub verdicts: VerdictsConfig,
    pub tuning: nightwatch_app::tuning::TuningConfig,
    /// `briefing.schedule`, parsed.
    pub briefing_schedule: Option<croner::Cron>,
    /// How far ahead of our clock a sender's `startsAt` may be before it is clamped.
    pub max_clock_skew: Duration,
    /// `[actions]` durations, parsed.
    pub action_timings: ActionTimings,
    /// `[notify.nag] interval`, parsed (default 10 minutes).
    pub nag_interval: Duration,
    /// `[kubernetes] timeout`, parsed.
    pub kubernetes_timeout: Duration,
    /// `[retention]`, parsed.
    pub retention: nightwatch_app::retention::Retention,
    /// Deprecated keys the file used, each with what to write instead; logged at start.
    pub deprecations: Vec<String>,
}

impl Config {
    /// The configuration from the command line, the file it names and the environment.
    pub fn load(cli: &Cli) -> anyhow::Result<Config> {
        let file: FileConfig = match &cli.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        Config::resolve(file, cli, |name| std::env::var(name).ok())
    }

    /// A config file's text as `nightwatch serve` with no flags and no environment would take
    /// it: every check `load` makes, nothing read from outside (what the fuzzer drives).
    pub fn from_file_text(text: &str) -> anyhow::Result<Config> {
        let file = toml::from_str::<FileConfig>(text).context("invalid config file")?;
        let cli = Cli {
            config: None,
            database_url: None,
            log_level: None,
            log_json: None,
            runbooks: None,
            policy: None,
            command: Command::Serve(Default::default()),
        };
        Config::resolve(file, &cli, |_| None)
    }

    fn resolve(
        file: FileConfig,
        cli: &Cli,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Config> {
        file.check()?;
        let mut deprecations = Vec::new();
        let (action_timings, nag_interval) = file.timings(&mut deprecations)?;
        if let Some(section) = &file.llm {
            deprecations.extend(section.deprecations());
        }
        let (listen_flag, mode, kubeconfig, insecure_no_auth) = match &cli.command {
            Command::Serve(args) => (
                args.listen,
                args.mode.clone(),
                args.kubeconfig.clone(),
                args.insecure_no_auth,
            ),
            _ => (None, None, None, false),
        };
        let kubernetes_timeout = match &file.kubernetes.timeout {
            Some(text) => nightwatch_core::duration::parse_duration("kubernetes.timeout", text)?,
            None => nightwatch_kube::DEFAULT_REQUEST_TIMEOUT,
        };
        // AGENT_MODE is what other agents of this kind read; nightwatch's own spelling wins.
        let mode = mode.or_else(|| env("AGENT_MODE").filter(|m| !m.trim().is_empty()));
        let mut kubernetes = file.kubernetes;
        if kubeconfig.is_some() {
            kubernetes.kubeconfig = kubeconfig;
        }
        let listen = match listen_flag.or(file.listen) {
            Some(addr) => addr,
            None if env("KUBERNETES_SERVICE_HOST").is_some() => DEFAULT_LISTEN_IN_POD
                .parse()
                .context("default listen address")?,
            None => DEFAULT_LISTEN.parse().context("default listen address")?,
        };
        let briefing_schedule = file
            .briefing
            .schedule
            .as_deref()
            .map(|pattern| {
                <croner::Cron as std::str::FromStr>::from_str(pattern).with_context(|| {
                    format!("briefing.schedule {pattern:?} is not a cron expression")
                })
            })
            .transpose()?;
        let llm = LlmConfig::resolve(file.llm.as_ref(), env)?;
        let retention = file.retention.resolve()?;
        let access = file.access.resolve(listen, insecure_no_auth)?;
        Ok(Config {
            listen,
            database_url: cli
                .database_url
                .clone()
                .or(file.database_url)
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            log_level: cli
                .log_level
                .clone()
                .or(file.log_level)
                .unwrap_or_else(|| "info".to_owned()),
            log_json: cli.log_json.or(file.log_json).unwrap_or(false),
            max_body_bytes: file.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            max_connections: file.http.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
            header_timeout: match &file.http.header_timeout {
                Some(text) => {
                    nightwatch_core::duration::parse_duration("http.header_timeout", text)?
                }
                None => DEFAULT_HEADER_TIMEOUT,
            },
            max_concurrent_ingest: file
                .ingest
                .max_concurrent
                .unwrap_or(DEFAULT_MAX_CONCURRENT_INGEST),
            body_timeout: match &file.ingest.body_timeout {
                Some(text) => {
                    nightwatch_core::duration::parse_duration("ingest.body_timeout", text)?
                }
                None => DEFAULT_BODY_TIMEOUT,
            },
            ingest_limits: {
                let defaults = nightwatch_core::parse::limits::Limits::default();
                nightwatch_core::parse::limits::Limits {
                    max_alerts: file.ingest.max_alerts.unwrap_or(defaults.max_alerts),
                    max_labels: file.ingest.max_labels.unwrap_or(defaults.max_labels),
                    max_name_bytes: file
                        .ingest
                        .max_name_bytes
                        .unwrap_or(defaults.max_name_bytes),
                    max_value_bytes: file
                        .ingest
                        .max_value_bytes
                        .unwrap_or(defaults.max_value_bytes),
                }
            },
            workers: file.workers.unwrap_or(2),
            fingerprint: file.fingerprint,
            auth: file.auth,
            access,
            runbooks_dir: cli.runbooks.clone().or(file.runbooks_dir),
            policy_file: cli.policy.clone().or(file.policy_file),
            mode,
            kubernetes,
            actions: file.actions,
            llm,
            llm_section: file.llm,
            sources: file.sources,
            notify: file.notify,
            briefing: file.briefing,
            verdicts: file.verdicts,
            tuning: file.tuning,
            briefing_schedule,
            max_clock_skew: match &file.max_clock_skew {
                Some(text) => nightwatch_core::duration::parse_duration("max_clock_skew", text)?,
                None => nightwatch_core::parse::skew::DEFAULT_MAX_CLOCK_SKEW
                    .to_std()
                    .context("the default clock skew")?,
            },
            action_timings,
            nag_interval,
            kubernetes_timeout,
            retention,
            deprecations,
        })
    }

    /// The database URL with any password replaced, for logs and messages.
    pub fn redacted_database_url(&self) -> String {
        redact_url_password(&self.database_url)
    }
}

fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn in_a_pod_it_listens_on_every_interface_and_reads_agent_mode() {
        let resolve = |args: &[&str], vars: &[(&str, &str)]| {
            let cli = Cli::try_parse_from(args).unwrap();
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Config::resolve(FileConfig::default(), &cli, |name| {
                vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
            })
            .unwrap()
        };
        let outside = resolve(&["nightwatch", "serve"], &[]);
        assert_eq!(outside.listen.to_string(), DEFAULT_LISTEN);
        assert!(!outside.access.allowed_hosts.contains(&"*".to_owned()));
        assert_eq!(outside.mode, None);
        let pod = resolve(
            &["nightwatch", "serve"],
            &[
                ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
                ("AGENT_MODE", "auto"),
            ],
        );
        assert_eq!(pod.listen.to_string(), DEFAULT_LISTEN_IN_POD);
        assert_eq!(
            pod.access.allowed_hosts,
            ["*"],
            "any name the Service routes here"
        );
        assert_eq!(pod.mode.as_deref(), Some("auto"));
        let flagged = resolve(
            &[
                "nightwatch",
                "serve",
                "--mode",
                "recommend",
                "--listen",
                "127.0.0.1:9000",
            ],
            &[
                ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
                ("AGENT_MODE", "auto"),
            ],
        );
        assert_eq!(
            flagged.mode.as_deref(),
            Some("recommend"),
            "nightwatch's own spelling wins"
        );
        assert_eq!(flagged.listen.to_string(), "127.0.0.1:9000");
    }

    #[test]
    fn precedence_flags_over_env_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nightwatch.toml");
        std::fs::write(
            &path,
            r#"
listen = "127.0.0.1:9999"
database_url = "sqlite://from-file.db"
log_level = "debug"

[fingerprint]
pod_labels = ["alertname", "pod"]

[auth.grafana.hmac]
secret = "s3cret"
"#,
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "nightwatch",
            "--config",
            path.to_str().unwrap(),
            "--database-url",
            "postgres://u:pw@db/nw",
            "serve",
        ])
        .unwrap();
        let config = Config::load(&cli).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(config.database_url, "postgres://u:pw@db/nw");
        assert_eq!(config.redacted_database_url(), "postgres://u:***@db/nw");
        assert_eq!(config.fingerprint.pod_labels, vec!["alertname", "pod"]);
        let hmac = config.auth.grafana.hmac.unwrap();
        assert_eq!(hmac.header, "X-Grafana-Alerting-Signature");
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "listne = \"127.0.0.1:1\"\n").unwrap();
        let cli =
            Cli::try_parse_from(["nightwatch", "--config", path.to_str().unwrap(), "migrate"])
                .unwrap();
        let error = format!("{:#}", Config::load(&cli).unwrap_err());
        assert!(error.contains("listne"), "{error}");
    }

    #[test]
    fn values_nightwatch_cannot_run_with_are_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nightwatch.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            let cli =
                Cli::try_parse_from(["nightwatch", "--config", path.to_str().unwrap(), "migrate"])
                    .unwrap();
            Config::load(&cli)
        };
        for (text, key) in [
            (
                "[actions]\nverify_interval = \"0s\"",
                "actions.verify_interval",
            ),
            (
                "[actions]\nverify_timeout = \"soon\"",
                "actions.verify_timeout",
            ),
            (
                "[actions]\nverify_interval_seconds = -2.5",
                "actions.verify_interval_seconds",
            ),
            (
                "[actions]\nrecheck_seconds = nan",
                "actions.recheck_seconds",
            ),
            (
                "[actions]\nverify_timeout_seconds = 0",
                "actions.verify_timeout_seconds",
            ),
            (
                "[actions]\nrecheck_after = \"1m\"\nrecheck_seconds = 60",
                "actions.recheck_seconds",
            ),
            ("[notify.nag]\ninterval = \"0m\"", "notify.nag.interval"),
            (
                "[notify.nag]\ninterval_seconds = 0",
                "notify.nag.interval_seconds",
            ),
            (
                "[notify.nag]\nnags_per_target = 0",
                "notify.nag.nags_per_target",
            ),
            ("workers = 0", "workers"),
            ("max_body_bytes = 0", "max_body_bytes"),
            ("[retention]\nalerts = \"forever\"", "retention.alerts"),
            ("[retention]\nincidents = \"0d\"", "retention.incidents"),
            ("[retention]\ninterval = \"off\"", "retention.interval"),
        ] {
            let error = load(text).unwrap_err().to_string();
            assert!(error.starts_with(&format!("{key} = ")), "{text:?}: {error}");
        }
        let kept = load("[retention]\nalerts = \"7d\"\nincidents = \"off\"\ninterval = \"10m\"")
            .unwrap()
            .retention;
        assert_eq!(
            kept,
            nightwatch_app::retention::Retention {
                alerts: Some(Duration::from_secs(7 * 24 * 3600)),
                incidents: None,
                interval: Duration::from_secs(600),
            }
        );
        assert_eq!(
            load("").unwrap().retention,
            nightwatch_app::retention::Retention::default()
        );
        let config = load(
            "workers = 1\n[actions]\nverify_interval = \"500ms\"\nrecheck_after = \"2m\"\nlease = \"5m\"\n\
             [notify.nag]\ninterval = \"15m\"",
        )
        .unwrap();
        assert_eq!(
            config.action_timings,
            ActionTimings {
                lease: Some(Duration::from_secs(300)),
                verify_timeout: None,
                verify_interval: Some(Duration::from_millis(500)),
                recheck_after: Some(Duration::from_secs(120)),
            }
        );
        assert_eq!(config.nag_interval, Duration::from_secs(900));
        assert!(config.deprecations.is_empty());
        // A lease no longer than verification would let a live worker's action be taken up.
        let error = load("[actions]\nlease = \"1m\"\nverify_timeout = \"2m\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("actions.lease"), "{error}");
    }

    #[test]
    fn the_old_seconds_keys_still_load_with_a_deprecation_notice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nightwatch.toml");
        std::fs::write(
            &path,
            "[actions]\nverify_timeout_seconds = 150\nverify_interval_seconds = 1\n\
             recheck_seconds = 5\n[notify.nag]\ninterval_seconds = 1\n\
             [llm.http]\ntimeout_secs = 60\n[llm.budget]\nmax_wall_secs = 90",
        )
        .unwrap();
        let cli =
            Cli::try_parse_from(["nightwatch", "--config", path.to_str().unwrap(), "migrate"])
                .unwrap();
        let config = Config::load(&cli).unwrap();
        assert_eq!(
            config.action_timings.verify_timeout,
            Some(Duration::from_secs(150))
        );
        assert_eq!(
            config.action_timings.verify_interval,
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            config.action_timings.recheck_after,
            Some(Duration::from_secs(5))
        );
        assert_eq!(config.nag_interval, Duration::from_secs(1));
        assert_eq!(
            config.deprecations,
            [
                "actions.verify_timeout_seconds is deprecated: write verify_timeout = \"2m 30s\"",
                "actions.verify_interval_seconds is deprecated: write verify_interval = \"1s\"",
                "actions.recheck_seconds is deprecated: write recheck_after = \"5s\"",
                "notify.nag.interval_seconds is deprecated: write interval = \"1s\"",
                "llm.http.timeout_secs is deprecated: write timeout = \"1m\"",
                "llm.budget.max_wall_secs is deprecated: write max_wall = \"1m 30s\"",
            ]
        );
    }
}
