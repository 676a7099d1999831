-- One row per incident told to the humans: where its message is (to update it and thread
-- reminders under it) and the nag record (core::escalation), so nagging survives restarts.
CREATE TABLE notifications (
    incident_id  BIGINT  PRIMARY KEY REFERENCES incidents (id),
    channel      TEXT    NOT NULL,
    message_ts   TEXT    NOT NULL,
    nags         BIGINT  NOT NULL DEFAULT 0,
    level        BIGINT  NOT NULL DEFAULT 0,
    next_nag_at  BIGINT  NOT NULL,
    stopped      BIGINT  NOT NULL DEFAULT 0,
    updated_at   BIGINT  NOT NULL
);
CREATE INDEX notifications_due ON notifications (stopped, next_nag_at);
