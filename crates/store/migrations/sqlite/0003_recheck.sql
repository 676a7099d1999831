-- A runbook whose action gates were all closed (the evidence was not there yet: one OOM kill
-- where the runbook wants two) is run again later while the incident stays open; this counts
-- those re-checks, apart from the crash retries `attempts` counts.
ALTER TABLE incident_jobs ADD COLUMN rechecks BIGINT NOT NULL DEFAULT 0;
