-- Tenants, tokens, API keys, integrations; the write probe of /readyz.
CREATE TABLE gatehouse_probe (
    id integer PRIMARY KEY,
    probed_at timestamptz NOT NULL
);

CREATE TABLE tenants (
    id text COLLATE "C" PRIMARY KEY,
    doc jsonb NOT NULL
);

-- Token hashes: the one lookup not scoped by tenant (the hash is what authenticates).
CREATE TABLE tokens (
    hash text COLLATE "C" PRIMARY KEY,
    kind text COLLATE "C" NOT NULL,
    tenant_id text COLLATE "C",
    integration_id text COLLATE "C",
    api_key_id text COLLATE "C",
    doc jsonb NOT NULL
);
CREATE INDEX tokens_by_owner ON tokens (tenant_id, integration_id);
-- has_token_of_kind: whether an operator key exists.
CREATE INDEX tokens_by_kind ON tokens (kind);

CREATE TABLE api_keys (
    tenant_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    doc jsonb NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Integration ids are globally unique (the operator key addresses them by id alone).
CREATE TABLE integrations (
    id text COLLATE "C" PRIMARY KEY,
    tenant_id text COLLATE "C" NOT NULL,
    doc jsonb NOT NULL
);
CREATE INDEX integrations_by_tenant ON integrations (tenant_id, id);
