-- Inventory accounts, groups, identities and risk history.
CREATE TABLE users (
    id text COLLATE "C" PRIMARY KEY,
    tenant_id text COLLATE "C" NOT NULL,
    integration_id text COLLATE "C" NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    doc jsonb NOT NULL
);
CREATE INDEX users_by_tenant ON users (tenant_id, id);
CREATE INDEX users_by_external ON users (tenant_id, integration_id, external_id);

-- Every e-mail of an account, lower-cased.
CREATE TABLE user_emails (
    tenant_id text COLLATE "C" NOT NULL,
    email text COLLATE "C" NOT NULL,
    user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, email, user_id)
);
CREATE INDEX user_emails_by_user ON user_emails (user_id);

CREATE TABLE groups (
    tenant_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    doc jsonb NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE identities (
    id text COLLATE "C" PRIMARY KEY,
    tenant_id text COLLATE "C" NOT NULL,
    doc jsonb NOT NULL
);
CREATE INDEX identities_by_tenant ON identities (tenant_id, id);

-- One identity per e-mail in a tenant.
CREATE TABLE identity_emails (
    tenant_id text COLLATE "C" NOT NULL,
    email text COLLATE "C" NOT NULL,
    identity_id text COLLATE "C" NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, email)
);
CREATE INDEX identity_emails_by_identity ON identity_emails (identity_id);

CREATE TABLE identity_risk_history (
    tenant_id text COLLATE "C" NOT NULL,
    identity_id text COLLATE "C" NOT NULL,
    doc jsonb NOT NULL,
    PRIMARY KEY (tenant_id, identity_id)
);
