//! Properties over random configs, requests and histories: nothing forbidden and nothing outside
//! the class lists is ever allowed, whatever else is true.

use super::*;
use crate::policy::actions::{is_known, list_covers};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

const NAMESPACES: &[&str] = &[
    "prod-a",
    "payments",
    "dev-a",
    "tenant-test-1",
    "lab",
    "team-x",
];
const CLASSES: &[&str] = &["prod", "dev", "lab", "default", "stray"];

fn all_names() -> Vec<&'static str> {
    KNOWN_ACTIONS
        .iter()
        .chain(FORBIDDEN_ACTIONS)
        .copied()
        .collect()
}

/// A recognised name, sometimes disguised by case, dashes and whitespace, or a made-up one.
fn action_name() -> impl Strategy<Value = String> {
    let recognised = prop_oneof![3 => select(KNOWN_ACTIONS), 1 => select(FORBIDDEN_ACTIONS)];
    prop_oneof![
        4 => (recognised, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(name, upper, dashes, pad)| {
            let mut name = name.to_owned();
            if upper { name = name.to_uppercase(); }
            if dashes { name = name.replace('_', "-"); }
            if pad { name = format!(" \t{name} "); }
            name
        }),
        1 => "[a-z_]{1,12}",
    ]
}

fn class_rules() -> impl Strategy<Value = ClassRules> {
    (
        subsequence(all_names(), 0..5),
        subsequence(all_names(), 0..5),
    )
        .prop_map(|(auto, approval)| ClassRules {
            auto: auto.into_iter().map(str::to_owned).collect(),
            approval: approval.into_iter().map(str::to_owned).collect(),
        })
}

/// Configs that need not be valid: `decide` must hold its line even for a config that was never
/// validated (a forbidden action in a class list, an undefined class).
fn config() -> impl Strategy<Value = PolicyConfig> {
    (
        any::<bool>(),
        subsequence(all_names(), 0..4),
        proptest::collection::vec((select(CLASSES), select(NAMESPACES), any::<bool>()), 0..4),
        proptest::collection::btree_map(
            select(CLASSES).prop_map(str::to_owned),
            class_rules(),
            0..5,
        ),
        1u32..6,
        1u32..30,
        1u32..5,
    )
        .prop_map(
            |(auto, forbidden, envs, classes, per_target, global, breaker)| {
                let environments = envs
                    .into_iter()
                    .map(|(class, ns, glob)| EnvironmentRule {
                        class: class.to_owned(),
                        namespaces: vec![if glob {
                            format!("{}*", &ns[..2])
                        } else {
                            ns.to_owned()
                        }],
                        namespace_labels: BTreeMap::new(),
                        nodes: if glob { vec!["*".into()] } else { vec![] },
                        node_labels: BTreeMap::new(),
                    })
                    .collect();
                let mut limits = Limits {
                    per_target_per_hour: per_target,
                    global_per_hour: global,
                    ..Limits::default()
                };
                limits.breaker.same_action_same_target = breaker;
                PolicyConfig {
                    mode: if auto { Mode::Auto } else { Mode::Recommend },
                    forbidden: forbidden.into_iter().map(str::to_owned).collect(),
                    environments,
                    classes,
                    limits,
                    ..PolicyConfig::default()
                }
            },
        )
}

fn ask() -> impl Strategy<Value = Ask> {
    (
        config(),
        action_name(),
        prop_oneof![
            select(NAMESPACES).prop_map(|ns| format!("Deployment/{ns}/web")),
            Just("Node/n1".to_owned())
        ],
        proptest::option::of(select(vec!["alice", " ", "bob"])),
        prop_oneof![
            4 => Just(vec![]),
            1 => subsequence(vec!["oom", "unknown", "database_error", "crashloop"], 0..3),
        ],
        proptest::collection::vec(
            (
                action_name(),
                select(NAMESPACES),
                prop_oneof![-30i64..120, 0i64..2000],
            ),
            0..25,
        ),
    )
        .prop_map(
            |(config, action, target_key, approved, escalation, history)| {
                let mut ask = Ask::new(&action, &target_key).escalation(&escalation);
                ask.config = config;
                ask.approved_by = approved.map(str::to_owned);
                for (past, ns, minutes) in history {
                    ask = ask.ran(1, &past, &format!("Deployment/{ns}/web"), minutes);
                }
                ask
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn forbidden_is_never_allowed(ask in ask()) {
        let d = ask.decide();
        if ask.config.is_forbidden(&ask.action) {
            prop_assert_eq!(d.outcome.as_str(), "forbidden", "{}", d.reason);
        }
        if let Some(permit) = d.permit() {
            prop_assert!(!ask.config.is_forbidden(&permit.request().action));
            prop_assert!(!FORBIDDEN_ACTIONS.contains(&normalize_action(&ask.action).as_str()));
            prop_assert!(!list_covers(&ask.config.forbidden, &ask.action));
        }
    }

    #[test]
    fn only_listed_known_actions_are_allowed(ask in ask()) {
        let d = ask.decide();
        if let Some(permit) = d.permit() {
            let class = ask.config.environment_class(&ask.target, &ask.namespace_labels, &ask.node_labels);
            prop_assert_eq!(permit.class(), class);
            let rules = ask.config.class_rules(class).unwrap();
            let action = normalize_action(&ask.action);
            prop_assert!(is_known(&action));
            prop_assert!(list_covers(&rules.auto, &action) || list_covers(&rules.approval, &action));
            // Auto authority only from the auto list in auto mode; otherwise a named human.
            match permit.authority() {
                Authority::Auto => prop_assert!(ask.config.mode == Mode::Auto && list_covers(&rules.auto, &action)),
                Authority::Human(name) => prop_assert!(!name.trim().is_empty()),
            }
            prop_assert!(ask.escalation.iter().all(|c| !ask.config.always_escalate.contains(c)));
        }
    }
}
