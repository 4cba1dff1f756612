-- Leases: which replica runs a piece of work that must run in one place at a time.
CREATE TABLE leases (
    name text COLLATE "C" PRIMARY KEY,
    holder text COLLATE "C" NOT NULL,
    expires_at timestamptz NOT NULL
);
