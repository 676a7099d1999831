-- An action a human approved is run by whichever process took it, outside any runbook job:
-- the lease says until when that process answers for it. A `running` action whose lease ran
-- out was left by a process that died, and another takes it up (verified if it was executed,
-- run afresh if it never reached the cluster).
ALTER TABLE actions ADD COLUMN lease_until BIGINT;
