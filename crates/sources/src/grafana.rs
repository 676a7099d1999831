//! Grafana's HTTP API: dashboard search and annotations (deploys, incidents people marked).

use crate::config::SourceConfig;
use crate::error::{Service, SourceError};
use crate::http::Endpoint;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// A hit of `/api/search` (`type=dash-db`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardHit {
    pub uid: String,
    pub title: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub folder_title: Option<String>,
    pub folder_uid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    pub id: i64,
    /// Epoch milliseconds.
    pub time: i64,
    /// Epoch milliseconds; equal to `time` for a point annotation.
    pub time_end: Option<i64>,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(rename = "dashboardUID")]
    pub dashboard_uid: Option<String>,
    pub panel_id: Option<i64>,
    pub login: Option<String>,
    /// Set on alert annotations (legacy alerting: `alerting`, `ok`, …).
    pub new_state: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AnnotationQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Annotations carrying all these tags (Grafana's `tags` parameter, repeated).
    pub tags: Vec<String>,
    pub limit: Option<u32>,
    pub dashboard_uid: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GrafanaClient {
    endpoint: Endpoint,
}

impl GrafanaClient {
    pub fn new(config: &SourceConfig) -> Result<Self, SourceError> {
        Ok(GrafanaClient {
            endpoint: Endpoint::new(Service::Grafana, config)?,
        })
    }

    /// `GET /api/search?type=dash-db`: dashboards whose title matches `query` (folders left out).
    pub async fn search_dashboards(
        &self,
        query: &str,
        tags: &[String],
        limit: Option<u32>,
    ) -> Result<Vec<DashboardHit>, SourceError> {
        let mut params = vec![("query", query.to_owned()), ("type", "dash-db".to_owned())];
        params.extend(tags.iter().map(|t| ("tag", t.clone())));
        if let Some(limit) = limit {
            params.push(("limit", limit.to_string()));
        }
        self.endpoint.get_json("/api/search", &params).await
    }

    /// `GET /api/annotations`.
    pub async fn annotations(
        &self,
        query: &AnnotationQuery,
    ) -> Result<Vec<Annotation>, SourceError> {
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(from) = query.from {
            params.push(("from", from.timestamp_millis().to_string()));
        }
        if let Some(to) = query.to {
            params.push(("to", to.timestamp_millis().to_string()));
        }
        params.extend(query.tags.iter().map(|t| ("tags", t.clone())));
        if let Some(limit) = query.limit {
            params.push(("limit", limit.to_string()));
        }
        if let Some(uid) = &query.dashboard_uid {
            params.push(("dashboardUID", uid.clone()));
        }
        self.endpoint.get_json("/api/annotations", &params).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of Grafana's search and annotations HTTP API docs.
    #[test]
    fn search_hits_and_annotations_parse() {
        let search = r#"[
          {"id": 163, "uid": "000000163", "title": "Folder", "url": "/dashboards/f/000000163/folder",
           "type": "dash-folder", "tags": [], "isStarred": false, "uri": "db/folder"},
          {"id": 1, "uid": "cIBgcSjkk", "title": "Production Overview", "url": "/d/cIBgcSjkk/production-overview",
           "type": "dash-db", "tags": ["prod"], "isStarred": true, "folderId": 2, "folderUid": "000000163",
           "folderTitle": "Folder", "folderUrl": "/dashboards/f/000000163/folder", "uri": "db/production-overview"}
        ]"#;
        let hits: Vec<DashboardHit> = serde_json::from_str(search).unwrap();
        assert_eq!(hits[1].uid, "cIBgcSjkk");
        assert_eq!(hits[1].folder_title.as_deref(), Some("Folder"));
        assert_eq!(hits[1].tags, ["prod"]);

        let annotations = r#"[
          {"id": 1124, "alertId": 0, "dashboardId": 468, "dashboardUID": "uGlb_lG7z", "panelId": 2,
           "userId": 1, "userName": "", "newState": "", "prevState": "", "time": 1507266395000,
           "timeEnd": 1507266395000, "text": "test", "metric": "", "tags": ["tag1", "tag2"],
           "data": {}, "login": "admin", "email": "admin@example.com", "avatarUrl": "/avatar/x"},
          {"id": 1123, "dashboardUID": null, "time": 1507265111000, "text": "deploy web 1.4.2", "tags": []}
        ]"#;
        let annotations: Vec<Annotation> = serde_json::from_str(annotations).unwrap();
        assert_eq!(annotations[0].dashboard_uid.as_deref(), Some("uGlb_lG7z"));
        assert_eq!(annotations[0].tags, ["tag1", "tag2"]);
        assert_eq!(annotations[1].time_end, None);
        assert_eq!(annotations[1].text, "deploy web 1.4.2");
    }
}
