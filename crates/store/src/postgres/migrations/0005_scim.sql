-- SCIM resources of SCIM integrations, with their equality indexes and group membership.
CREATE TABLE scim_resources (
    tenant_id text COLLATE "C" NOT NULL,
    integration_id text COLLATE "C" NOT NULL,
    kind text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    user_name_lower text COLLATE "C",
    external_id text COLLATE "C",
    display_name_lower text COLLATE "C",
    version text COLLATE "C" NOT NULL,
    doc jsonb NOT NULL,
    PRIMARY KEY (tenant_id, integration_id, kind, id)
);
-- userName is unique per tenant, across its SCIM integrations, case-insensitively.
CREATE UNIQUE INDEX scim_user_names ON scim_resources (tenant_id, user_name_lower)
    WHERE kind = 'User';
CREATE INDEX scim_external_ids ON scim_resources (tenant_id, integration_id, kind, external_id);
CREATE INDEX scim_display_names
    ON scim_resources (tenant_id, integration_id, kind, display_name_lower);

CREATE TABLE scim_members (
    tenant_id text COLLATE "C" NOT NULL,
    integration_id text COLLATE "C" NOT NULL,
    group_id text COLLATE "C" NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, integration_id, group_id, member_id)
);
CREATE INDEX scim_members_by_member ON scim_members (tenant_id, integration_id, member_id);
