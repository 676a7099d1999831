-- When anything last happened to an incident (an alert folded in, a state change, a runbook
-- step, an action, an analysis): what the on-call list is ordered by. A trigger on every
-- appended incident event keeps it; existing rows start from the latest of their known times.
ALTER TABLE incidents ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE incidents SET updated_at = COALESCE(
    (SELECT MAX(e.at) FROM incident_events e WHERE e.incident_id = incidents.id),
    last_alert_at);
CREATE INDEX incidents_updated ON incidents (updated_at, id);
-- Kept inside the statement that appends the event, so it costs no write of its own.
CREATE FUNCTION incident_events_touch() RETURNS trigger AS $$
BEGIN
    UPDATE incidents SET updated_at = NEW.at WHERE id = NEW.incident_id AND updated_at < NEW.at;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER incident_events_touch AFTER INSERT ON incident_events
    FOR EACH ROW EXECUTE FUNCTION incident_events_touch();
