-- Runbook jobs: one per opened incident, written in the transaction that opens it, so a crash
-- never loses the response to an incident. A claim is a lease (claimed_until); a worker that
-- dies leaves the job to be claimed again after the lease.
CREATE TABLE incident_jobs (
    incident_id   BIGINT PRIMARY KEY REFERENCES incidents (id),
    enqueued_at   BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    attempts      BIGINT NOT NULL DEFAULT 0
);

-- Every action a runbook asked for, with the policy's decision and what became of it. Executed
-- rows are also the history the policy's limits and breaker count.
CREATE TABLE actions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id      BIGINT NOT NULL REFERENCES incidents (id),
    runbook          TEXT   NOT NULL,
    step_id          TEXT   NOT NULL,
    action           TEXT   NOT NULL,
    target_kind      TEXT   NOT NULL,
    target_namespace TEXT,
    target_name      TEXT   NOT NULL,
    target_key       TEXT   NOT NULL,
    args             TEXT   NOT NULL,
    state            TEXT   NOT NULL,
    class            TEXT,
    rule             TEXT,
    reason           TEXT   NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT,
    decided_at       BIGINT,
    decided_by       TEXT,
    executed_at      BIGINT,
    finished_at      BIGINT,
    result           TEXT
);
CREATE INDEX actions_state ON actions (state, id);
CREATE INDEX actions_incident ON actions (incident_id, id);
CREATE INDEX actions_executed ON actions (executed_at);
