//! Which images "exist" in the simulated registry, and the IDs a runtime would report.

use std::collections::BTreeSet;

/// The registry host that never resolves (RFC 6761 reserves `.invalid`).
pub const MISSING_REGISTRY: &str = "registry.invalid";
/// Tags starting with this never exist, so a typo'd rollout can be staged on any image.
pub const MISSING_TAG_PREFIX: &str = "does-not-exist";

/// The parts of an image reference we care about.
#[derive(Debug, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// The registry host if the first path component names one (has '.', ':' or is localhost).
    pub registry: Option<&'a str>,
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

pub fn parse_ref(image: &str) -> ImageRef<'_> {
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    let (registry, path) = match rest.split_once('/') {
        Some((first, path))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), path)
        }
        _ => (None, rest),
    };
    // A ':' after the last '/' separates the tag; one before it belonged to a registry port.
    let (repository, tag) = match path.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
        _ => (path, None),
    };
    ImageRef {
        registry,
        repository,
        tag,
        digest,
    }
}

/// Whether pulling `image` fails with "not found".
pub fn is_missing(image: &str, marked_missing: &BTreeSet<String>) -> bool {
    if marked_missing.contains(image) {
        return true;
    }
    let parsed = parse_ref(image);
    let registry_missing = parsed
        .registry
        .is_some_and(|host| host.split(':').next() == Some(MISSING_REGISTRY));
    let tag_missing = parsed
        .tag
        .is_some_and(|tag| tag.starts_with(MISSING_TAG_PREFIX));
    registry_missing || tag_missing
}

/// 64 hex digits derived from the inputs: stable fake digests and container IDs.
pub fn fake_hex64(parts: &[&str]) -> String {
    let mut out = String::with_capacity(64);
    for round in 0u64..4 {
        // FNV-1a per round with a different seed, then a finalising mix: cheap and stable.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for part in parts {
            for byte in part.bytes().chain(std::iter::once(0)) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        out.push_str(&format!("{hash:016x}"));
    }
    out
}

/// The `imageID` a containerd node reports for a pulled image.
pub fn image_id(image: &str) -> String {
    let parsed = parse_ref(image);
    let name = match parsed.registry {
        Some(registry) => format!("{registry}/{}", parsed.repository),
        None if parsed.repository.contains('/') => format!("docker.io/{}", parsed.repository),
        None => format!("docker.io/library/{}", parsed.repository),
    };
    let digest = match parsed.digest {
        Some(digest) => digest.to_string(),
        None => format!("sha256:{}", fake_hex64(&[image])),
    };
    format!("{name}@{digest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        let r = parse_ref("registry.invalid:5000/team/app:v1@sha256:abc");
        assert_eq!(r.registry, Some("registry.invalid:5000"));
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag, Some("v1"));
        assert_eq!(r.digest, Some("sha256:abc"));
        let r = parse_ref("nginx");
        assert_eq!((r.registry, r.repository, r.tag), (None, "nginx", None));
        let r = parse_ref("library/nginx:1.25");
        assert_eq!(
            (r.registry, r.repository, r.tag),
            (None, "library/nginx", Some("1.25"))
        );
        let r = parse_ref("localhost:5000/app");
        assert_eq!(
            (r.registry, r.repository, r.tag),
            (Some("localhost:5000"), "app", None)
        );
    }

    #[test]
    fn missing_images() {
        let marked: BTreeSet<String> = ["nginx:1.99".to_string()].into();
        let cases = [
            ("nginx:1.25", false),
            ("nginx", false),
            ("registry.invalid/app:v1", true),
            ("registry.invalid:443/app", true),
            ("registry.invalid.example.com/app", false),
            ("nginx:does-not-exist", true),
            ("nginx:does-not-exist-2", true),
            ("does-not-exist/app:1", false),
            ("nginx:1.99", true),
            ("docker.io/nginx:1.99", false),
        ];
        for (image, want) in cases {
            assert_eq!(is_missing(image, &marked), want, "{image}");
        }
    }

    #[test]
    fn ids_are_stable_and_shaped() {
        assert_eq!(fake_hex64(&["a", "b"]), fake_hex64(&["a", "b"]));
        assert_ne!(fake_hex64(&["a", "b"]), fake_hex64(&["ab"]));
        assert_eq!(fake_hex64(&["x"]).len(), 64);
        assert!(image_id("nginx:1.25").starts_with("docker.io/library/nginx@sha256:"));
        assert_eq!(image_id("quay.io/x/y@sha256:00"), "quay.io/x/y@sha256:00");
    }
}
