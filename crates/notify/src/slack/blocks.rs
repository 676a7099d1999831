//! Block Kit for an incident: pure functions from an [`IncidentCard`] to the `blocks` array and
//! the plain-text fallback of `chat.postMessage` / `chat.update`. Which buttons appear follows
//! the incident: Acknowledge while it is triggered, Approve/Reject while an action waits for a
//! human, Noise/Real until a verdict is given; the link to the UI is always there.

use super::action::{ButtonAction, ButtonValue, OPEN_ACTION_ID};
use crate::card::{IncidentCard, truncate};
use nightwatch_core::Severity;
use nightwatch_core::incident::IncidentState;
use serde_json::{Value, json};

/// Slack's limits: header text 150 characters, section text 3000, a field 2000, ten fields.
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;

/// Emoji shortcode per severity (Slack renders shortcodes in plain_text with `emoji: true`).
pub fn severity_emoji(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => ":red_circle:",
        Severity::High => ":large_orange_circle:",
        Severity::Warning => ":large_yellow_circle:",
        Severity::Info => ":large_blue_circle:",
        Severity::None => ":white_circle:",
    }
}

/// The notification and screen-reader text that accompanies the blocks.
pub fn incident_text(card: &IncidentCard) -> String {
    format!(
        "{} [{}] #{} {}: {}",
        severity_emoji(card.severity),
        card.severity.as_str().to_uppercase(),
        card.id,
        card.alertname,
        card.title
    )
}

pub fn incident_blocks(card: &IncidentCard) -> Vec<Value> {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": truncate(
                &format!(
                    "{} {} · #{} {}",
                    severity_emoji(card.severity),
                    card.severity.as_str().to_uppercase(),
                    card.id,
                    card.title
                ),
                HEADER_MAX
            ),
            "emoji": true
        }
    })];
    if let Some(summary) = card.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        blocks.push(section(&escape(summary)));
    }
    blocks.push(json!({"type": "section", "fields": fields(card)}));
    if let Some(action) = &card.pending_action {
        blocks.push(section(&format!(
            ":hourglass_flowing_sand: *Approval needed* for action #{}: {}",
            action.id,
            escape(&action.description)
        )));
    }
    blocks.push(json!({
        "type": "actions",
        "block_id": format!("nw_incident_{}", card.id),
        "elements": buttons(card)
    }));
    blocks.push(json!({
        "type": "context",
        "elements": [{
            "type": "mrkdwn",
            "text": format!("nightwatch · <{}|incident #{}>", card.ui_url, card.id)
        }]
    }));
    blocks
}

fn fields(card: &IncidentCard) -> Vec<Value> {
    let state = match (&card.state, &card.acknowledged_by) {
        (IncidentState::Acknowledged, Some(who)) => format!("acknowledged by {who}"),
        (state, _) => state.as_str().to_string(),
    };
    let mut pairs: Vec<(&str, String)> = vec![
        ("Alert", card.alertname.clone()),
        ("Severity", card.severity.as_str().to_string()),
        ("State", state),
    ];
    let optional = [
        ("Namespace", &card.namespace),
        ("Pod", &card.pod),
        ("Node", &card.node),
        ("Runbook", &card.runbook),
    ];
    for (label, value) in optional {
        if let Some(value) = value.as_ref().filter(|v| !v.is_empty()) {
            pairs.push((label, value.clone()));
        }
    }
    if let Some(verdict) = card.verdict {
        pairs.push(("Verdict", verdict.as_str().to_string()));
    }
    pairs
        .into_iter()
        .map(|(label, value)| {
            json!({
                "type": "mrkdwn",
                "text": truncate(&format!("*{label}*\n{}", escape(&value)), FIELD_MAX)
            })
        })
        .collect()
}

fn buttons(card: &IncidentCard) -> Vec<Value> {
    let incident = ButtonValue {
        incident_id: card.id,
        action_id: None,
    };
    let mut buttons = Vec::new();
    if card.state == IncidentState::Triggered {
        buttons.push(button(
            "Acknowledge",
            ButtonAction::Ack,
            incident,
            Some("primary"),
        ));
    }
    if let Some(action) = &card.pending_action {
        let value = ButtonValue {
            action_id: Some(action.id),
            ..incident
        };
        let mut approve = button("Approve", ButtonAction::Approve, value, Some("primary"));
        // A write to the cluster deserves a second look before it goes.
        approve["confirm"] = json!({
            "title": {"type": "plain_text", "text": "Run this action?"},
            "text": {"type": "mrkdwn", "text": truncate(&escape(&action.description), 300)},
            "confirm": {"type": "plain_text", "text": "Approve"},
            "deny": {"type": "plain_text", "text": "Cancel"}
        });
        buttons.push(approve);
        buttons.push(button(
            "Reject",
            ButtonAction::Reject,
            value,
            Some("danger"),
        ));
    }
    if card.verdict.is_none() {
        buttons.push(button("Mark noise", ButtonAction::Noise, incident, None));
        buttons.push(button("Real", ButtonAction::Real, incident, None));
    }
    buttons.push(json!({
        "type": "button",
        "action_id": OPEN_ACTION_ID,
        "text": {"type": "plain_text", "text": "Open in nightwatch"},
        "url": card.ui_url,
        "value": incident.encode()
    }));
    buttons
}

fn button(label: &str, action: ButtonAction, value: ButtonValue, style: Option<&str>) -> Value {
    let mut button = json!({
        "type": "button",
        "action_id": action.action_id(),
        "text": {"type": "plain_text", "text": label},
        "value": value.encode()
    });
    if let Some(style) = style {
        button["style"] = json!(style);
    }
    button
}

fn section(text: &str) -> Value {
    json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, SECTION_MAX)}
    })
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters (links, mentions); text from
/// alerts is shown literally.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::card::{PendingAction, incident_url};
    use expect_test::expect_file;
    use nightwatch_core::incident::Verdict;

    fn card() -> IncidentCard {
        IncidentCard {
            id: 42,
            title: "api-7d9f crash looping".into(),
            severity: Severity::Critical,
            state: IncidentState::Triggered,
            verdict: None,
            alertname: "KubePodCrashLooping".into(),
            namespace: Some("shop".into()),
            pod: Some("api-7d9f".into()),
            node: None,
            runbook: Some("crashloop".into()),
            summary: Some("Restarted 5 times in 10 minutes".into()),
            acknowledged_by: None,
            pending_action: None,
            ui_url: incident_url("https://nw.example/", 42),
            opened_at: None,
        }
    }

    fn block<'a>(blocks: &'a [Value], kind: &str) -> &'a Value {
        blocks
            .iter()
            .find(|b| b["type"] == kind && (kind != "section" || b.get("fields").is_some()))
            .unwrap_or_else(|| panic!("no {kind} block in {blocks:#?}"))
    }

    fn action_ids(blocks: &[Value]) -> Vec<String> {
        block(blocks, "actions")["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action_id"].as_str().unwrap().to_string())
            .collect()
    }

    fn field_texts(blocks: &[Value]) -> Vec<String> {
        block(blocks, "section")["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["text"].as_str().unwrap().to_string())
            .collect()
    }

    /// The blocks exactly as sent to Slack, pretty JSON against `test_data/<case>.json`, which a
    /// reviewer reads whole; `UPDATE_EXPECT=1` rewrites the files after an intended change.
    fn check_blocks(case: &str, card: &IncidentCard) {
        let json = serde_json::to_string_pretty(&incident_blocks(card)).unwrap();
        expect_file![format!("test_data/{case}.json")].assert_eq(&format!("{json}\n"));
    }

    #[test]
    fn whole_cards() {
        check_blocks("card_triggered", &card());
        // An action waiting: Approve is the primary button and asks to confirm.
        check_blocks(
            "card_pending_approval",
            &IncidentCard {
                pending_action: Some(PendingAction {
                    id: 7,
                    description: "restart deployment shop/api".into(),
                }),
                ..card()
            },
        );
    }

    #[test]
    fn url_joins_without_double_slash() {
        assert_eq!(
            incident_url("https://nw.example/", 7),
            "https://nw.example/incident/7"
        );
        assert_eq!(
            incident_url("http://localhost:8080", 7),
            "http://localhost:8080/incident/7"
        );
    }

    #[test]
    fn header_carries_severity() {
        let cases = [
            (
                Severity::Critical,
                ":red_circle: CRITICAL · #42 api-7d9f crash looping",
            ),
            (
                Severity::High,
                ":large_orange_circle: HIGH · #42 api-7d9f crash looping",
            ),
            (
                Severity::Warning,
                ":large_yellow_circle: WARNING · #42 api-7d9f crash looping",
            ),
            (
                Severity::Info,
                ":large_blue_circle: INFO · #42 api-7d9f crash looping",
            ),
            (
                Severity::None,
                ":white_circle: NONE · #42 api-7d9f crash looping",
            ),
        ];
        for (severity, want) in cases {
            let blocks = incident_blocks(&IncidentCard { severity, ..card() });
            assert_eq!(blocks[0]["type"], "header");
            assert_eq!(blocks[0]["text"]["text"], want, "{severity:?}");
            assert_eq!(blocks[0]["text"]["type"], "plain_text");
        }
    }

    #[test]
    fn buttons_follow_the_incident() {
        let pending = Some(PendingAction {
            id: 7,
            description: "restart deployment shop/api".into(),
        });
        let cases: Vec<(IncidentCard, Vec<&str>)> = vec![
            (card(), vec!["nw_ack", "nw_noise", "nw_real", "nw_open"]),
            (
                IncidentCard {
                    pending_action: pending.clone(),
                    ..card()
                },
                vec![
                    "nw_ack",
                    "nw_approve",
                    "nw_reject",
                    "nw_noise",
                    "nw_real",
                    "nw_open",
                ],
            ),
            (
                IncidentCard {
                    state: IncidentState::Acknowledged,
                    ..card()
                },
                vec!["nw_noise", "nw_real", "nw_open"],
            ),
            (
                IncidentCard {
                    state: IncidentState::Resolved,
                    verdict: Some(Verdict::Noise),
                    ..card()
                },
                vec!["nw_open"],
            ),
            (
                IncidentCard {
                    state: IncidentState::Acknowledged,
                    verdict: Some(Verdict::Real),
                    pending_action: pending,
                    ..card()
                },
                vec!["nw_approve", "nw_reject", "nw_open"],
            ),
        ];
        for (card, want) in cases {
            assert_eq!(action_ids(&incident_blocks(&card)), want, "{card:?}");
        }
    }

    #[test]
    fn button_values_carry_ids() {
        let card = IncidentCard {
            pending_action: Some(PendingAction {
                id: 7,
                description: "x".into(),
            }),
            ..card()
        };
        let blocks = incident_blocks(&card);
        let elements = block(&blocks, "actions")["elements"]
            .as_array()
            .unwrap()
            .clone();
        for element in &elements {
            let value = ButtonValue::parse(element["value"].as_str().unwrap()).unwrap();
            assert_eq!(value.incident_id, 42);
            let action = ButtonAction::from_action_id(element["action_id"].as_str().unwrap());
            let want = action.filter(|a| a.needs_action_id()).map(|_| 7);
            assert_eq!(value.action_id, want, "{element}");
        }
    }

    #[test]
    fn fields_show_what_is_known() {
        let cases: Vec<(IncidentCard, Vec<&str>)> = vec![
            (
                card(),
                vec![
                    "*Alert*\nKubePodCrashLooping",
                    "*Severity*\ncritical",
                    "*State*\ntriggered",
                    "*Namespace*\nshop",
                    "*Pod*\napi-7d9f",
                    "*Runbook*\ncrashloop",
                ],
            ),
            (
                IncidentCard {
                    alertname: "KubeNodeNotReady".into(),
                    namespace: None,
                    pod: None,
                    node: Some("node-3".into()),
                    runbook: None,
                    state: IncidentState::Acknowledged,
                    acknowledged_by: Some("carol".into()),
                    verdict: Some(Verdict::AutoFixed),
                    ..card()
                },
                vec![
                    "*Alert*\nKubeNodeNotReady",
                    "*Severity*\ncritical",
                    "*State*\nacknowledged by carol",
                    "*Node*\nnode-3",
                    "*Verdict*\nauto-fixed",
                ],
            ),
        ];
        for (card, want) in cases {
            assert_eq!(field_texts(&incident_blocks(&card)), want);
        }
    }

    #[test]
    fn text_from_alerts_is_escaped_and_bounded() {
        let card = IncidentCard {
            summary: Some("latency > 5s & <!channel>".into()),
            title: "x".repeat(400),
            pending_action: Some(PendingAction {
                id: 1,
                description: "<@U1> drain".into(),
            }),
            ..card()
        };
        let blocks = incident_blocks(&card);
        assert_eq!(
            blocks[1]["text"]["text"],
            "latency &gt; 5s &amp; &lt;!channel&gt;"
        );
        let header = blocks[0]["text"]["text"].as_str().unwrap();
        assert_eq!(header.chars().count(), HEADER_MAX);
        assert!(header.ends_with('…'));
        let approval = blocks
            .iter()
            .find(|b| {
                b["text"]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("Approval"))
            })
            .unwrap();
        assert_eq!(
            approval["text"]["text"],
            ":hourglass_flowing_sand: *Approval needed* for action #1: &lt;@U1&gt; drain"
        );
    }

    #[test]
    fn layout_and_fallback_text() {
        // The full layout is in `test_data/card_triggered.json`; without a summary its section
        // is left out.
        assert_eq!(incident_blocks(&card()).len(), 5);
        let no_summary = IncidentCard {
            summary: None,
            ..card()
        };
        assert_eq!(incident_blocks(&no_summary).len(), 4);
        assert_eq!(
            incident_text(&card()),
            ":red_circle: [CRITICAL] #42 KubePodCrashLooping: api-7d9f crash looping"
        );
    }
}
