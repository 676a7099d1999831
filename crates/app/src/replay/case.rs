//! What a replay runs: a webhook delivery and, for a case, recorded tool outputs and what a good
//! answer contains. Four shapes are read (docs/replay.md):
//!
//! - a webhook body file (Alertmanager, Grafana or SigNoz), or a delivery stored in the database;
//! - nightwatch's case folder: `alert.json` (a webhook body), `tools/<tool>[.<variant>].{json,txt}`
//!   (recorded outputs; variant `previous` answers `get_pod_logs` with `previous: true`) and an
//!   optional `case.yaml` (`description`, `keywords`, `forbidden`, `expected`);
//! - a HolmesGPT `test_investigate` case (`issue_data.json`, `investigate_request.json`,
//!   `test_case.yaml`, `*.txt` tool outputs headed by a JSON line naming the tool);
//! - an OpenSRE synthetic case (`alert.json` with common labels, `answer.yml`, `eks_*.json`,
//!   `datadog_*.json` evidence).
//!
//! Third-party tool names are mapped onto nightwatch's where the meaning is the same
//! (`kubectl_describe` → `get_pod_status`, `eks_pods` → `list_pods`, …); the others are offered
//! under their own names, so no recorded evidence is hidden from the model.

use nightwatch_core::evidence::Snapshot;
use nightwatch_core::model::Source;
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{0}: not a webhook body file nor a case folder (docs/replay.md lists the formats)")]
    Unknown(PathBuf),
}

fn read_error(path: &Path, message: impl std::fmt::Display) -> CaseError {
    CaseError::Read {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseFormat {
    Delivery,
    Nightwatch,
    HolmesGpt,
    OpenSre,
}

impl CaseFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivery => "delivery",
            Self::Nightwatch => "nightwatch",
            Self::HolmesGpt => "holmesgpt",
            Self::OpenSre => "opensre",
        }
    }
}

/// One recorded tool output.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// The tool it answers (nightwatch's name where one maps).
    pub tool: String,
    /// `previous` for a crashed container's logs; else none.
    pub variant: Option<String>,
    /// The file it came from, for the record.
    pub file: String,
    /// The arguments the tool was called with, when the recording names them (HolmesGPT's
    /// header): which pod a log or an event list is about is often said nowhere else.
    pub params: Value,
    pub output: String,
}

/// What a good answer says, from the case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expectations {
    /// Words the analysis or investigation must contain (case-insensitive).
    pub keywords: Vec<String>,
    /// Words it must not contain.
    pub forbidden: Vec<String>,
    /// Statements a reviewer checks by reading (HolmesGPT's `expected_output`).
    pub expected: Vec<String>,
    /// The class of root cause the case expects (OpenSRE's `root_cause_category`).
    pub category: Option<String>,
    /// Classes the answer must not give.
    pub forbidden_categories: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub format: CaseFormat,
    pub source: Source,
    pub body: Vec<u8>,
    pub recordings: Vec<Recording>,
    pub expect: Expectations,
    /// The cluster objects the recordings show, for the analyzers.
    pub snapshot: Snapshot,
}

impl Case {
    /// A delivery's body as a case with nothing recorded.
    pub fn delivery(name: String, source: Source, body: Vec<u8>) -> Case {
        Case {
            name,
            format: CaseFormat::Delivery,
            source,
            body,
            recordings: Vec::new(),
            expect: Expectations::default(),
            snapshot: Snapshot::default(),
        }
    }
}

/// Reads `path`: a file is a webhook body (`source` or guessed), a folder a case.
pub fn load(path: &Path, source: Option<Source>) -> Result<Case, CaseError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    if path.is_file() {
        let body = std::fs::read(path).map_err(|e| read_error(path, e))?;
        let source = source.unwrap_or_else(|| guess_source(&body));
        return Ok(Case::delivery(name, source, body));
    }
    if !path.is_dir() {
        return Err(CaseError::Unknown(path.to_owned()));
    }
    if path.join("issue_data.json").is_file() && path.join("test_case.yaml").is_file() {
        return holmesgpt(path, name);
    }
    if path.join("answer.yml").is_file() && path.join("alert.json").is_file() {
        return opensre(path, name);
    }
    if path.join("alert.json").is_file() {
        return nightwatch(path, name, source);
    }
    Err(CaseError::Unknown(path.to_owned()))
}

/// Grafana's bodies carry `orgId` or a `state` and `title`; everything else is read as
/// Alertmanager's (SigNoz sends Alertmanager's shape).
pub fn guess_source(body: &[u8]) -> Source {
    let value: Value = serde_json::from_slice(body).unwrap_or_default();
    if value.get("orgId").is_some() || value.get("state").is_some() && value.get("title").is_some()
    {
        Source::Grafana
    } else {
        Source::Alertmanager
    }
}

fn read_text(path: &Path) -> Result<String, CaseError> {
    std::fs::read_to_string(path).map_err(|e| read_error(path, e))
}

fn read_json(path: &Path) -> Result<Value, CaseError> {
    serde_json::from_str(&read_text(path)?).map_err(|e| read_error(path, e))
}

fn read_yaml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, CaseError> {
    yaml_serde::from_str(&read_text(path)?).map_err(|e| read_error(path, e))
}

fn files(dir: &Path) -> Result<Vec<PathBuf>, CaseError> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| read_error(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    Ok(out)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// An Alertmanager webhook body (v4) holding one firing alert.
fn webhook(labels: Value, annotations: Value, starts_at: Option<&str>) -> Vec<u8> {
    let mut alert = json!({"status": "firing", "labels": labels, "annotations": annotations});
    if let Some(at) = starts_at {
        alert["startsAt"] = json!(at);
    }
    json!({
        "version": "4", "status": "firing", "receiver": "replay",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "", "alerts": [alert]
    })
    .to_string()
    .into_bytes()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct CaseFile {
    description: Option<String>,
    source: Option<String>,
    keywords: Vec<String>,
    forbidden: Vec<String>,
    expected: Vec<String>,
}

fn nightwatch(dir: &Path, name: String, source: Option<Source>) -> Result<Case, CaseError> {
    let case_file = dir.join("case.yaml");
    let meta: CaseFile = if case_file.is_file() {
        read_yaml(&case_file)?
    } else {
        CaseFile::default()
    };
    let alert = dir.join("alert.json");
    let body = std::fs::read(&alert).map_err(|e| read_error(&alert, e))?;
    let source = match (source, &meta.source) {
        (Some(source), _) => source,
        (None, Some(text)) => text
            .parse()
            .map_err(|_| read_error(&case_file, format!("source {text:?}")))?,
        (None, None) => guess_source(&body),
    };
    let mut recordings = Vec::new();
    let tools = dir.join("tools");
    if tools.is_dir() {
        for path in files(&tools)? {
            let file = file_name(&path);
            let stem = file
                .rsplit_once('.')
                .map(|(stem, _)| stem.to_owned())
                .unwrap_or_else(|| file.clone());
            let (tool, variant) = match stem.split_once('.') {
                Some((tool, variant)) => (tool.to_owned(), Some(variant.to_owned())),
                None => (stem, None),
            };
            recordings.push(Recording {
                tool,
                variant,
                file: format!("tools/{file}"),
                params: Value::Null,
                output: read_text(&path)?,
            });
        }
    }
    // The cluster objects around the alert, as `kubectl get -o yaml|json` prints them: what
    // the analyzers read (and the policy's premise rests on).
    let mut snapshot = Snapshot::default();
    let objects = dir.join("objects");
    if objects.is_dir() {
        for path in files(&objects)? {
            if let Err(why) = super::holmesgpt::manifest(&read_text(&path)?, &mut snapshot) {
                snapshot
                    .gaps
                    .push(format!("objects/{}: {why}", file_name(&path)));
            }
        }
    }
    Ok(Case {
        name,
        format: CaseFormat::Nightwatch,
        source,
        body,
        recordings,
        expect: Expectations {
            keywords: meta.keywords,
            forbidden: meta.forbidden,
            expected: meta.expected,
            ..Expectations::default()
        },
        snapshot,
    })
}

/// HolmesGPT's tool names → nightwatch's, where the meaning is the same.
fn holmes_tool(name: &str) -> (String, Option<String>) {
    let previous = name.contains("previous");
    let tool = match name {
        "kubectl_describe" => "get_pod_status",
        "kubectl_logs"
        | "kubectl_logs_all_containers"
        | "fetch_pod_logs"
        | "kubectl_previous_logs"
        | "kubectl_previous_logs_all_containers" => "get_pod_logs",
        "kubectl_events" => "get_pod_events",
        other => other,
    };
    (tool.to_owned(), previous.then(|| "previous".to_owned()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HolmesTestCase {
    expected_output: ExpectedOutput,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ExpectedOutput {
    One(String),
    Many(Vec<String>),
}

impl Default for ExpectedOutput {
    fn default() -> Self {
        ExpectedOutput::Many(Vec::new())
    }
}

/// A HolmesGPT case folder's `*.txt` tool outputs (`test_investigate` and `test_ask_holmes`
/// alike): a JSON header naming the tool and its parameters, an optional JSON result envelope,
/// then the output. Files without a readable header are skipped.
pub(crate) fn holmesgpt_recordings(dir: &Path) -> Result<Vec<Recording>, CaseError> {
    let mut recordings = Vec::new();
    for path in files(dir)? {
        let file = file_name(&path);
        if !file.ends_with(".txt") {
            continue;
        }
        let text = read_text(&path)?;
        let mut lines = text.lines();
        let Some(header) = lines
            .next()
            .and_then(|line| serde_json::from_str::<Value>(line).ok())
        else {
            continue;
        };
        let Some(tool_name) = header["tool_name"].as_str() else {
            continue;
        };
        // A second JSON line is the tool's result envelope; the output follows it.
        let rest: Vec<&str> = lines.collect();
        let envelope = rest
            .first()
            .and_then(|line| serde_json::from_str::<Value>(line).ok())
            .filter(Value::is_object);
        let mut output = match envelope {
            Some(_) => rest[1..].join("\n"),
            None => rest.join("\n"),
        };
        // A failed call recorded with nothing after its envelope: its error is its output.
        if output.trim().is_empty()
            && let Some(error) = envelope
                .as_ref()
                .filter(|e| e["status"] == "error")
                .and_then(|e| e["error"].as_str())
        {
            output = error.to_owned();
        }
        let params = match &header["match_params"] {
            Value::Object(_) => header["match_params"].clone(),
            _ => envelope
                .as_ref()
                .map(|e| e["params"].clone())
                .unwrap_or(Value::Null),
        };
        let (tool, variant) = holmes_tool(tool_name);
        recordings.push(Recording {
            tool,
            variant,
            file,
            params,
            output,
        });
    }
    Ok(recordings)
}

fn holmesgpt(dir: &Path, name: String) -> Result<Case, CaseError> {
    let issue = read_json(&dir.join("issue_data.json"))?;
    let request_file = dir.join("investigate_request.json");
    let request = if request_file.is_file() {
        read_json(&request_file)?
    } else {
        Value::Null
    };
    let body = if let Some(raw) = issue.get("raw").filter(|raw| raw.get("labels").is_some()) {
        webhook(
            raw["labels"].clone(),
            raw.get("annotations").cloned().unwrap_or_else(|| json!({})),
            raw["startsAt"].as_str(),
        )
    } else {
        // A Robusta finding rather than an alert: the subject becomes the labels.
        let subject = &request["subject"];
        let mut labels = serde_json::Map::new();
        let alertname = request["title"]
            .as_str()
            .or(issue["aggregation_key"].as_str())
            .unwrap_or("HolmesGPTCase");
        labels.insert("alertname".into(), json!(alertname));
        for (label, field) in [("namespace", "namespace"), ("node", "node")] {
            if let Some(value) = subject[field].as_str() {
                labels.insert(label.into(), json!(value));
            }
        }
        // Findings name their subject's kind as `kind` or `subject_type`; the label is the one
        // kube-state-metrics would carry for it.
        let kind = subject["kind"]
            .as_str()
            .or(subject["subject_type"].as_str())
            .map(str::to_ascii_lowercase);
        let label = match kind.as_deref() {
            Some("pod") => Some("pod"),
            Some("node") => Some("node"),
            Some("deployment") => Some("deployment"),
            Some("statefulset") => Some("statefulset"),
            Some("daemonset") => Some("daemonset"),
            Some("job") => Some("job_name"),
            _ => None,
        };
        if let (Some(label), Some(name)) = (label, subject["name"].as_str()) {
            labels.insert(label.into(), json!(name));
        }
        if let Some(container) = subject["container"].as_str() {
            labels.insert("container".into(), json!(container));
        }
        let description = issue["description"]
            .as_str()
            .or(issue["title"].as_str())
            .unwrap_or_default();
        webhook(
            Value::Object(labels),
            json!({"description": description}),
            issue["starts_at"].as_str(),
        )
    };
    let recordings = holmesgpt_recordings(dir)?;
    let namespace = serde_json::from_slice::<Value>(&body).ok().and_then(|b| {
        b["alerts"][0]["labels"]["namespace"]
            .as_str()
            .map(str::to_owned)
    });
    let snapshot = super::holmesgpt::snapshot(&recordings, namespace.as_deref());
    let test_case: HolmesTestCase = read_yaml(&dir.join("test_case.yaml"))?;
    let expected = match test_case.expected_output {
        ExpectedOutput::One(line) => vec![line],
        ExpectedOutput::Many(lines) => lines,
    };
    Ok(Case {
        name,
        format: CaseFormat::HolmesGpt,
        source: Source::Alertmanager,
        body,
        recordings,
        expect: Expectations {
            expected,
            ..Expectations::default()
        },
        snapshot,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OpenSreAnswer {
    root_cause_category: Option<String>,
    forbidden_categories: Vec<String>,
    required_keywords: Vec<String>,
    forbidden_keywords: Vec<String>,
    model_response: Option<String>,
}

fn opensre(dir: &Path, name: String) -> Result<Case, CaseError> {
    let alert = read_json(&dir.join("alert.json"))?;
    let mut labels = alert["commonLabels"].clone();
    let annotations = alert["commonAnnotations"].clone();
    if let Some(map) = labels.as_object_mut() {
        // The affected pod is named in the annotations only.
        for (label, annotation) in [("pod", "kube_pod"), ("namespace", "kube_namespace")] {
            if !map.contains_key(label)
                && let Some(value) = annotations[annotation].as_str()
            {
                map.insert(label.into(), json!(value));
            }
        }
    }
    let body = webhook(labels, annotations, None);
    let mut recordings = Vec::new();
    for path in files(dir)? {
        let file = file_name(&path);
        let Some(stem) = file.strip_suffix(".json") else {
            continue;
        };
        if stem == "alert" {
            continue;
        }
        let tool = match stem {
            "eks_pods" => "list_pods",
            "eks_events" => "get_namespace_events",
            "eks_pod_logs" => "get_pod_logs",
            "eks_node_health" => "get_node_conditions",
            other => other,
        };
        recordings.push(Recording {
            tool: tool.to_owned(),
            variant: None,
            file: file.clone(),
            params: Value::Null,
            output: read_text(&path)?,
        });
    }
    let answer: OpenSreAnswer = read_yaml(&dir.join("answer.yml"))?;
    Ok(Case {
        name,
        format: CaseFormat::OpenSre,
        source: Source::Alertmanager,
        body,
        recordings,
        expect: Expectations {
            keywords: answer.required_keywords,
            forbidden: answer.forbidden_keywords,
            expected: answer.model_response.into_iter().collect(),
            category: answer.root_cause_category,
            forbidden_categories: answer.forbidden_categories,
        },
        snapshot: super::opensre::snapshot(dir),
    })
}

#[cfg(test)]
// Fixtures stamped with the current time; no clock to inject in a unit test of a parser.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn third_party(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/third-party")
            .join(rel)
    }

    #[test]
    fn holmesgpt_alert_case_is_read_with_its_recordings() {
        let case = load(
            &third_party("holmesgpt/test_investigate/12_KubePodNotReady"),
            None,
        )
        .unwrap();
        assert_eq!(case.format, CaseFormat::HolmesGpt);
        let body: Value = serde_json::from_slice(&case.body).unwrap();
        assert_eq!(body["alerts"][0]["labels"]["alertname"], "KubePodNotReady");
        assert_eq!(
            body["alerts"][0]["labels"]["pod"],
            "user-profile-resources-659d4dd659-cq4kq"
        );
        let tools: Vec<&str> = case.recordings.iter().map(|r| r.tool.as_str()).collect();
        assert!(tools.contains(&"get_pod_status"), "{tools:?}");
        assert!(tools.contains(&"get_pod_logs"), "{tools:?}");
        let previous = case
            .recordings
            .iter()
            .find(|r| r.variant.as_deref() == Some("previous"))
            .unwrap();
        assert_eq!(previous.tool, "get_pod_logs");
        assert!(!previous.output.starts_with('{'), "headers stripped");
        assert!(case.expect.expected[0].contains("GPU"));
        // The core parser reads it like any delivery.
        let parsed =
            nightwatch_core::parse::parse(case.source, &case.body, chrono::Utc::now()).unwrap();
        assert_eq!(parsed.alerts.len(), 1);
    }

    #[test]
    fn holmesgpt_finding_case_takes_its_labels_from_the_subject() {
        let case = load(
            &third_party("holmesgpt/test_investigate/04_image_pull_backoff"),
            None,
        )
        .unwrap();
        let body: Value = serde_json::from_slice(&case.body).unwrap();
        let labels = &body["alerts"][0]["labels"];
        assert_eq!(labels["alertname"], "KubernetesWarningEvent");
        assert_eq!(labels["namespace"], "default");
        assert_eq!(labels["pod"], "customer-relations-webapp-5d98ffcfd-tz4nc");
        assert!(
            body["alerts"][0]["annotations"]["description"]
                .as_str()
                .unwrap()
                .contains("yourcompany/crw:latest")
        );
    }

    #[test]
    fn opensre_case_maps_evidence_onto_tools_and_keeps_keywords() {
        let case = load(&third_party("opensre/eks/001-oomkilled-crashloop"), None).unwrap();
        assert_eq!(case.format, CaseFormat::OpenSre);
        let body: Value = serde_json::from_slice(&case.body).unwrap();
        assert_eq!(
            body["alerts"][0]["labels"]["pod"],
            "payments-api-7f9dd8b6c4-x7gr9"
        );
        let tools: Vec<&str> = case.recordings.iter().map(|r| r.tool.as_str()).collect();
        assert_eq!(
            tools,
            vec!["get_namespace_events", "get_pod_logs", "list_pods"]
        );
        assert_eq!(
            case.expect.keywords,
            vec!["exit code 137", "memory", "payments-api-7f9dd8b6c4-x7gr9"]
        );
    }

    #[test]
    fn every_third_party_case_loads() {
        for group in ["holmesgpt/test_investigate", "opensre/eks"] {
            for entry in std::fs::read_dir(third_party(group)).unwrap() {
                let path = entry.unwrap().path();
                let case = load(&path, None).unwrap_or_else(|e| panic!("{e}"));
                nightwatch_core::parse::parse(case.source, &case.body, chrono::Utc::now())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
        }
    }

    #[test]
    fn a_folder_that_is_no_case_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let error = load(dir.path(), None).unwrap_err().to_string();
        assert!(
            error.contains("not a webhook body file nor a case folder"),
            "{error}"
        );
    }
}
