//! The identity peers (issue 20), shared by devicevault-identity's own
//! tests and the server's sign-in tests: a real OpenLDAP `slapd` with a
//! small directory ([`slapd`]), a real OpenID provider — npm's
//! `oidc-provider` under Node — with a scripted user agent ([`oidc_peer`]),
//! and the test CA and certificates both serve TLS with ([`certs`]).

pub mod certs;
pub mod oidc_peer;
pub mod slapd;

use devicevault_identity::GroupMapping;

/// The rows of a `[[group_mapping]]` table written in TOML, as the
/// configuration file holds them.
pub fn group_mappings(toml_rows: &str) -> Vec<GroupMapping> {
    let table: toml::Table = toml_rows.parse().expect("group mapping TOML");
    table
        .get("group_mapping")
        .cloned()
        .map(|rows| rows.try_into().expect("group mapping rows"))
        .unwrap_or_default()
}
