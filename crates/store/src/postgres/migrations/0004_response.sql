-- Detections (indexed by subject), actions (idempotency key unique per tenant; open actions
-- indexed for the executor) and response policies.
CREATE TABLE detections (
    id text COLLATE "C" PRIMARY KEY,
    tenant_id text COLLATE "C" NOT NULL,
    last_seen timestamptz NOT NULL,
    doc jsonb NOT NULL
);
CREATE INDEX detections_by_tenant ON detections (tenant_id, id);

CREATE TABLE detection_subjects (
    tenant_id text COLLATE "C" NOT NULL,
    subject text COLLATE "C" NOT NULL,
    detection_id text COLLATE "C" NOT NULL REFERENCES detections (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, subject, detection_id)
);
-- For the cascade when a detection is deleted.
CREATE INDEX detection_subjects_by_detection ON detection_subjects (detection_id);

CREATE TABLE actions (
    id text COLLATE "C" PRIMARY KEY,
    tenant_id text COLLATE "C" NOT NULL,
    idempotency_key text COLLATE "C" NOT NULL,
    open boolean NOT NULL,
    doc jsonb NOT NULL,
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX actions_by_tenant ON actions (tenant_id, id);
CREATE INDEX actions_open ON actions (id) WHERE open;

CREATE TABLE policies (
    id text COLLATE "C" PRIMARY KEY,
    tenant_id text COLLATE "C" NOT NULL,
    doc jsonb NOT NULL
);
CREATE INDEX policies_by_tenant ON policies (tenant_id, id);
