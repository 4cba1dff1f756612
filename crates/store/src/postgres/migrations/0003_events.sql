-- Sign-in events (deduplicated by id), the subjects the risk engine windows over, pull cursors
-- and sync status.
CREATE TABLE signins (
    id text COLLATE "C" PRIMARY KEY,
    tenant_id text COLLATE "C" NOT NULL,
    time timestamptz NOT NULL,
    doc jsonb NOT NULL
);
CREATE INDEX signins_by_tenant ON signins (tenant_id, id);
CREATE INDEX signins_by_time ON signins (tenant_id, time, id);

CREATE TABLE signin_subjects (
    tenant_id text COLLATE "C" NOT NULL,
    subject text COLLATE "C" NOT NULL,
    time timestamptz NOT NULL,
    signin_id text COLLATE "C" NOT NULL REFERENCES signins (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, subject, time, signin_id)
);
CREATE INDEX signin_subjects_by_signin ON signin_subjects (signin_id);

CREATE TABLE cursors (
    tenant_id text COLLATE "C" NOT NULL,
    integration_id text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    doc jsonb NOT NULL,
    PRIMARY KEY (tenant_id, integration_id, name)
);

CREATE TABLE sync_status (
    tenant_id text COLLATE "C" NOT NULL,
    integration_id text COLLATE "C" NOT NULL,
    doc jsonb NOT NULL,
    PRIMARY KEY (tenant_id, integration_id)
);
