//! SCIM resources through the store traits, on every backend: ids and userName conflicts, version checks, the equality indexes, scans and group membership.

super::support::conformance!();
