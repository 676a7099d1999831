-- Times are Unix milliseconds (BIGINT) in both backends so the same queries serve both.

CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY,
    source           TEXT    NOT NULL,
    received_at      BIGINT  NOT NULL,
    auth_subject     TEXT,
    remote_addr      TEXT,
    content_type     TEXT,
    body             BLOB    NOT NULL,
    receiver         TEXT,
    status           TEXT,
    group_key        TEXT,
    truncated_alerts BIGINT  NOT NULL DEFAULT 0,
    alert_count      BIGINT  NOT NULL
);

CREATE TABLE alerts (
    id                 INTEGER PRIMARY KEY,
    delivery_id        BIGINT NOT NULL REFERENCES deliveries (id),
    seq                BIGINT NOT NULL,
    status             TEXT   NOT NULL,
    alertname          TEXT   NOT NULL,
    fingerprint        TEXT   NOT NULL,
    source_fingerprint TEXT,
    labels             TEXT   NOT NULL,
    annotations        TEXT   NOT NULL,
    extra              TEXT   NOT NULL,
    starts_at          BIGINT,
    ends_at            BIGINT,
    generator_url      TEXT,
    incident_id        BIGINT,
    outcome            TEXT,
    processed_at       BIGINT,
    UNIQUE (delivery_id, seq)
);
CREATE INDEX alerts_incident ON alerts (incident_id);

CREATE TABLE alert_queue (
    alert_id    BIGINT PRIMARY KEY REFERENCES alerts (id),
    fingerprint TEXT   NOT NULL,
    enqueued_at BIGINT NOT NULL
);
CREATE INDEX alert_queue_fingerprint ON alert_queue (fingerprint, alert_id);

CREATE TABLE incidents (
    id                   INTEGER PRIMARY KEY,
    fingerprint          TEXT   NOT NULL,
    state                TEXT   NOT NULL,
    severity             TEXT   NOT NULL,
    source               TEXT   NOT NULL,
    alertname            TEXT   NOT NULL,
    namespace            TEXT,
    pod                  TEXT,
    container            TEXT,
    node                 TEXT,
    summary              TEXT,
    labels               TEXT   NOT NULL,
    annotations          TEXT   NOT NULL,
    runbook              TEXT,
    mode                 TEXT,
    verdict              TEXT,
    opened_at            BIGINT NOT NULL,
    acknowledged_at      BIGINT,
    acknowledged_by      TEXT,
    resolved_at          BIGINT,
    resolved_by          TEXT,
    last_alert_at        BIGINT NOT NULL,
    opened_starts_at     BIGINT,
    last_starts_at       BIGINT,
    alert_count          BIGINT NOT NULL DEFAULT 1,
    previous_incident_id BIGINT REFERENCES incidents (id)
);
-- Invariant: at most one open incident per fingerprint.
CREATE UNIQUE INDEX incidents_one_open ON incidents (fingerprint) WHERE state <> 'resolved';
CREATE INDEX incidents_fingerprint ON incidents (fingerprint, id);
CREATE INDEX incidents_alertname ON incidents (alertname, id);
CREATE INDEX incidents_namespace_pod ON incidents (namespace, pod, id);
CREATE INDEX incidents_node ON incidents (node, id);
CREATE INDEX incidents_state ON incidents (state, id);

CREATE TABLE incident_events (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    at          BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    actor       TEXT   NOT NULL,
    alert_id    BIGINT,
    payload     TEXT   NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);
CREATE INDEX incident_events_alert ON incident_events (alert_id);
