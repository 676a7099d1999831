-- One row that readiness rewrites: ready means the writer can commit, not only that the
-- database answers a read (a full disk still answers reads).
CREATE TABLE write_probe (
    id      BIGINT  PRIMARY KEY,
    probes  BIGINT  NOT NULL
);
