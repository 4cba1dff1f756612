-- SCIM resources of SCIM integrations, with their equality indexes and group membership.
--
-- The index columns hold gatehouse_scim's index keys (`index_key`), computed by the store in
-- Rust: userName and displayName lower-cased the Unicode way, externalId as given; NULL when the
-- attribute is absent or not a string.
--
-- A resource goes with its integration (ON DELETE CASCADE): a deleted integration's userNames
-- are free at once, and a write racing the deletion either commits first and goes with it, or
-- finds no integration and is refused; no name is ever held by a resource whose integration is
-- gone.
CREATE TABLE scim_resources (
    tenant_id text COLLATE "C" NOT NULL,
    integration_id text COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    kind text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    user_name_lower text COLLATE "C",
    external_id text COLLATE "C",
    display_name_lower text COLLATE "C",
    -- displayName as written: what a member's groups show, read without the (large) doc.
    display_name text COLLATE "C",
    -- meta.version; NULL when the resource has none (then no expected version matches).
    version text COLLATE "C",
    doc jsonb NOT NULL,
    PRIMARY KEY (tenant_id, integration_id, kind, id)
);
-- userName is unique per tenant, across its SCIM integrations, case-insensitively.
CREATE UNIQUE INDEX scim_user_names ON scim_resources (tenant_id, user_name_lower)
    WHERE kind = 'User';
CREATE INDEX scim_external_ids ON scim_resources (tenant_id, integration_id, kind, external_id);
CREATE INDEX scim_display_names
    ON scim_resources (tenant_id, integration_id, kind, display_name_lower);

-- A Group's direct members (`members[].value`: Users or Groups of the same integration).
CREATE TABLE scim_members (
    tenant_id text COLLATE "C" NOT NULL,
    integration_id text COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    group_id text COLLATE "C" NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, integration_id, group_id, member_id)
);
-- The other way: the groups of a member, in group id order.
CREATE INDEX scim_members_by_member ON scim_members (tenant_id, integration_id, member_id, group_id);
