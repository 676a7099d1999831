//! Command-line interface. Flags override environment variables, which override the config
//! file, which overrides the defaults.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// `0.1.0 (commit 1a2b3c4d5e6f, 2026-12-03)`: the version, the commit built and its date.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("NIGHTWATCH_COMMIT"),
    ", ",
    env!("NIGHTWATCH_BUILD_DATE"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "nightwatch",
    version = VERSION,
    about = "An autonomous SRE agent for Kubernetes"
)]
pub struct Cli {
    /// Config file (TOML).
    #[arg(long, global = true, env = "NIGHTWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Store: sqlite://PATH (default sqlite://nightwatch.db) or postgres://…
    #[arg(long, global = true, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Log filter, e.g. info or nightwatch=debug,info.
    #[arg(long, global = true, env = "LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Log as JSON lines.
    #[arg(long, global = true, env = "LOG_JSON")]
    pub log_json: Option<bool>,
    /// Directory of user runbooks (*.md) that add to or override the built-ins by id.
    #[arg(long, global = true, env = "NIGHTWATCH_RUNBOOKS")]
    pub runbooks: Option<PathBuf>,
    /// Policy file (YAML); without one the built-in default policy applies (recommend mode).
    #[arg(long, global = true, env = "NIGHTWATCH_POLICY")]
    pub policy: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Receive alerts, keep incidents, serve the API and the UI.
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate,
    /// The version, the commit it was built from and that commit's date.
    Version,
    /// Users who sign in to the pages and the API.
    #[command(subcommand)]
    Users(UsersCommand),
    /// API tokens (`Authorization: Bearer`), for scripts and services.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Look at incidents from the command line.
    #[command(subcommand)]
    Incidents(IncidentsCommand),
    /// List, show, validate and try out runbooks.
    #[command(subcommand)]
    Runbooks(RunbooksCommand),
    /// Run a webhook body file, a case folder (nightwatch, HolmesGPT or OpenSRE format) or a
    /// stored delivery (`delivery:ID`) through routing, the runbook, the investigation and the
    /// analysis, with recorded tool outputs and no cluster; print what happened.
    Replay(ReplayArgs),
    /// The briefing: incidents by alert and verdict, MTTA, MTTR, auto-fix rate, recurring
    /// noise, recent real incidents, what waits for a human.
    Briefing {
        #[arg(long, default_value_t = nightwatch_app::briefing::DEFAULT_DAYS)]
        days: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A webhook body file, a case folder, or `delivery:ID` from the configured database.
    pub path: String,
    #[arg(long, value_enum, default_value = "auto")]
    pub provider: crate::replay_cmd::ReplayProvider,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: crate::replay_cmd::ReplayFormat,
    /// alertmanager, grafana or signoz (a body file's sender); default: guessed.
    #[arg(long)]
    pub source: Option<String>,
    /// PATH is a folder of case folders (looked for two levels deep): replay each and print one
    /// row per case (runbook, category, keywords, expected facts, tool calls, time) and the
    /// totals, instead of each report.
    #[arg(long)]
    pub quality: bool,
    /// Replay as if the analyzers had read nothing (routing by name only, no findings in the
    /// model's prompt, no action premise): compare with a normal replay to measure what reading
    /// the evidence first changes.
    #[arg(long)]
    pub without_evidence: bool,
}

#[derive(Debug, Subcommand)]
pub enum RunbooksCommand {
    /// Every runbook in effect (built-ins and --runbooks), with where it comes from.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One runbook: its match rules, steps and text.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Check a directory of runbooks (with the built-ins); exits non-zero on any error.
    Validate { dir: PathBuf },
    /// For each alert of a webhook payload file, the runbook its labels and alertname choose.
    Route {
        file: PathBuf,
        /// alertmanager, grafana or signoz; default: guessed from the payload.
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080; 0.0.0.0:8080 inside a Kubernetes pod).
    #[arg(long, env = "NIGHTWATCH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// recommend (default: actions wait for a human) or auto; overrides the policy file.
    /// `AGENT_MODE` is read too, as other agents of this kind name it.
    #[arg(long, env = "NIGHTWATCH_MODE")]
    pub mode: Option<String>,
    /// Kubeconfig to reach the cluster; default: in-cluster, then $KUBECONFIG / ~/.kube/config.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// No logins, no roles: anyone who reaches the port may do anything (a lab only; every
    /// page says so in red).
    #[arg(long, env = "NIGHTWATCH_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user; prints a generated password unless --password-stdin gives one.
    Add {
        name: String,
        /// viewer, responder, approver or admin.
        #[arg(long, default_value = "responder")]
        role: String,
        /// Read the password from standard input (one line) instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (from standard input, or generated and printed); their sessions end.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role.
    Role { name: String, role: String },
    /// Every user with their role.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a user: their sessions end and their tokens stop working.
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create an API token (shown once; only its hash is kept).
    Create {
        /// What it is for (`ci`, `prometheus-scrape`).
        name: String,
        #[arg(long, default_value = "viewer")]
        role: String,
        /// The user it acts for (its role never exceeds theirs); default: a service token.
        #[arg(long)]
        user: Option<String>,
        /// How long it lives (`90d`); default: until revoked.
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// Every token (never the secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// List incidents, newest first.
    List(ListArgs),
    /// Show one incident with its alerts and timeline.
    Show {
        id: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long)]
    pub alertname: Option<String>,
    #[arg(long)]
    pub namespace: Option<String>,
    #[arg(long)]
    pub node: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}
