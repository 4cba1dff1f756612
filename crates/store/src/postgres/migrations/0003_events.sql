-- Sign-in events (deduplicated by id within a tenant, as the sled backend keys them), the
-- subjects the risk engine windows over, pull cursors and sync status.
--
-- timestamptz keeps microseconds, an event's time may carry more (Entra's are 100 ns ticks):
-- `time` is the event's time cut to the microsecond and `time_nanos` the nanoseconds past it
-- (0-999), so that (time, time_nanos) orders and compares exactly as the event's own time.
CREATE TABLE signins (
    tenant_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    time timestamptz NOT NULL,
    time_nanos smallint NOT NULL,
    doc jsonb NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- The subjects a sign-in is about (`u:<user id>` or `l:<lower-cased login>`, `i:<ip>`,
-- `s:<session id>`), in (time, id) order within each: the risk engine's windows. No foreign key
-- to `signins`: its check per row cost as much as the rest of an ingest batch. Readers join
-- `signins`, so a row whose sign-in is gone is never seen; whatever deletes a tenant's
-- sign-ins deletes its rows here too (by tenant_id).
CREATE TABLE signin_subjects (
    tenant_id text COLLATE "C" NOT NULL,
    subject text COLLATE "C" NOT NULL,
    time timestamptz NOT NULL,
    time_nanos smallint NOT NULL,
    signin_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, subject, time, time_nanos, signin_id)
);

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
