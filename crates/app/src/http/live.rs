//! The pages' live feed: `GET /api/stream` is a server-sent event stream of incident updates,
//! and `/live.js` the few lines that follow it in the browser (no client framework): the list
//! reloads when anything changes, an incident's page when that incident does, and a "live"
//! marker says whether the feed is up; without it the page falls back to a periodic reload.
//!
//! Each connection polls `incidents.updated_at` (indexed) once a second, from the moment it
//! connected or from the `Last-Event-ID` the browser sends back when it reconnects, so an
//! update made while the connection was down is still delivered.

use super::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use nightwatch_store::IncidentRow;
use serde_json::json;
use std::convert::Infallible;
use std::time::Duration;
use tokio_stream::wrappers::ReceiverStream;

/// How often a connection looks for updates.
const POLL: Duration = Duration::from_secs(1);
/// Updates sent per look at most; the rest follow at the next.
const BATCH: i64 = 200;

/// One update as the browser gets it; the event id is the update's time (Unix ms).
pub fn incident_event(incident: &IncidentRow) -> Event {
    Event::default()
        .event("incident")
        .id(incident.updated_at.timestamp_millis().to_string())
        .data(
            json!({
                "id": incident.id,
                "state": incident.state.as_str(),
                "updated_at": incident.updated_at.to_rfc3339(),
            })
            .to_string(),
        )
}

/// Where a stream starts: after the browser's `Last-Event-ID` on a reconnect, else now.
fn start_after(headers: &HeaderMap, now_ms: i64) -> i64 {
    headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<i64>().ok())
        .filter(|ms| *ms <= now_ms)
        .unwrap_or(now_ms)
}

pub async fn stream(State(state): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let mut after = start_after(&headers, state.clock.now().timestamp_millis());
    let (send, receive) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(BATCH as usize);
    tokio::spawn(async move {
        // Tells the page the feed is up before the first update.
        if send
            .send(Ok(Event::default().event("hello").data(after.to_string())))
            .await
            .is_err()
        {
            return;
        }
        loop {
            match state.store.incidents_updated_after(after, BATCH).await {
                Ok(updated) => {
                    for incident in &updated {
                        after = after.max(incident.updated_at.timestamp_millis());
                        if send.send(Ok(incident_event(incident))).await.is_err() {
                            return; // the browser went away
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "live feed: reading updates failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = send.closed() => return,
            }
        }
    });
    Sse::new(ReceiverStream::new(receive)).keep_alive(KeepAlive::default())
}

/// The browser side of the feed.
pub async fn script() -> impl IntoResponse {
    javascript(LIVE_JS)
}

/// A script the pages load, served fresh after each upgrade.
pub(super) fn javascript(body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

const LIVE_JS: &str = r#"// nightwatch live updates: follow /api/stream, reload what changed.
(function () {
  var marker = document.getElementById("live");
  var path = location.pathname;
  var incident = (path.match(/^\/incident\/(\d+)/) || [])[1];
  var follows = path === "/" || path === "/actions" || incident !== undefined;
  function show(state, text) {
    if (!marker) return;
    marker.className = "live " + state;
    marker.textContent = text;
  }
  function busy() {
    var el = document.activeElement;
    return el && (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA");
  }
  var pending = false;
  function reload() {
    if (pending) return;
    pending = true;
    (function attempt() {
      // Never under someone's typing: wait until they leave the field.
      if (busy()) { setTimeout(attempt, 1000); return; }
      location.reload();
    })();
  }
  var fallback = null;
  function poll() {
    if (fallback || !follows) return;
    show("polling", "reload every 60s");
    fallback = setInterval(reload, 60000);
  }
  if (!window.EventSource) { poll(); return; }
  var failures = 0;
  var source = new EventSource("/api/stream");
  source.addEventListener("hello", function () {
    failures = 0;
    if (fallback) { clearInterval(fallback); fallback = null; }
    show("on", "live");
  });
  source.addEventListener("incident", function (message) {
    var update = JSON.parse(message.data);
    if (!follows) return;
    if (incident === undefined || String(update.id) === incident) reload();
  });
  // Close the feed when the page goes away: a page kept in the back/forward cache would hold
  // its connection open, and browsers allow only a few per server.
  window.addEventListener("pagehide", function () { source.close(); });
  source.onerror = function () {
    failures += 1;
    show("off", "reconnecting");
    if (failures >= 3) poll();
  };
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reconnect_resumes_after_the_last_event_and_never_from_the_future() {
        let mut headers = HeaderMap::new();
        assert_eq!(start_after(&headers, 5_000), 5_000);
        headers.insert("last-event-id", "4200".parse().unwrap());
        assert_eq!(start_after(&headers, 5_000), 4_200);
        headers.insert("last-event-id", "9999999".parse().unwrap());
        assert_eq!(start_after(&headers, 5_000), 5_000);
        headers.insert("last-event-id", "not a time".parse().unwrap());
        assert_eq!(start_after(&headers, 5_000), 5_000);
    }
}
