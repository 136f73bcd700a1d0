//! The identity peers the test suite starts, for a person to try sign-in
//! with (README, "Sign in with LDAP or OpenID Connect"): a slapd with the
//! test directory over LDAPS and npm's oidc-provider over HTTPS, both with
//! a test CA, and the configuration to paste into `devicevault.toml`.
//!
//!     scripts/identity-peers [DEVICEVAULT_URL]   (default http://127.0.0.1:8000)
//!
//! Runs until Enter is pressed (or its input ends).

use devicevault_testkit::identity::oidc_peer::{DEVICEVAULT as CLIENT, OidcPeer};
use devicevault_testkit::identity::slapd::{self, Slapd};

fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8000".into());
    let url = url.trim_end_matches('/').to_owned();
    let callback = format!("{url}/login/oidc/test-sso/callback");
    let slapd = Slapd::start();
    let peer = OidcPeer::start_for(
        &[CLIENT],
        std::slice::from_ref(&callback),
        &[format!("{url}/login")],
    );
    println!(
        r#"# Paste into devicevault.toml (the certificates live as long as this runs).
[http]
public_url = "{url}"

[ldap]
url = "{ldaps}"
ca_file = "{ldap_ca}"
bind_dn = "{bind_dn}"
bind_password = "{bind_password}"
user_base = "ou=people,{suffix}"
group_base = "ou=groups,{suffix}"
refresh_interval_secs = 30

[[oidc]]
name = "test-sso"
issuer_url = "{issuer}"
client_id = "{client_id}"
client_secret = "{client_secret}"
redirect_url = "{callback}"
scopes = ["profile", "email", "groups"]
ca_file = "{oidc_ca}"

[[group_mapping]]
group = "netops"
role = "operator"
device_groups = ["*"]
view_secrets = true

[[group_mapping]]
group = "readers"
role = "reader"
device_groups = ["*"]

# LDAP accounts: alice / alice-password (netops, readers), bob / bob-password
# (readers), carol / carol-password (no group: refused), mallory /
# mallory-password (locked: refused).
# OpenID accounts at {issuer}: alice / alice-password (netops, readers),
# bob / bob-password (no group: refused). The provider's certificate is
# signed by the test CA above: your browser warns about it once.
#
# Press Enter to stop the directory and the provider."#,
        ldaps = slapd.ldaps_url,
        ldap_ca = slapd.certs.ca.display(),
        bind_dn = slapd::SERVICE_DN,
        bind_password = slapd::SERVICE_PASSWORD,
        suffix = slapd::SUFFIX,
        issuer = peer.issuer,
        client_id = CLIENT.id,
        client_secret = CLIENT.secret,
        oidc_ca = peer.certs.ca.display(),
    );
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(peer);
    drop(slapd);
}
