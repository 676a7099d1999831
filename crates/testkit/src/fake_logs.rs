//! Wire-faithful fakes of Loki, VictoriaLogs and Grafana for the `nightwatch-sources` clients:
//! real HTTP servers on 127.0.0.1 answering the documented endpoints with the documented shapes,
//! filtering honestly (stream selectors, line filters, time ranges, limits, tags) and refusing bad
//! requests with the status and error body the real servers use.
//!
//! Each fake runs on its own thread and runtime, so it works from `#[tokio::test]` (any flavour)
//! and from plain tests alike. Dropping it stops the server.
//!
//! Supported query languages are subsets, and anything outside them is refused (400), never
//! silently matched:
//! - LogQL: `{label op "value", …}` (`=`, `!=`, `=~`, `!~`) followed by line filters (`|=`, `!=`,
//!   `|~`, `!~`), or `count_over_time(<that> [<duration>])` for a matrix.
//! - LogsQL: whitespace-separated terms, all of which must match: `*`, a word or `"phrase"` in
//!   `_msg`, `field:word` / `field:"phrase"`, `_stream:{label op "value", …}`, `_time:<duration>`,
//!   each optionally negated with `-` or `!`; `AND` is allowed.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use regex::Regex;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

type Labels = BTreeMap<String, String>;
type Params = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn params_all<'a>(params: &'a Params, name: &str) -> Vec<&'a str> {
    params
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

// ---------------------------------------------------------------- the server runner

struct Server {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    fn start(router: Router) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        Server {
            addr,
            shutdown: Some(tx),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Loki and VictoriaLogs answer errors with Go's `http.Error`: plain text and a newline.
fn text_error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [("content-type", "text/plain; charset=utf-8")],
        format!("{}\n", message.into()),
    )
        .into_response()
}

// ---------------------------------------------------------------- label matchers (shared)

#[derive(Debug, Clone)]
struct LabelMatcher {
    name: String,
    op: &'static str,
    value: String,
    regex: Option<Regex>,
}

impl LabelMatcher {
    fn matches(&self, labels: &Labels) -> bool {
        let actual = labels.get(&self.name).map(String::as_str).unwrap_or("");
        match self.op {
            "=" => actual == self.value,
            "!=" => actual != self.value,
            "=~" => self.regex.as_ref().is_some_and(|r| r.is_match(actual)),
            _ => !self.regex.as_ref().is_some_and(|r| r.is_match(actual)),
        }
    }

    fn matches_empty(&self) -> bool {
        self.matches(&Labels::new())
    }
}

/// A small cursor over a query text.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.rest().is_empty()
    }

    fn ident(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            return None;
        }
        self.pos += len;
        Some(&rest[..len])
    }

    /// A `"…"` string with Go escapes, or a `` `…` `` raw string.
    fn string(&mut self) -> Result<String, String> {
        self.skip_ws();
        let rest = self.rest();
        if let Some(raw) = rest.strip_prefix('`') {
            let end = raw.find('`').ok_or("unterminated raw string")?;
            self.pos += end + 2;
            return Ok(raw[..end].to_owned());
        }
        if !rest.starts_with('"') {
            return Err(format!("expected a string at {:?}", truncate(rest)));
        }
        let mut out = String::new();
        let mut chars = rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, other)) => out.push(other),
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err("unterminated string".into())
    }

    /// `{name op "value", …}`.
    fn selector(&mut self) -> Result<Vec<LabelMatcher>, String> {
        if !self.eat("{") {
            return Err(format!("expected {{ at {:?}", truncate(self.rest())));
        }
        let mut matchers = Vec::new();
        loop {
            if self.eat("}") {
                break;
            }
            let name = self
                .ident()
                .ok_or_else(|| format!("expected a label name at {:?}", truncate(self.rest())))?;
            let op = ["=~", "!~", "!=", "="]
                .into_iter()
                .find(|op| self.eat(op))
                .ok_or_else(|| format!("expected a matcher operator after {name}"))?;
            let value = self.string()?;
            let regex = if op.contains('~') {
                Some(
                    Regex::new(&format!("^(?:{value})$"))
                        .map_err(|e| format!("invalid regex {value:?}: {e}"))?,
                )
            } else {
                None
            };
            matchers.push(LabelMatcher {
                name: name.to_owned(),
                op,
                value,
                regex,
            });
            if self.eat(",") {
                continue;
            }
            if self.eat("}") {
                break;
            }
            return Err(format!("expected , or }} at {:?}", truncate(self.rest())));
        }
        Ok(matchers)
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(30).collect()
}

fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    humantime_like(text).ok_or_else(|| format!("invalid duration {text:?}"))
}

/// Prometheus-style durations: `30s`, `5m`, `1h30m`, `2d`, `100ms`.
fn humantime_like(text: &str) -> Option<chrono::Duration> {
    let mut total = chrono::Duration::zero();
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        total += match unit {
            "ms" => chrono::Duration::milliseconds(n),
            "s" => chrono::Duration::seconds(n),
            "m" => chrono::Duration::minutes(n),
            "h" => chrono::Duration::hours(n),
            "d" => chrono::Duration::days(n),
            "w" => chrono::Duration::weeks(n),
            _ => return None,
        };
    }
    Some(total)
}

// ---------------------------------------------------------------- Loki

#[derive(Debug, Clone)]
struct LokiEntry {
    stream: Labels,
    time: DateTime<Utc>,
    line: String,
}

#[derive(Default)]
struct LokiState {
    entries: Vec<LokiEntry>,
    tenant: Option<String>,
    requests: Vec<Params>,
}

/// A fake Loki serving `GET /loki/api/v1/query_range`.
pub struct FakeLoki {
    server: Server,
    state: Arc<Mutex<LokiState>>,
}

impl FakeLoki {
    pub fn start() -> FakeLoki {
        let state = Arc::new(Mutex::new(LokiState::default()));
        let router = Router::new()
            .route("/loki/api/v1/query_range", get(loki_query_range))
            .route("/ready", get(|| async { "ready\n" }))
            .with_state(state.clone());
        FakeLoki {
            server: Server::start(router),
            state,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Requires `X-Scope-OrgID: tenant` on every query (multi-tenant Loki), answering 401
    /// `no org id` without it.
    pub fn require_tenant(&self, tenant: &str) {
        self.state.lock().unwrap().tenant = Some(tenant.to_owned());
    }

    pub fn push(&self, stream: &[(&str, &str)], time: DateTime<Utc>, line: &str) {
        self.state.lock().unwrap().entries.push(LokiEntry {
            stream: labels(stream),
            time,
            line: line.to_owned(),
        });
    }

    /// The query parameters of every request so far.
    pub fn requests(&self) -> Vec<Vec<(String, String)>> {
        self.state.lock().unwrap().requests.clone()
    }
}

enum LineFilter {
    Contains(String),
    NotContains(String),
    Matches(Regex),
    NotMatches(Regex),
}

impl LineFilter {
    fn keeps(&self, line: &str) -> bool {
        match self {
            LineFilter::Contains(s) => line.contains(s.as_str()),
            LineFilter::NotContains(s) => !line.contains(s.as_str()),
            LineFilter::Matches(r) => r.is_match(line),
            LineFilter::NotMatches(r) => !r.is_match(line),
        }
    }
}

struct LogQuery {
    selector: Vec<LabelMatcher>,
    filters: Vec<LineFilter>,
}

impl LogQuery {
    fn keeps(&self, entry: &LokiEntry) -> bool {
        self.selector.iter().all(|m| m.matches(&entry.stream))
            && self.filters.iter().all(|f| f.keeps(&entry.line))
    }
}

enum LogQl {
    Logs(LogQuery),
    CountOverTime(LogQuery, chrono::Duration),
}

fn parse_log_query(cursor: &mut Cursor) -> Result<LogQuery, String> {
    let selector = cursor.selector()?;
    if selector.iter().all(LabelMatcher::matches_empty) {
        return Err("queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will".into());
    }
    let mut filters = Vec::new();
    loop {
        let filter = if cursor.eat("|=") {
            LineFilter::Contains(cursor.string()?)
        } else if cursor.eat("!=") {
            LineFilter::NotContains(cursor.string()?)
        } else if cursor.eat("|~") {
            let pattern = cursor.string()?;
            LineFilter::Matches(
                Regex::new(&pattern).map_err(|e| format!("invalid regex {pattern:?}: {e}"))?,
            )
        } else if cursor.eat("!~") {
            let pattern = cursor.string()?;
            LineFilter::NotMatches(
                Regex::new(&pattern).map_err(|e| format!("invalid regex {pattern:?}: {e}"))?,
            )
        } else {
            break;
        };
        filters.push(filter);
    }
    Ok(LogQuery { selector, filters })
}

fn parse_logql(text: &str) -> Result<LogQl, String> {
    let mut cursor = Cursor::new(text);
    if cursor.at_end() {
        return Err("syntax error: unexpected $end".into());
    }
    let query = if cursor.eat("count_over_time") {
        if !cursor.eat("(") {
            return Err("syntax error: expected (".into());
        }
        let inner = parse_log_query(&mut cursor)?;
        if !cursor.eat("[") {
            return Err("syntax error: expected a range [duration]".into());
        }
        let close = cursor
            .rest()
            .find(']')
            .ok_or("syntax error: unterminated range")?;
        let range = parse_duration(&cursor.rest()[..close])?;
        cursor.pos += close + 1;
        if !cursor.eat(")") {
            return Err("syntax error: expected )".into());
        }
        LogQl::CountOverTime(inner, range)
    } else {
        LogQl::Logs(parse_log_query(&mut cursor)?)
    };
    if !cursor.at_end() {
        return Err(format!(
            "syntax error: unexpected {:?}",
            truncate(cursor.rest())
        ));
    }
    Ok(query)
}

/// Loki's timestamp forms: integer nanoseconds, fractional seconds, or RFC 3339.
fn loki_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(ns) = text.parse::<i64>() {
        return Ok(DateTime::from_timestamp_nanos(ns));
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return Ok(DateTime::from_timestamp_nanos((seconds * 1e9) as i64));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("cannot parse {text:?} to a valid timestamp"))
}

const LOKI_MAX_ENTRIES: u64 = 5000;

async fn loki_query_range(
    State(state): State<Arc<Mutex<LokiState>>>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let mut state = state.lock().unwrap();
    state.requests.push(params.clone());
    if let Some(tenant) = &state.tenant
        && headers.get("x-scope-orgid").and_then(|v| v.to_str().ok()) != Some(tenant.as_str())
    {
        return text_error(StatusCode::UNAUTHORIZED, "no org id");
    }
    let bad = |message: String| text_error(StatusCode::BAD_REQUEST, message);
    let now = Utc::now();
    let end = match param(&params, "end").map(loki_time).transpose() {
        Ok(end) => end.unwrap_or(now),
        Err(e) => return bad(e),
    };
    let start = match param(&params, "start").map(loki_time).transpose() {
        Ok(start) => start.unwrap_or(end - chrono::Duration::hours(1)),
        Err(e) => return bad(e),
    };
    if end < start {
        return bad("end timestamp must not be before or equal to start time".into());
    }
    let limit: u64 = match param(&params, "limit").map(str::parse).transpose() {
        Ok(limit) => limit.unwrap_or(100),
        Err(_) => {
            return bad(format!(
                "invalid limit {:?}",
                param(&params, "limit").unwrap_or("")
            ));
        }
    };
    if limit > LOKI_MAX_ENTRIES {
        return bad(format!(
            "max entries limit per query exceeded, limit > max_entries_limit ({limit} > {LOKI_MAX_ENTRIES})"
        ));
    }
    let forward = match param(&params, "direction").unwrap_or("backward") {
        "backward" => false,
        "forward" => true,
        other => return bad(format!("invalid direction {other:?}")),
    };
    let query = match parse_logql(param(&params, "query").unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return bad(format!("parse error : {e}")),
    };
    // Loki's range is [start, end).
    let in_range = |t: DateTime<Utc>| t >= start && t < end;
    match query {
        LogQl::Logs(query) => {
            let mut hits: Vec<&LokiEntry> = state
                .entries
                .iter()
                .filter(|e| in_range(e.time) && query.keeps(e))
                .collect();
            hits.sort_by_key(|e| e.time);
            if !forward {
                hits.reverse();
            }
            hits.truncate(limit as usize);
            let mut streams: Vec<(Labels, Vec<Value>)> = Vec::new();
            for entry in hits {
                let value = json!([
                    entry.time.timestamp_nanos_opt().unwrap_or(0).to_string(),
                    entry.line
                ]);
                match streams.iter_mut().find(|(l, _)| *l == entry.stream) {
                    Some((_, values)) => values.push(value),
                    None => streams.push((entry.stream.clone(), vec![value])),
                }
            }
            let result: Vec<Value> = streams
                .into_iter()
                .map(|(stream, values)| json!({"stream": stream, "values": values}))
                .collect();
            Json(json!({"status": "success", "data": {"resultType": "streams", "result": result, "stats": {"summary": {}}}})).into_response()
        }
        LogQl::CountOverTime(query, range) => {
            let step = match param(&params, "step") {
                None => chrono::Duration::seconds(((end - start).num_seconds() / 250).max(1)),
                Some(text) => match text.parse::<f64>() {
                    Ok(seconds) if seconds > 0.0 => {
                        chrono::Duration::milliseconds((seconds * 1000.0) as i64)
                    }
                    _ => match parse_duration(text) {
                        Ok(d) => d,
                        Err(e) => return bad(e),
                    },
                },
            };
            let mut series: BTreeMap<Labels, Vec<Value>> = BTreeMap::new();
            let mut t = start;
            while t <= end {
                let mut counts: BTreeMap<&Labels, u64> = BTreeMap::new();
                for entry in state
                    .entries
                    .iter()
                    .filter(|e| e.time > t - range && e.time <= t && query.keeps(e))
                {
                    *counts.entry(&entry.stream).or_default() += 1;
                }
                for (stream, count) in counts {
                    series
                        .entry(stream.clone())
                        .or_default()
                        .push(json!([t.timestamp(), count.to_string()]));
                }
                t += step;
            }
            let result: Vec<Value> = series
                .into_iter()
                .map(|(metric, values)| json!({"metric": metric, "values": values}))
                .collect();
            Json(json!({"status": "success", "data": {"resultType": "matrix", "result": result, "stats": {"summary": {}}}})).into_response()
        }
    }
}

// ---------------------------------------------------------------- VictoriaLogs

#[derive(Debug, Clone)]
struct VlEntry {
    stream: Labels,
    time: DateTime<Utc>,
    msg: String,
    fields: Labels,
}

#[derive(Default)]
struct VlState {
    entries: Vec<VlEntry>,
    requests: Vec<Params>,
    /// `-httpAuth.username` / `-httpAuth.password`.
    basic_auth: Option<(String, String)>,
}

/// A fake VictoriaLogs serving `/select/logsql/query` (GET query string or POST form).
pub struct FakeVictoriaLogs {
    server: Server,
    state: Arc<Mutex<VlState>>,
}

impl FakeVictoriaLogs {
    pub fn start() -> FakeVictoriaLogs {
        let state = Arc::new(Mutex::new(VlState::default()));
        let router = Router::new()
            .route("/select/logsql/query", get(vl_query).post(vl_query))
            .route("/health", get(|| async { "OK" }))
            .with_state(state.clone());
        FakeVictoriaLogs {
            server: Server::start(router),
            state,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// An entry of the stream `stream` with message `msg` and extra `fields`.
    pub fn push(
        &self,
        stream: &[(&str, &str)],
        time: DateTime<Utc>,
        msg: &str,
        fields: &[(&str, &str)],
    ) {
        self.state.lock().unwrap().entries.push(VlEntry {
            stream: labels(stream),
            time,
            msg: msg.to_owned(),
            fields: labels(fields),
        });
    }

    pub fn requests(&self) -> Vec<Vec<(String, String)>> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requires HTTP basic auth, as VictoriaLogs started with `-httpAuth.*` does.
    pub fn require_basic_auth(&self, username: &str, password: &str) {
        self.state.lock().unwrap().basic_auth = Some((username.to_owned(), password.to_owned()));
    }
}

fn basic_auth_ok(expected: &(String, String), headers: &HeaderMap) -> bool {
    use base64::Engine;
    let Some(encoded) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    decoded.as_deref() == Some(format!("{}:{}", expected.0, expected.1).as_str())
}

enum VlFilter {
    All,
    Msg(String, bool),
    Field(String, String, bool),
    Stream(Vec<LabelMatcher>),
    Since(chrono::Duration),
    Not(Box<VlFilter>),
}

impl VlFilter {
    fn keeps(&self, entry: &VlEntry, now: DateTime<Utc>) -> bool {
        match self {
            VlFilter::All => true,
            VlFilter::Msg(text, phrase) => text_matches(&entry.msg, text, *phrase),
            VlFilter::Field(name, text, phrase) => {
                let value = match name.as_str() {
                    "_msg" => Some(&entry.msg),
                    _ => entry.fields.get(name).or_else(|| entry.stream.get(name)),
                };
                value.is_some_and(|v| text_matches(v, text, *phrase))
            }
            VlFilter::Stream(matchers) => matchers.iter().all(|m| m.matches(&entry.stream)),
            VlFilter::Since(d) => entry.time > now - *d,
            VlFilter::Not(inner) => !inner.keeps(entry, now),
        }
    }
}

/// LogsQL's word filter matches whole words; a quoted phrase matches as a substring.
fn text_matches(haystack: &str, needle: &str, phrase: bool) -> bool {
    if phrase {
        return haystack.contains(needle);
    }
    haystack
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == needle)
}

fn parse_logsql(text: &str) -> Result<Vec<VlFilter>, String> {
    let mut cursor = Cursor::new(text);
    let mut filters = Vec::new();
    if cursor.at_end() {
        return Err("missing query".into());
    }
    while !cursor.at_end() {
        if cursor.rest().starts_with('|')
            || cursor.rest().starts_with('(')
            || cursor.rest().starts_with("OR ")
        {
            return Err(format!(
                "the fake supports no pipes, parentheses or OR: {:?}",
                truncate(cursor.rest())
            ));
        }
        if cursor.eat("AND ") {
            continue;
        }
        let negate = cursor.eat("-") || cursor.eat("!");
        let filter = vl_term(&mut cursor)?;
        filters.push(if negate {
            VlFilter::Not(Box::new(filter))
        } else {
            filter
        });
    }
    Ok(filters)
}

fn vl_term(cursor: &mut Cursor) -> Result<VlFilter, String> {
    cursor.skip_ws();
    if cursor.eat("*") {
        return Ok(VlFilter::All);
    }
    if cursor.rest().starts_with('"') || cursor.rest().starts_with('`') {
        return Ok(VlFilter::Msg(cursor.string()?, true));
    }
    let word = cursor
        .ident()
        .ok_or_else(|| format!("unexpected {:?}", truncate(cursor.rest())))?;
    if !cursor.rest().starts_with(':') {
        return Ok(VlFilter::Msg(word.to_owned(), false));
    }
    cursor.pos += 1;
    match word {
        "_stream" => Ok(VlFilter::Stream(cursor.selector()?)),
        "_time" => {
            let rest = cursor.rest();
            let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            cursor.pos += len;
            Ok(VlFilter::Since(parse_duration(&rest[..len])?))
        }
        field => {
            if cursor.rest().starts_with('"') {
                return Ok(VlFilter::Field(field.to_owned(), cursor.string()?, true));
            }
            let value = cursor
                .ident()
                .ok_or_else(|| format!("missing value after {field}:"))?;
            Ok(VlFilter::Field(field.to_owned(), value.to_owned(), false))
        }
    }
}

/// VictoriaLogs' time forms: RFC 3339 or Unix seconds (fractions allowed).
fn vl_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(seconds) = text.parse::<f64>() {
        return DateTime::from_timestamp_millis((seconds * 1000.0) as i64)
            .ok_or_else(|| format!("cannot parse {text:?}"));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("cannot parse timestamp {text:?}"))
}

fn stream_text(stream: &Labels) -> String {
    let inner: Vec<String> = stream.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

async fn vl_query(
    State(state): State<Arc<Mutex<VlState>>>,
    headers: HeaderMap,
    Form(params): Form<Params>,
) -> Response {
    let mut state = state.lock().unwrap();
    state.requests.push(params.clone());
    if let Some(expected) = &state.basic_auth
        && !basic_auth_ok(expected, &headers)
    {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Basic realm=\"Restricted\"")],
            "Unauthorized\n",
        )
            .into_response();
    }
    let bad = |message: String| text_error(StatusCode::BAD_REQUEST, message);
    let query = param(&params, "query").unwrap_or("");
    let filters = match parse_logsql(query) {
        Ok(f) => f,
        Err(e) => return bad(format!("cannot parse query [{query}]: {e}")),
    };
    let start = match param(&params, "start").map(vl_time).transpose() {
        Ok(t) => t,
        Err(e) => return bad(format!("cannot parse start: {e}")),
    };
    let end = match param(&params, "end").map(vl_time).transpose() {
        Ok(t) => t,
        Err(e) => return bad(format!("cannot parse end: {e}")),
    };
    let limit = match param(&params, "limit").map(str::parse::<usize>).transpose() {
        Ok(l) => l,
        Err(_) => {
            return bad(format!(
                "cannot parse limit {:?}",
                param(&params, "limit").unwrap_or("")
            ));
        }
    };
    let now = Utc::now();
    let mut hits: Vec<&VlEntry> = state
        .entries
        .iter()
        .filter(|e| start.is_none_or(|s| e.time >= s) && end.is_none_or(|t| e.time <= t))
        .filter(|e| filters.iter().all(|f| f.keeps(e, now)))
        .collect();
    // With a limit VictoriaLogs answers the newest entries, in no particular order; the fake
    // sends them oldest first so a client cannot rely on the order.
    hits.sort_by_key(|e| std::cmp::Reverse(e.time));
    if let Some(limit) = limit {
        hits.truncate(limit);
    }
    hits.reverse();
    let mut body = String::new();
    for entry in hits {
        // Fields in alphabetical order, every value a string, as VictoriaLogs writes them.
        let mut object: BTreeMap<String, String> = entry.fields.clone();
        object.insert("_msg".into(), entry.msg.clone());
        object.insert("_stream".into(), stream_text(&entry.stream));
        object.insert(
            "_time".into(),
            entry.time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        );
        body.push_str(&serde_json::to_string(&object).unwrap());
        body.push('\n');
    }
    ([("content-type", "application/stream+json")], body).into_response()
}

// ---------------------------------------------------------------- Grafana

#[derive(Debug, Clone)]
pub struct FakeDashboard {
    pub uid: String,
    pub title: String,
    pub tags: Vec<String>,
    pub folder: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FakeAnnotation {
    pub time: DateTime<Utc>,
    pub time_end: Option<DateTime<Utc>>,
    pub text: String,
    pub tags: Vec<String>,
    pub dashboard_uid: Option<String>,
}

struct GrafanaState {
    token: String,
    dashboards: Vec<FakeDashboard>,
    annotations: Vec<FakeAnnotation>,
    requests: Vec<Params>,
}

/// A fake Grafana serving `/api/search` and `/api/annotations` to callers with the right
/// service-account token (`Authorization: Bearer …`).
pub struct FakeGrafana {
    server: Server,
    state: Arc<Mutex<GrafanaState>>,
}

impl FakeGrafana {
    pub fn start(token: &str) -> FakeGrafana {
        let state = Arc::new(Mutex::new(GrafanaState {
            token: token.to_owned(),
            dashboards: Vec::new(),
            annotations: Vec::new(),
            requests: Vec::new(),
        }));
        let router = Router::new()
            .route("/api/search", get(grafana_search))
            .route("/api/annotations", get(grafana_annotations))
            .route(
                "/api/health",
                get(|| async { Json(json!({"database": "ok", "version": "11.0.0"})) }),
            )
            .with_state(state.clone());
        FakeGrafana {
            server: Server::start(router),
            state,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn add_dashboard(&self, uid: &str, title: &str, tags: &[&str], folder: Option<&str>) {
        self.state.lock().unwrap().dashboards.push(FakeDashboard {
            uid: uid.to_owned(),
            title: title.to_owned(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            folder: folder.map(str::to_owned),
        });
    }

    pub fn add_annotation(&self, annotation: FakeAnnotation) {
        self.state.lock().unwrap().annotations.push(annotation);
    }

    pub fn requests(&self) -> Vec<Vec<(String, String)>> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn grafana_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"message": message, "statusCode": status.as_u16(), "traceID": ""})),
    )
        .into_response()
}

/// Grafana's answer to a missing or wrong token; None when the token is right.
fn grafana_refusal(state: &GrafanaState, headers: &HeaderMap) -> Option<Response> {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        None => Some(grafana_error(StatusCode::UNAUTHORIZED, "Unauthorized")),
        Some(value) if value.strip_prefix("Bearer ") == Some(state.token.as_str()) => None,
        Some(_) => Some(grafana_error(StatusCode::UNAUTHORIZED, "invalid API key")),
    }
}

fn slug(title: &str) -> String {
    title
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

async fn grafana_search(
    State(state): State<Arc<Mutex<GrafanaState>>>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let mut state = state.lock().unwrap();
    state.requests.push(params.clone());
    if let Some(response) = grafana_refusal(&state, &headers) {
        return response;
    }
    let query = param(&params, "query").unwrap_or("").to_lowercase();
    let tags = params_all(&params, "tag");
    let kind = param(&params, "type");
    let limit = match param(&params, "limit").map(str::parse::<usize>).transpose() {
        Ok(limit) => limit.unwrap_or(1000),
        Err(_) => return grafana_error(StatusCode::BAD_REQUEST, "bad request data"),
    };
    let mut hits: Vec<Value> = Vec::new();
    // Folders are hits too unless the caller asks for dashboards only.
    let mut folders: Vec<&str> = state
        .dashboards
        .iter()
        .filter_map(|d| d.folder.as_deref())
        .collect();
    folders.sort();
    folders.dedup();
    if kind.is_none_or(|k| k == "dash-folder") && tags.is_empty() {
        for (i, folder) in folders.iter().enumerate() {
            if folder.to_lowercase().contains(&query) {
                hits.push(json!({"id": 1000 + i, "uid": format!("f{i}"), "title": folder, "uri": format!("db/{}", slug(folder)),
                    "url": format!("/dashboards/f/f{i}/{}", slug(folder)), "slug": "", "type": "dash-folder", "tags": [], "isStarred": false, "sortMeta": 0}));
            }
        }
    }
    if kind.is_none_or(|k| k == "dash-db") {
        for (i, d) in state.dashboards.iter().enumerate() {
            let title_ok = d.title.to_lowercase().contains(&query);
            let tags_ok = tags.iter().all(|t| d.tags.iter().any(|dt| dt == t));
            if title_ok && tags_ok {
                let mut hit = json!({"id": i + 1, "uid": d.uid, "title": d.title, "uri": format!("db/{}", slug(&d.title)),
                    "url": format!("/d/{}/{}", d.uid, slug(&d.title)), "slug": "", "type": "dash-db", "tags": d.tags,
                    "isStarred": false, "sortMeta": 0});
                if let Some(folder) = &d.folder {
                    let f = folders.iter().position(|x| x == folder).unwrap_or(0);
                    hit["folderId"] = json!(1000 + f);
                    hit["folderUid"] = json!(format!("f{f}"));
                    hit["folderTitle"] = json!(folder);
                    hit["folderUrl"] = json!(format!("/dashboards/f/f{f}/{}", slug(folder)));
                }
                hits.push(hit);
            }
        }
    }
    hits.sort_by(|a, b| a["title"].as_str().cmp(&b["title"].as_str()));
    hits.truncate(limit);
    Json(hits).into_response()
}

async fn grafana_annotations(
    State(state): State<Arc<Mutex<GrafanaState>>>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let mut state = state.lock().unwrap();
    state.requests.push(params.clone());
    if let Some(response) = grafana_refusal(&state, &headers) {
        return response;
    }
    let number = |name: &str| param(&params, name).map(str::parse::<i64>).transpose();
    let (Ok(from), Ok(to), Ok(limit)) = (number("from"), number("to"), number("limit")) else {
        return grafana_error(StatusCode::BAD_REQUEST, "bad request data");
    };
    let tags = params_all(&params, "tags");
    let dashboard = param(&params, "dashboardUID");
    let mut hits: Vec<(usize, &FakeAnnotation)> = state
        .annotations
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            let start = a.time.timestamp_millis();
            let end = a.time_end.map_or(start, |t| t.timestamp_millis());
            // Grafana keeps annotations that overlap [from, to].
            from.is_none_or(|f| end >= f) && to.is_none_or(|t| start <= t)
        })
        .filter(|(_, a)| tags.iter().all(|t| a.tags.iter().any(|at| at == t)))
        .filter(|(_, a)| dashboard.is_none_or(|d| a.dashboard_uid.as_deref() == Some(d)))
        .collect();
    hits.sort_by_key(|(_, a)| std::cmp::Reverse(a.time));
    hits.truncate(limit.unwrap_or(100).max(0) as usize);
    let body: Vec<Value> = hits
        .into_iter()
        .map(|(i, a)| {
            let time = a.time.timestamp_millis();
            json!({
                "id": i + 1, "alertId": 0, "alertName": "", "dashboardId": if a.dashboard_uid.is_some() { 1 } else { 0 },
                "dashboardUID": a.dashboard_uid, "panelId": 0, "userId": 1, "newState": "", "prevState": "",
                "created": time, "updated": time, "time": time,
                "timeEnd": a.time_end.map_or(time, |t| t.timestamp_millis()),
                "text": a.text, "tags": a.tags, "login": "admin", "email": "admin@localhost", "avatarUrl": "/avatar/46d229b033af06a191ff2267bca9ae56", "data": {}
            })
        })
        .collect();
    Json(body).into_response()
}
