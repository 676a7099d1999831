//! Verdicts nightwatch sets by itself: noise for incidents in known-noise
//! namespaces (test tenants), auto-fixed when an incident resolved after a verified action. A
//! verdict a person set is never overwritten; these only fill an empty one.

use crate::incident::{IncidentState, Verdict};
use crate::policy::glob_match;

/// Namespaces whose alerts are noise unless someone says otherwise.
pub const DEFAULT_NOISE_NAMESPACES: &[&str] = &["tenant-test-*"];

/// The facts the automatic verdicts look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictFacts<'a> {
    pub namespace: Option<&'a str>,
    pub state: IncidentState,
    pub verdict: Option<Verdict>,
    /// An action on this incident was executed and verified.
    pub verified_action: bool,
}

/// The verdict to set, with why; `None` when there is one already or nothing decides.
pub fn auto_verdict(
    facts: &VerdictFacts<'_>,
    noise_namespaces: &[String],
) -> Option<(Verdict, String)> {
    if facts.verdict.is_some() {
        return None;
    }
    if facts.state == IncidentState::Resolved && facts.verified_action {
        return Some((
            Verdict::AutoFixed,
            "resolved after a verified action".to_owned(),
        ));
    }
    let namespace = facts.namespace?;
    noise_namespaces
        .iter()
        .find(|pattern| glob_match(pattern, namespace))
        .map(|pattern| {
            (
                Verdict::Noise,
                format!("namespace {namespace} matches the known-noise pattern {pattern}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(
        namespace: Option<&str>,
        state: IncidentState,
        verdict: Option<Verdict>,
        verified: bool,
    ) -> VerdictFacts<'_> {
        VerdictFacts {
            namespace,
            state,
            verdict,
            verified_action: verified,
        }
    }

    #[test]
    fn table() {
        let noise = vec!["tenant-test-*".to_owned()];
        let cases = [
            (
                facts(
                    Some("tenant-test-42"),
                    IncidentState::Triggered,
                    None,
                    false,
                ),
                Some(Verdict::Noise),
            ),
            (
                facts(Some("tenant-prod-1"), IncidentState::Triggered, None, false),
                None,
            ),
            (
                facts(Some("shop"), IncidentState::Resolved, None, true),
                Some(Verdict::AutoFixed),
            ),
            (
                facts(Some("shop"), IncidentState::Triggered, None, true),
                None,
            ),
            (
                facts(Some("shop"), IncidentState::Resolved, None, false),
                None,
            ),
            (
                facts(
                    Some("tenant-test-1"),
                    IncidentState::Resolved,
                    Some(Verdict::Real),
                    true,
                ),
                None,
            ),
            (facts(None, IncidentState::Triggered, None, false), None),
            // Fixed and verified beats the namespace: it was acted on.
            (
                facts(Some("tenant-test-1"), IncidentState::Resolved, None, true),
                Some(Verdict::AutoFixed),
            ),
        ];
        for (facts, want) in cases {
            assert_eq!(
                auto_verdict(&facts, &noise).map(|(v, _)| v),
                want,
                "{facts:?}"
            );
        }
        let (_, why) = auto_verdict(
            &facts(Some("tenant-test-9"), IncidentState::Triggered, None, false),
            &noise,
        )
        .unwrap();
        assert_eq!(
            why,
            "namespace tenant-test-9 matches the known-noise pattern tenant-test-*"
        );
    }
}
