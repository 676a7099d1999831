//! Redaction of credentials before anything reaches a provider. Pure functions: structural rules
//! for JSON tool outputs (Secret data, credential-named env vars and fields) and text rules for
//! everything (bearer/basic credentials, auth headers, passwords in URLs, well-known key formats,
//! `NAME=value` assignments whose name says it is a credential). Over-redaction is preferred to a
//! leak: a redacted value costs the model a detail, a leaked one cannot be taken back.

use regex::{Captures, Regex};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::LazyLock;

pub const REDACTED: &str = "[REDACTED]";

/// Whether a variable or field name says its value is a credential.
pub fn is_credential_name(name: &str) -> bool {
    let upper: String = name
        .chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    // References to credentials (a Secret's name, a key file's path) are not credentials and
    // are what an investigation needs to read.
    const NOT: [&str; 6] = ["NAME", "REF", "FILE", "PATH", "DIR", "ID"];
    if upper == "KEY" || upper == "PWD" || NOT.iter().any(|s| upper.ends_with(s)) {
        return false;
    }
    const MARKERS: [&str; 10] = [
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "SECRET",
        "TOKEN",
        "APIKEY",
        "API_KEY",
        "CREDENTIAL",
        "PRIVATE_KEY",
        "ACCESS_KEY",
    ];
    MARKERS.iter().any(|m| upper.contains(m)) || upper.ends_with("KEY")
}

/// Redacts a JSON value in place: structural rules first, then the text rules on every string.
pub fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if looks_like_secret(map) {
                for field in ["data", "stringData"] {
                    if let Some(Value::Object(data)) = map.get_mut(field) {
                        for v in data.values_mut() {
                            *v = Value::String(REDACTED.into());
                        }
                    }
                }
                // `kubectl apply` keeps the whole manifest, data included, in this annotation.
                if let Some(v) = map
                    .get_mut("metadata")
                    .and_then(|m| m.get_mut("annotations"))
                    .and_then(|a| a.get_mut("kubectl.kubernetes.io/last-applied-configuration"))
                {
                    *v = Value::String(REDACTED.into());
                }
            }
            // An env var: {"name": "DB_PASSWORD", "value": "..."}
            let env_credential = map
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(is_credential_name);
            for (key, v) in map.iter_mut() {
                let credential = (key == "value" && env_credential) || is_credential_name(key);
                if credential && v.is_string() {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact_value(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::String(s) => {
            if let Cow::Owned(redacted) = redact_text(s) {
                *s = redacted;
            }
        }
        _ => {}
    }
}

/// A Kubernetes Secret: `kind: Secret`, or (in list items, which carry no kind) data next to a
/// `type` field — ConfigMaps have no `type`.
fn looks_like_secret(map: &serde_json::Map<String, Value>) -> bool {
    let has_data = map.get("data").is_some_and(Value::is_object)
        || map.get("stringData").is_some_and(Value::is_object);
    has_data
        && (map.get("kind").and_then(Value::as_str) == Some("Secret")
            || map.get("type").is_some_and(Value::is_string))
}

struct Rule {
    pattern: Regex,
    replace: fn(&Captures<'_>) -> String,
}

fn rule(pattern: &str, replace: fn(&Captures<'_>) -> String) -> Option<Rule> {
    match Regex::new(pattern) {
        Ok(pattern) => Some(Rule { pattern, replace }),
        Err(error) => {
            // The patterns are constants covered by the tests; this cannot happen in a build
            // that passed them, and a missing rule must not take the process down.
            tracing::error!(%error, "invalid redaction pattern");
            None
        }
    }
}

fn group(caps: &Captures<'_>, i: usize) -> String {
    caps.get(i)
        .map_or(String::new(), |m| m.as_str().to_string())
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    [
        // PEM private keys, whole block.
        rule(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----",
            |_| REDACTED.into(),
        ),
        // Authorization-style headers, in HTTP dumps, logs and JSON alike: the value up to the
        // end of the line or the closing quote.
        rule(
            r#"(?i)\b(authorization|proxy-authorization|x-api-key|api-key|x-auth-token|cookie|set-cookie)(["']?\s*[:=]\s*["']?)([^"'\r\n,}]+)"#,
            |c| format!("{}{}{REDACTED}", group(c, 1), group(c, 2)),
        ),
        // Bearer / Basic credentials anywhere else.
        rule(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*", |c| {
            format!("{} {REDACTED}", group(c, 1))
        }),
        // scheme://user:password@host
        rule(
            r"([A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*):([^@/\s]+)@",
            |c| format!("{}:{REDACTED}@", group(c, 1)),
        ),
        // Well-known key formats: OpenAI/Anthropic, Slack, AWS access key ids, GitHub, Google,
        // JWTs (Kubernetes service-account tokens are JWTs).
        rule(r"\bsk-[A-Za-z0-9_\-]{16,}", |_| REDACTED.into()),
        rule(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}", |_| REDACTED.into()),
        rule(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", |_| REDACTED.into()),
        rule(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})", |_| {
            REDACTED.into()
        }),
        rule(r"\bAIza[0-9A-Za-z_\-]{35}", |_| REDACTED.into()),
        rule(
            r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
            |_| REDACTED.into(),
        ),
        // NAME=value / NAME: value where the name says credential (env dumps, YAML, logs).
        rule(
            r#"\b([A-Za-z_][A-Za-z0-9_.\-]*)(\s*[=:]\s*)("[^"\r\n]*"|'[^'\r\n]*'|[^\s"',;}]+)"#,
            |c| {
                let name = group(c, 1);
                if is_credential_name(&name) && group(c, 3) != REDACTED {
                    format!("{name}{}{REDACTED}", group(c, 2))
                } else {
                    group(c, 0)
                }
            },
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// Applies the text rules; borrows when nothing matched.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    for rule in RULES.iter() {
        if rule.pattern.is_match(&out) {
            let replaced = rule
                .pattern
                .replace_all(&out, |c: &Captures<'_>| (rule.replace)(c))
                .into_owned();
            if replaced != *out {
                out = Cow::Owned(replaced);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn credential_names() {
        for name in [
            "DB_PASSWORD",
            "password",
            "API_KEY",
            "apiKey",
            "STRIPE_SECRET",
            "GITHUB_TOKEN",
            "aws_secret_access_key",
            "AWS_ACCESS_KEY",
            "ENCRYPTION_KEY",
            "signing-key",
            "client.secret",
            "PRIVATE_KEY",
            "GOOGLE_CREDENTIALS",
            "passphrase",
        ] {
            assert!(is_credential_name(name), "{name}");
        }
        for name in [
            "key",
            "PWD",
            "secretName",
            "SECRET_NAME",
            "secretKeyRef",
            "TOKEN_FILE",
            "password_path",
            "HOME",
            "LOG_LEVEL",
            "image",
            "KEY_ID",
        ] {
            assert!(!is_credential_name(name), "{name}");
        }
    }

    #[test]
    fn text_rules() {
        let cases = [
            (
                "Authorization: Bearer abc.def.ghi123",
                "Authorization: [REDACTED]",
            ),
            (
                r#"{"authorization": "Basic dXNlcjpwYXNz"}"#,
                r#"{"authorization": "[REDACTED]"}"#,
            ),
            (
                "curl -H 'x-api-key: k-123456'",
                "curl -H 'x-api-key: [REDACTED]'",
            ),
            (
                "token is bearer abcdefghijklmnop",
                "token is bearer [REDACTED]",
            ),
            (
                "postgres://app:s3cr3t@db:5432/x",
                "postgres://app:[REDACTED]@db:5432/x",
            ),
            (
                "see https://example.com/a:b@c",
                "see https://example.com/a:b@c",
            ),
            (
                "key sk-proj-abcdefghijklmnopqrstuv here",
                "key [REDACTED] here",
            ),
            ("slack xoxb-1234567890-abcdefghij", "slack [REDACTED]"),
            ("aws AKIAIOSFODNN7EXAMPLE ok", "aws [REDACTED] ok"),
            (
                "gh ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                "gh [REDACTED]",
            ),
            (
                "jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlc2ln",
                "jwt [REDACTED]",
            ),
            (
                "DB_PASSWORD=hunter2 LOG_LEVEL=debug",
                "DB_PASSWORD=[REDACTED] LOG_LEVEL=debug",
            ),
            (
                "  api_key: 'abc def'\n  port: 80",
                "  api_key: [REDACTED]\n  port: 80",
            ),
            ("secretName: db-creds", "secretName: db-creds"),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIE\nabc\n-----END RSA PRIVATE KEY-----",
                "[REDACTED]",
            ),
            ("OOMKilled: exit code 137", "OOMKilled: exit code 137"),
            ("password=[REDACTED]", "password=[REDACTED]"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_text(input), want, "{input}");
        }
        assert!(matches!(redact_text("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn secrets_env_and_fields() {
        let mut v = json!({
            "items": [
                {"kind": "Secret", "metadata": {"name": "db", "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"pw\":\"aHVudGVyMg==\"}}"}},
                 "type": "Opaque", "data": {"pw": "aHVudGVyMg=="}, "stringData": {"token": "plain"}},
                {"metadata": {"name": "tls"}, "type": "kubernetes.io/tls", "data": {"tls.key": "LS0tLS1CRUdJTg=="}},
                {"kind": "ConfigMap", "data": {"LOG_LEVEL": "debug"}}
            ],
            "env": [
                {"name": "DB_PASSWORD", "value": "hunter2"},
                {"name": "LOG_LEVEL", "value": "info"},
                {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "db", "key": "token"}}}
            ],
            "config": {"clientSecret": "s3", "secretName": "db", "tolerations": [{"key": "node.kubernetes.io/unreachable"}]},
            "log": "connecting with DATABASE_URL=postgres://u:pw1@db/x"
        });
        redact_value(&mut v);
        let text = v.to_string();
        for secret in [
            "aHVudGVyMg==",
            "plain",
            "LS0tLS1CRUdJTg==",
            "hunter2",
            "\"s3\"",
            "pw1",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        for kept in [
            "debug",
            "info",
            "secretKeyRef",
            "\"db\"",
            "node.kubernetes.io/unreachable",
        ] {
            assert!(text.contains(kept), "{kept} lost: {text}");
        }
        assert_eq!(v["items"][0]["data"]["pw"], REDACTED);
        assert_eq!(v["env"][0]["value"], REDACTED);
    }
}
