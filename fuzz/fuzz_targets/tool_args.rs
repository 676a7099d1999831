//! The arguments a model writes for a tool call, checked as the tools check them before any
//! request: every source tool (Prometheus, Alertmanager, Loki, VictoriaLogs, Grafana) and every
//! Kubernetes agent tool. The first byte picks the tool; the rest is the JSON arguments. Never
//! a panic: a bad argument is an error naming it.
#![no_main]

use libfuzzer_sys::fuzz_target;

const SOURCE_TOOLS: &[&str] = &[
    "prometheus_query",
    "prometheus_query_range",
    "prometheus_alerts",
    "prometheus_rules",
    "alertmanager_alerts",
    "alertmanager_silences",
    "loki_query",
    "victorialogs_query",
    "grafana_dashboards",
    "grafana_annotations",
];

const KUBE_TOOLS: &[&str] = &[
    "list_pods",
    "get_namespace_events",
    "get_pod_status",
    "get_pod_events",
    "get_pod_logs",
    "check_oom",
    "check_imagepullbackoff",
    "get_owner_chain",
    "get_node_ready",
    "get_node_conditions",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(args) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    let tools = SOURCE_TOOLS.len() + KUBE_TOOLS.len();
    let index = usize::from(pick) % tools;
    if let Some(tool) = SOURCE_TOOLS.get(index) {
        let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
        let _ = nightwatch_sources::check_arguments(tool, args, now);
    } else if let Some(tool) = KUBE_TOOLS.get(index - SOURCE_TOOLS.len()) {
        let _ = nightwatch_kube::check_agent_arguments(tool, &args);
    }
});
