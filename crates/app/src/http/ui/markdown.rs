//! An analysis section's Markdown as safe HTML.
//!
//! The text is a model's or a template's, and alert labels and annotations reach both, so it is
//! attacker-controlled: raw HTML in it is shown as text (never passed through), the rendered
//! HTML is sanitised (no scripts, no event handlers, no `javascript:` links, links get
//! `rel="noopener noreferrer"`), and citations (`[event 4]`, `[events 4, 5]`) become links to
//! their timeline rows.

use pulldown_cmark::{Event, Options, Parser};

/// `body` (Markdown) rendered and sanitised, its citations linked to `#event-N`.
pub(super) fn analysis_html(body: &str) -> String {
    let linked = link_citations(body);
    let parser = Parser::new_ext(
        &linked,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        // Shown as written, not interpreted.
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer"))
        .clean(&html)
        .to_string()
}

/// Rewrites each citation's ids as Markdown links: `[event 4]` → `\[event [4](#event-4)\]`,
/// `[events 4, 5]` → `\[events [4](#event-4), [5](#event-5)\]`. Other brackets stay as written.
fn link_citations(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        let citation = rest.find(']').and_then(|close| {
            let inner = &rest[1..close];
            let (plural, ids) = inner
                .strip_prefix("events ")
                .map(|ids| (true, ids))
                .or_else(|| inner.strip_prefix("event ").map(|ids| (false, ids)))?;
            let ids: Vec<i64> = ids
                .split(',')
                .map(|id| id.trim().parse().ok())
                .collect::<Option<_>>()?;
            Some((close, plural, ids))
        });
        let Some((close, plural, ids)) = citation else {
            out.push('[');
            rest = &rest[1..];
            continue;
        };
        let links: Vec<String> = ids
            .iter()
            .map(|id| format!("[{id}](#event-{id})"))
            .collect();
        let label = if plural { "events" } else { "event" };
        out.push_str(&format!("\\[{label} {}\\]", links.join(", ")));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_citations_link_to_the_timeline() {
        let html = analysis_html(
            "**Recommendation:** restart `web` [event 4].\n\n- OOM killed [events 4, 7]\n- see [the docs](https://kubernetes.io/docs/)",
        );
        assert!(html.contains("<strong>Recommendation:</strong>"), "{html}");
        assert!(html.contains("<code>web</code>"), "{html}");
        assert!(
            html.contains(r##"[event <a href="#event-4" rel="noopener noreferrer">4</a>]"##),
            "{html}"
        );
        assert!(html.contains(r##"[events <a href="#event-4" rel="noopener noreferrer">4</a>, <a href="#event-7" rel="noopener noreferrer">7</a>]"##), "{html}");
        assert!(
            html.contains(
                r#"<a href="https://kubernetes.io/docs/" rel="noopener noreferrer">the docs</a>"#
            ),
            "{html}"
        );
        assert!(html.contains("<li>"), "{html}");
        assert!(!html.contains("**"), "{html}");
    }

    #[test]
    fn hostile_text_renders_inert() {
        let cases = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "![x](javascript:alert(1))",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<svg onload=alert(1)>",
            "label <b onmouseover=alert(1)>bold</b>",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "<style>body{display:none}</style>",
            "[event 1](javascript:alert(1))",
        ];
        for case in cases {
            let html = analysis_html(case).to_lowercase();
            // Escaped text (`&lt;script&gt;`) is inert; only real tags matter.
            for tag in tags(&html) {
                let name = tag.split_whitespace().next().unwrap_or_default();
                assert!(
                    ["p", "/p", "a", "/a", "code", "/code", "img"].contains(&name),
                    "{case:?}: tag <{tag}> in {html:?}"
                );
                for bad in [" on", "javascript:", "data:"] {
                    assert!(!tag.contains(bad), "{case:?}: tag <{tag}> in {html:?}");
                }
            }
        }
        // Raw HTML is shown as text, so the reader sees what was there.
        assert!(analysis_html("<script>alert(1)</script>").contains("&lt;script&gt;"));
    }

    /// The insides of the real tags of `html`.
    fn tags(html: &str) -> Vec<&str> {
        html.split('<')
            .skip(1)
            .filter_map(|rest| rest.split_once('>').map(|(tag, _)| tag))
            .collect()
    }

    #[test]
    fn brackets_that_are_not_citations_stay_as_written() {
        for text in [
            "[note] x",
            "[event x]",
            "[events 1, y]",
            "a [ b",
            "[event 3",
        ] {
            let html = analysis_html(text);
            assert!(!html.contains("#event-"), "{text:?} → {html}");
        }
    }
}
