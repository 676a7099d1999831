//! Webhook authentication per source: bearer token, basic auth, Grafana's HMAC signature.
//! A source with nothing configured is open. Comparisons are constant-time.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use hmac::{Hmac, Mac};
use nightwatch_core::model::Source;
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Per-source webhook authentication. A request must pass one of its source's configured
/// methods. A source with none is open while no source has any; once one does, a source
/// without its own is refused unless it says `open = true` — so adding a token for one sender
/// never leaves another door open by accident.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub alertmanager: SourceAuth,
    pub grafana: SourceAuth,
    pub signoz: SourceAuth,
}

impl AuthConfig {
    pub fn of(&self, source: Source) -> &SourceAuth {
        match source {
            Source::Alertmanager => &self.alertmanager,
            Source::Grafana => &self.grafana,
            Source::Signoz => &self.signoz,
        }
    }

    fn any_credentials(&self) -> bool {
        Source::ALL.iter().any(|s| self.of(*s).has_credentials())
    }

    /// Sources that accept anonymous deliveries (to warn about at start).
    pub fn open_sources(&self) -> Vec<Source> {
        Source::ALL
            .into_iter()
            .filter(|s| !self.of(*s).has_credentials())
            .filter(|s| self.of(*s).open || !self.any_credentials())
            .collect()
    }

    /// Checks a request to `source`'s webhook: who it was, or why it is refused.
    pub fn check(
        &self,
        source: Source,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<Option<String>, Unauthorized> {
        let auth = self.of(source);
        if !auth.has_credentials() && !auth.open && self.any_credentials() {
            return Err(Unauthorized(
                "this source has no credentials of its own while others do; configure them, or \
                 set its `open = true` to accept anonymous deliveries",
            ));
        }
        verify(auth, headers, body, now_unix)
    }

    /// What the headers alone decide, before the body is read: a refused request is refused
    /// without buffering its body. Only an HMAC signature needs the body.
    pub fn check_headers(
        &self,
        source: Source,
        headers: &HeaderMap,
        now_unix: i64,
    ) -> Result<HeaderCheck, Unauthorized> {
        let auth = self.of(source);
        let Some(hmac) = &auth.hmac else {
            return self
                .check(source, headers, b"", now_unix)
                .map(HeaderCheck::Decided);
        };
        let without_body = SourceAuth {
            hmac: None,
            ..auth.clone()
        };
        if without_body.has_credentials()
            && let Ok(subject) = verify(&without_body, headers, b"", now_unix)
        {
            return Ok(HeaderCheck::Decided(subject));
        }
        if header_text(headers, &hmac.header).is_none() {
            return Err(Unauthorized("missing credentials or signature"));
        }
        Ok(HeaderCheck::NeedsBody)
    }
}

/// The answer of [`AuthConfig::check_headers`].
#[derive(Debug, PartialEq, Eq)]
pub enum HeaderCheck {
    /// Allowed, as this subject (none for an open source).
    Decided(Option<String>),
    /// A signature over the body is to be checked once it is read.
    NeedsBody,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SourceAuth {
    /// `Authorization: Bearer TOKEN`.
    pub bearer_token: Option<String>,
    /// `Authorization: Basic …`.
    pub basic: Option<BasicAuth>,
    /// Grafana's HMAC-SHA256 signature of the body.
    pub hmac: Option<HmacAuth>,
    /// Accept deliveries without credentials even though other sources have some.
    pub open: bool,
}

impl SourceAuth {
    fn has_credentials(&self) -> bool {
        self.bearer_token.is_some() || self.basic.is_some() || self.hmac.is_some()
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HmacAuth {
    pub secret: String,
    /// Header carrying the hex signature (Grafana's default).
    #[serde(default = "default_hmac_header")]
    pub header: String,
    /// When set, the signature covers `TIMESTAMP:BODY` and the timestamp must be recent.
    #[serde(default)]
    pub timestamp_header: Option<String>,
}

fn default_hmac_header() -> String {
    "X-Grafana-Alerting-Signature".to_owned()
}

/// How far a signed timestamp may be from our clock (replay window).
const MAX_SIGNATURE_SKEW_SECONDS: i64 = 300;

#[derive(Debug, PartialEq, Eq)]
pub struct Unauthorized(pub &'static str);

/// Checks a request; returns who it was (for the delivery record), or why it is refused.
pub fn verify(
    auth: &SourceAuth,
    headers: &HeaderMap,
    body: &[u8],
    now_unix: i64,
) -> Result<Option<String>, Unauthorized> {
    if !auth.has_credentials() {
        return Ok(None);
    }
    let authorization = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if let Some(token) = &auth.bearer_token
        && let Some(given) = strip_scheme(authorization, "bearer")
        && equal(given.as_bytes(), token.as_bytes())
    {
        return Ok(Some("bearer".to_owned()));
    }
    if let Some(basic) = &auth.basic
        && let Some(encoded) = strip_scheme(authorization, "basic")
        && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim())
    {
        let expected = format!("{}:{}", basic.username, basic.password);
        if equal(&decoded, expected.as_bytes()) {
            return Ok(Some(format!("basic:{}", basic.username)));
        }
    }
    if let Some(hmac) = &auth.hmac {
        let signature = header_text(headers, &hmac.header);
        let mut mac = Hmac::<Sha256>::new_from_slice(hmac.secret.as_bytes())
            .map_err(|_| Unauthorized("invalid HMAC secret"))?;
        if let Some(timestamp_header) = &hmac.timestamp_header {
            let timestamp = header_text(headers, timestamp_header)
                .ok_or(Unauthorized("missing signature timestamp"))?;
            let seconds: i64 = timestamp
                .trim()
                .parse()
                .map_err(|_| Unauthorized("invalid signature timestamp"))?;
            if (now_unix - seconds).abs() > MAX_SIGNATURE_SKEW_SECONDS {
                return Err(Unauthorized("signature timestamp too old or in the future"));
            }
            mac.update(timestamp.trim().as_bytes());
            mac.update(b":");
        }
        mac.update(body);
        let expected = hex::encode(mac.finalize().into_bytes());
        if let Some(given) = signature
            && equal(
                given.trim().to_ascii_lowercase().as_bytes(),
                expected.as_bytes(),
            )
        {
            return Ok(Some("hmac".to_owned()));
        }
    }
    Err(Unauthorized("missing or invalid credentials"))
}

fn strip_scheme<'a>(authorization: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = authorization.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest.trim())
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Signs a body the way Grafana does (used by tests and documentation examples).
#[cfg(test)]
pub fn grafana_signature(secret: &str, timestamp: Option<&str>, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    if let Some(ts) = timestamp {
        mac.update(ts.as_bytes());
        mac.update(b":");
    }
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::{BasicAuth, HmacAuth};
    use axum::http::HeaderValue;

    const NOW: i64 = 1_790_000_000;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn open_source_accepts_anything() {
        assert_eq!(
            verify(&SourceAuth::default(), &HeaderMap::new(), b"{}", NOW),
            Ok(None)
        );
    }

    #[test]
    fn bearer_and_basic() {
        let auth = SourceAuth {
            bearer_token: Some("t0ken".into()),
            basic: Some(BasicAuth {
                username: "am".into(),
                password: "pw".into(),
            }),
            hmac: None,
            open: false,
        };
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("am:pw")
        );
        let wrong_basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("am:nope")
        );
        let cases: Vec<(HeaderMap, Result<Option<String>, Unauthorized>)> = vec![
            (
                headers(&[("authorization", "Bearer t0ken")]),
                Ok(Some("bearer".into())),
            ),
            (
                headers(&[("authorization", "bearer t0ken")]),
                Ok(Some("bearer".into())),
            ),
            (
                headers(&[("authorization", basic.as_str())]),
                Ok(Some("basic:am".into())),
            ),
            (
                headers(&[("authorization", "Bearer t0ken2")]),
                Err(Unauthorized("missing or invalid credentials")),
            ),
            (
                headers(&[("authorization", wrong_basic.as_str())]),
                Err(Unauthorized("missing or invalid credentials")),
            ),
            (
                HeaderMap::new(),
                Err(Unauthorized("missing or invalid credentials")),
            ),
        ];
        for (index, (given, expected)) in cases.into_iter().enumerate() {
            assert_eq!(verify(&auth, &given, b"{}", NOW), expected, "case {index}");
        }
    }

    #[test]
    fn grafana_hmac_with_and_without_timestamp() {
        let body = br#"{"alerts":[]}"#;
        let plain = SourceAuth {
            hmac: Some(HmacAuth {
                secret: "s".into(),
                header: "X-Grafana-Alerting-Signature".into(),
                timestamp_header: None,
            }),
            ..Default::default()
        };
        let good = grafana_signature("s", None, body);
        assert_eq!(
            verify(
                &plain,
                &headers(&[("x-grafana-alerting-signature", &good)]),
                body,
                NOW
            ),
            Ok(Some("hmac".into()))
        );
        assert!(
            verify(
                &plain,
                &headers(&[("x-grafana-alerting-signature", &good)]),
                b"tampered",
                NOW
            )
            .is_err()
        );

        let stamped = SourceAuth {
            hmac: Some(HmacAuth {
                secret: "s".into(),
                header: "X-Grafana-Alerting-Signature".into(),
                timestamp_header: Some("X-Grafana-Alerting-Timestamp".into()),
            }),
            ..Default::default()
        };
        let ts = NOW.to_string();
        let signed = grafana_signature("s", Some(&ts), body);
        let ok = headers(&[
            ("x-grafana-alerting-signature", &signed),
            ("x-grafana-alerting-timestamp", &ts),
        ]);
        assert_eq!(verify(&stamped, &ok, body, NOW), Ok(Some("hmac".into())));
        assert_eq!(
            verify(&stamped, &ok, body, NOW + 3600),
            Err(Unauthorized("signature timestamp too old or in the future"))
        );
        let unsigned_ts = headers(&[
            ("x-grafana-alerting-signature", &good),
            ("x-grafana-alerting-timestamp", &ts),
        ]);
        assert!(verify(&stamped, &unsigned_ts, body, NOW).is_err());
    }

    #[test]
    fn once_one_source_has_credentials_the_others_need_their_own_or_open() {
        let mut config = AuthConfig::default();
        let anonymous = HeaderMap::new();
        assert_eq!(
            config.check(Source::Signoz, &anonymous, b"{}", NOW),
            Ok(None)
        );
        assert_eq!(config.open_sources(), Source::ALL.to_vec());

        config.alertmanager.bearer_token = Some("t0ken".to_owned());
        assert!(
            config
                .check(Source::Signoz, &anonymous, b"{}", NOW)
                .is_err()
        );
        assert!(
            config
                .check(Source::Alertmanager, &anonymous, b"{}", NOW)
                .is_err()
        );
        let mut bearer = HeaderMap::new();
        bearer.insert(AUTHORIZATION, "Bearer t0ken".parse().unwrap());
        assert_eq!(
            config.check(Source::Alertmanager, &bearer, b"{}", NOW),
            Ok(Some("bearer".to_owned()))
        );
        assert!(
            config.check(Source::Grafana, &bearer, b"{}", NOW).is_err(),
            "not its token"
        );
        assert_eq!(config.open_sources(), Vec::<Source>::new());

        config.signoz.open = true;
        assert_eq!(
            config.check(Source::Signoz, &anonymous, b"{}", NOW),
            Ok(None)
        );
        assert_eq!(config.open_sources(), vec![Source::Signoz]);
    }
}
