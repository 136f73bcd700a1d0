//! `[ldap]`, `[[oidc]]` and `[[group_mapping]]`: the structured sections
//! of the configuration file (nested tables, arrays of tables), read with
//! the identity crate's own types — which refuse unknown keys — instead of
//! one [`super::Key`] per value. Their secrets may come from the
//! environment instead of the file: `DEVICEVAULT_LDAP_BIND_PASSWORD`, and
//! `DEVICEVAULT_OIDC_<NAME>_CLIENT_SECRET` for the provider `<name>`
//! (upper case, `-` as `_`).

use std::path::Path;

use devicevault_identity::{GroupMapping, LdapConfig, OidcConfig};
use devicevault_pipeline::app::directory::{Identity, IdentitySettings};

use super::{Config, ConfigError, Source};

/// The sections this module reads.
pub(super) const SECTIONS: [&str; 3] = ["ldap", "oidc", "group_mapping"];

/// The variable of the LDAP service account's password.
pub(super) const LDAP_BIND_PASSWORD: &str = "DEVICEVAULT_LDAP_BIND_PASSWORD";

/// The variable of provider `name`'s client secret.
pub(super) fn oidc_secret_variable(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("DEVICEVAULT_OIDC_{name}_CLIENT_SECRET")
}

/// Whether `var` is one of the secret variables above (not a typo of a
/// setting's variable).
pub(super) fn is_secret_variable(var: &str) -> bool {
    var == LDAP_BIND_PASSWORD
        || (var.starts_with("DEVICEVAULT_OIDC_") && var.ends_with("_CLIENT_SECRET"))
}

/// Keys whose values `config show` hides.
const SECRET_KEYS: [&str; 2] = ["bind_password", "client_secret"];

/// Reads `sections` (from the file at `path`) into `config`, with the
/// secrets the environment gives, and checks them as the server will at
/// start (without reaching the directory or the providers).
pub(super) fn load(
    config: &mut Config,
    mut sections: toml::Table,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if sections.is_empty() {
        return Ok(());
    }
    let origin = Source::File(path.to_owned());
    let invalid = |key: &str, reason: String| ConfigError::Invalid {
        key: key.to_owned(),
        value: String::new(),
        origin: origin.clone(),
        reason,
    };
    let mut from_env: Vec<(String, &'static str)> = Vec::new();
    let secret = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    if let Some(toml::Value::Table(ldap)) = sections.get_mut("ldap")
        && let Some(password) = secret(env(LDAP_BIND_PASSWORD))
    {
        ldap.insert("bind_password".into(), toml::Value::String(password));
        from_env.push(("ldap.bind_password".into(), LDAP_BIND_PASSWORD));
    }
    if let Some(toml::Value::Array(providers)) = sections.get_mut("oidc") {
        for p in providers.iter_mut() {
            if let toml::Value::Table(p) = p
                && let Some(name) = p.get("name").and_then(toml::Value::as_str)
            {
                let var = oidc_secret_variable(name);
                if let Some(secret) = secret(env(&var)) {
                    from_env.push((format!("oidc {name}: client_secret"), "environment"));
                    p.insert("client_secret".into(), toml::Value::String(secret));
                }
            }
        }
    }
    let ldap: Option<LdapConfig> = sections
        .get("ldap")
        .map(|v| v.clone().try_into())
        .transpose()
        .map_err(|e: toml::de::Error| invalid("ldap", e.message().to_owned()))?;
    let oidc: Vec<OidcConfig> = match sections.get("oidc") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|v| v.clone().try_into())
            .collect::<Result<_, toml::de::Error>>()
            .map_err(|e| invalid("oidc", e.message().to_owned()))?,
        Some(_) => return Err(invalid("oidc", "write each provider as [[oidc]]".into())),
    };
    let group_mappings: Vec<GroupMapping> = match sections.get("group_mapping") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|v| v.clone().try_into())
            .collect::<Result<_, toml::de::Error>>()
            .map_err(|e| invalid("group_mapping", e.message().to_owned()))?,
        Some(_) => {
            return Err(invalid(
                "group_mapping",
                "write each row as [[group_mapping]]".into(),
            ));
        }
    };
    let settings = IdentitySettings {
        ldap,
        oidc,
        group_mappings,
    };
    // The constructors refuse what cannot work (plaintext, a filter without
    // {username}, an empty service password, an unreadable CA file, two
    // providers of one name).
    Identity::new(&settings).map_err(|e| invalid("ldap/oidc/group_mapping", e.to_string()))?;
    config.settings.identity = settings;
    config.identity_shown = Some(shown(sections, path, &from_env));
    Ok(())
}

/// The sections as a file, secrets hidden, with where they came from.
fn shown(mut sections: toml::Table, path: &Path, from_env: &[(String, &str)]) -> String {
    fn hide(v: &mut toml::Value) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t.iter_mut() {
                    if SECRET_KEYS.contains(&k.as_str()) {
                        *v = toml::Value::String("********".into());
                    } else {
                        hide(v);
                    }
                }
            }
            toml::Value::Array(items) => items.iter_mut().for_each(hide),
            _ => {}
        }
    }
    for (_, v) in sections.iter_mut() {
        hide(v);
    }
    let mut out = format!(
        "# [ldap], [[oidc]] and [[group_mapping]] from {}\n",
        path.display()
    );
    for (what, var) in from_env {
        out.push_str(&format!("# {what} from {var}\n"));
    }
    out.push_str(&toml::to_string(&sections).unwrap_or_default());
    out
}

/// What `config default` prints for these sections: a commented example.
pub(super) const EXAMPLE: &str = r#"
# Sign-in through a directory or a single sign-on provider (see the README,
# "Sign in with LDAP or OpenID Connect"). Local accounts always sign in with
# their own password. Secrets may come from the environment instead:
# DEVICEVAULT_LDAP_BIND_PASSWORD, DEVICEVAULT_OIDC_<NAME>_CLIENT_SECRET.
#
#[ldap]
#url = "ldaps://ldap.example.org"
#ca_file = "/etc/devicevault/ldap-ca.pem"
#bind_dn = "cn=devicevault,ou=services,dc=example,dc=org"
#bind_password = "…"
#user_base = "ou=people,dc=example,dc=org"
#user_filter = "(&(objectClass=person)(uid={username}))"
#group_base = "ou=groups,dc=example,dc=org"
#group_filter = "(&(objectClass=groupOfNames)(member={dn}))"
#refresh_interval_secs = 300
#
#[[oidc]]
#name = "corp-sso"
#issuer_url = "https://login.example.org/realms/network"
#client_id = "devicevault"
#client_secret = "…"
#redirect_url = "https://devicevault.example.org/login/oidc/corp-sso/callback"
#scopes = ["profile", "email", "groups"]
#groups_claim = "groups"
#
#[[group_mapping]]
#group = "netops"
#role = "operator"
#device_groups = ["core", "edge"]
#view_secrets = false
"#;

#[cfg(test)]
mod tests {
    use super::super::{load, show};

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    const SECTIONS: &str = r#"
[http]
addr = "127.0.0.1:8000"

[ldap]
url = "ldaps://ldap.example.org"
bind_dn = "cn=devicevault,ou=services,dc=example,dc=org"
bind_password = "ldap-file-secret"
user_base = "ou=people,dc=example,dc=org"
group_base = "ou=groups,dc=example,dc=org"
disabled = { kind = "attribute", attribute = "pwdAccountLockedTime" }

[[oidc]]
name = "corp-sso"
issuer_url = "https://login.example.org"
client_id = "devicevault"
client_secret = "oidc-file-secret"
redirect_url = "https://dv.example.org/login/oidc/corp-sso/callback"

[[group_mapping]]
group = "netops"
role = "operator"
device_groups = ["core"]

[[group_mapping]]
group = "admins"
role = "admin"
"#;

    #[test]
    fn the_identity_sections_are_read_and_their_secrets_never_shown() {
        let f = file(SECTIONS);
        let loaded = load(Some(f.path()), &|_| None, &[]).unwrap();
        let id = &loaded.config.settings.identity;
        let ldap = id.ldap.as_ref().unwrap();
        assert_eq!(ldap.url, "ldaps://ldap.example.org");
        assert_eq!(ldap.bind_password.expose(), "ldap-file-secret");
        assert_eq!(id.oidc[0].name, "corp-sso");
        assert_eq!(id.group_mappings.len(), 2);
        let shown = show(&loaded);
        assert!(
            shown.contains("[ldap]") && shown.contains("[[group_mapping]]"),
            "{shown}"
        );
        assert!(shown.contains("corp-sso"), "{shown}");
        assert!(!shown.contains("ldap-file-secret"), "{shown}");
        assert!(!shown.contains("oidc-file-secret"), "{shown}");
        assert!(!format!("{:?}", loaded.config).contains("ldap-file-secret"));
    }

    #[test]
    fn secrets_may_come_from_the_environment() {
        let f = file(SECTIONS);
        let env = |k: &str| match k {
            "DEVICEVAULT_LDAP_BIND_PASSWORD" => Some("from-env-ldap".to_owned()),
            "DEVICEVAULT_OIDC_CORP_SSO_CLIENT_SECRET" => Some("from-env-oidc".to_owned()),
            _ => None,
        };
        let loaded = load(Some(f.path()), &env, &[]).unwrap();
        let id = &loaded.config.settings.identity;
        assert_eq!(
            id.ldap.as_ref().unwrap().bind_password.expose(),
            "from-env-ldap"
        );
        assert_eq!(id.oidc[0].client_secret.expose(), "from-env-oidc");
        let shown = show(&loaded);
        assert!(!shown.contains("from-env"), "{shown}");
        assert!(shown.contains("DEVICEVAULT_LDAP_BIND_PASSWORD"), "{shown}");
    }

    #[test]
    fn bad_identity_sections_are_refused_at_load() {
        for (bad, says) in [
            (
                "[ldap]\nurl = \"ldap://ldap.example.org\"\nbind_dn = \"x\"\nbind_password = \"y\"\nuser_base = \"z\"\n",
                "plaintext",
            ),
            (
                "[ldap]\nurl = \"ldaps://h\"\nbind_dn = \"x\"\nbind_password = \"y\"\nuser_base = \"z\"\nuser_fliter = \"(uid={username})\"\n",
                "user_fliter",
            ),
            (
                "[[group_mapping]]\ngroup = \"g\"\nrole = \"root\"\n",
                "root",
            ),
            (
                "[group_mapping]\ngroup = \"g\"\nrole = \"admin\"\n",
                "[[group_mapping]]",
            ),
        ] {
            let f = file(bad);
            let err = load(Some(f.path()), &|_| None, &[])
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
