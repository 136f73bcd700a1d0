//! Sign-in against an LDAP directory or Active Directory.
//!
//! One connection per sign-in or check, closed at its end: sign-ins are rare
//! and a pool would have to re-bind as the service account anyway after
//! every user bind. Each connection binds as the service account, finds the
//! user with the configured filter (the username escaped per RFC 4515),
//! reads the disabled state and the groups, and only then, for a sign-in,
//! binds as the user with the password: the last operation, so the groups
//! are read with the service account's rights, not the user's.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry, SearchOptions};
use serde::Deserialize;
use url::Url;

use crate::{IdentityError, Secret, tls};

/// How to reach and read the directory. Loaded from the configuration file
/// (`[ldap]` section); unknown keys are refused.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldaps://host[:port]` (TLS from the first byte) or `ldap://host[:port]`
    /// (with `starttls`, or plaintext if `allow_plaintext`).
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before anything is sent.
    #[serde(default)]
    pub starttls: bool,
    /// Allow `ldap://` without StartTLS: passwords cross the network in
    /// clear. Off unless set.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// PEM file of the CA(s) that sign the server's certificate; the only
    /// roots trusted when set, the system's roots when not.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The service account that searches users and groups.
    pub bind_dn: String,
    /// Its password (never empty: see [`IdentityError::EmptyPassword`]).
    pub bind_password: Secret,
    /// Where users are searched (subtree).
    pub user_base: String,
    /// The filter that finds one user; `{username}` is replaced by the
    /// typed username, escaped.
    #[serde(default = "default_user_filter")]
    pub user_filter: String,
    /// The attribute that holds the username DeviceVault records
    /// (`uid`; `sAMAccountName` in Active Directory).
    #[serde(default = "default_username_attribute")]
    pub username_attribute: String,
    /// The attribute shown as the user's name.
    #[serde(default = "default_display_name_attribute")]
    pub display_name_attribute: String,
    /// The attribute with the user's e-mail address.
    #[serde(default = "default_email_attribute")]
    pub email_attribute: String,
    /// Where groups are searched (subtree); no group search when unset.
    #[serde(default)]
    pub group_base: Option<String>,
    /// The filter that finds the user's groups under `group_base`; `{dn}`
    /// is the user's DN and `{username}` the username, both escaped.
    #[serde(default = "default_group_filter")]
    pub group_filter: String,
    /// The attribute that holds a group's name.
    #[serde(default = "default_group_name_attribute")]
    pub group_name_attribute: String,
    /// An attribute of the user entry that lists its groups' DNs
    /// (`memberOf` in Active Directory, or OpenLDAP's memberof overlay).
    #[serde(default)]
    pub member_of_attribute: Option<String>,
    /// How a disabled account is recognised.
    #[serde(default)]
    pub disabled: DisabledCheck,
    /// Limit on opening the connection (TCP and TLS), in seconds.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Limit on a whole sign-in or check, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// How often the server re-checks the accounts of signed-in directory
    /// users ([`LdapDirectory::check_account`]), in seconds.
    #[serde(default = "default_refresh_interval")]
    pub refresh_interval_secs: u64,
}

/// How the directory says an account is disabled.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DisabledCheck {
    /// The directory is trusted to refuse the bind of a disabled account;
    /// a periodic check then only notices removed accounts.
    None,
    /// Active Directory: bit 2 (ACCOUNTDISABLE) of `userAccountControl`.
    ActiveDirectory,
    /// An attribute of the user entry: disabled when present (`value`
    /// unset) or when one of its values equals `value` (ignoring case).
    /// The default is OpenLDAP's ppolicy administrative lock,
    /// `pwdAccountLockedTime: 000001010000Z`; temporary lockouts after
    /// failed attempts carry a real time, which the directory enforces
    /// itself and lifts on its own.
    Attribute {
        /// The attribute (an operational one is fine: it is asked for).
        attribute: String,
        /// The value that means disabled.
        #[serde(default)]
        value: Option<String>,
    },
    /// An LDAP filter the user entry matches when disabled, such as
    /// `(nsAccountLock=TRUE)` or `(employeeType=former)`.
    Filter {
        /// The filter, evaluated on the user entry alone.
        filter: String,
    },
}

impl Default for DisabledCheck {
    fn default() -> Self {
        DisabledCheck::Attribute {
            attribute: "pwdAccountLockedTime".into(),
            value: Some("000001010000Z".into()),
        }
    }
}

fn default_user_filter() -> String {
    "(&(objectClass=person)(uid={username}))".into()
}
fn default_username_attribute() -> String {
    "uid".into()
}
fn default_display_name_attribute() -> String {
    "cn".into()
}
fn default_email_attribute() -> String {
    "mail".into()
}
fn default_group_filter() -> String {
    "(&(objectClass=groupOfNames)(member={dn}))".into()
}
fn default_group_name_attribute() -> String {
    "cn".into()
}
fn default_connect_timeout() -> u64 {
    5
}
fn default_timeout() -> u64 {
    10
}
fn default_refresh_interval() -> u64 {
    300
}

/// A user the directory knows, as found at a sign-in or a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The username as the directory spells it (`username_attribute`), which
    /// may differ in case from what was typed.
    pub username: String,
    /// The display name, if the entry has one.
    pub display_name: Option<String>,
    /// The e-mail address, if the entry has one.
    pub email: Option<String>,
    /// The group names (`group_name_attribute`, or the first value of the
    /// group's DN), sorted, without duplicates.
    pub groups: Vec<String>,
    /// The same groups' DNs.
    pub group_dns: Vec<String>,
    /// The user entry's DN.
    pub dn: String,
}

impl DirectoryUser {
    /// Names and DNs of the groups: what [`crate::resolve_rights`] matches
    /// the mapping table against.
    pub fn group_keys(&self) -> Vec<&str> {
        self.groups
            .iter()
            .chain(&self.group_dns)
            .map(String::as_str)
            .collect()
    }
}

/// What a periodic check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountState {
    /// The account exists and is enabled; its groups as of now.
    Active(DirectoryUser),
    /// The account exists but is disabled: end its sessions and tokens.
    Disabled,
    /// No entry matches the username any more: end its sessions and tokens.
    Gone,
}

/// A directory, its configuration checked and its TLS roots loaded once.
pub struct LdapDirectory {
    cfg: LdapConfig,
    url: Url,
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The TLS configuration's Debug lists every root and cipher suite.
        f.debug_struct("LdapDirectory")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// Bounds on what a search may return: two users are enough to know a
/// filter is ambiguous.
const USER_LIMIT: i32 = 2;
const GROUP_LIMIT: i32 = 1000;
/// Longer usernames are refused before they reach the directory.
const MAX_USERNAME_CHARS: usize = 256;

impl LdapDirectory {
    /// Checks the configuration (URL, plaintext refusal, filters, service
    /// account) and loads the trusted roots, so that a mistake is reported
    /// when the configuration is loaded rather than at the first sign-in.
    pub fn new(cfg: LdapConfig) -> Result<LdapDirectory, IdentityError> {
        let config = |m: String| Err(IdentityError::Config(format!("ldap: {m}")));
        let url = match Url::parse(&cfg.url) {
            Ok(url) => url,
            Err(e) => return config(format!("url {:?}: {e}", cfg.url)),
        };
        if url.host_str().is_none_or(str::is_empty) {
            return config(format!("url {:?} has no host", cfg.url));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() {
            return config(format!(
                "url {:?}: give the base DN as user_base, not in the URL",
                cfg.url
            ));
        }
        match (url.scheme(), cfg.starttls) {
            ("ldaps", true) => {
                return config("starttls is for ldap:// URLs; ldaps:// is TLS already".into());
            }
            ("ldaps", false) | ("ldap", true) => {}
            ("ldap", false) if cfg.allow_plaintext => {}
            ("ldap", false) => {
                return Err(IdentityError::PlaintextRefused {
                    url: cfg.url.clone(),
                    fix: "an ldaps:// URL or starttls = true",
                });
            }
            (other, _) => return config(format!("url scheme {other}:// (ldaps:// or ldap://)")),
        }
        if cfg.bind_dn.trim().is_empty() {
            return config("bind_dn is empty".into());
        }
        if cfg.bind_password.is_empty() {
            return config("bind_password is empty (that would be an unauthenticated bind)".into());
        }
        if cfg.user_base.trim().is_empty() {
            return config("user_base is empty".into());
        }
        if !cfg.user_filter.contains("{username}") {
            return config("user_filter has no {username}".into());
        }
        check_filter("user_filter", &cfg.user_filter)?;
        if cfg.group_base.is_some() {
            if !cfg.group_filter.contains("{dn}") && !cfg.group_filter.contains("{username}") {
                return config("group_filter has neither {dn} nor {username}".into());
            }
            check_filter("group_filter", &cfg.group_filter)?;
        }
        for (key, value) in [
            ("username_attribute", &cfg.username_attribute),
            ("display_name_attribute", &cfg.display_name_attribute),
            ("email_attribute", &cfg.email_attribute),
            ("group_name_attribute", &cfg.group_name_attribute),
        ] {
            if value.trim().is_empty() {
                return config(format!("{key} is empty"));
            }
        }
        match &cfg.disabled {
            DisabledCheck::Attribute { attribute, .. } if attribute.trim().is_empty() => {
                return config("disabled.attribute is empty".into());
            }
            DisabledCheck::Filter { filter } => check_filter("disabled.filter", filter)?,
            _ => {}
        }
        if cfg.connect_timeout_secs == 0 || cfg.timeout_secs == 0 {
            return config("timeouts must be at least 1 s".into());
        }
        if cfg.refresh_interval_secs == 0 {
            return config("refresh_interval_secs must be at least 1".into());
        }
        let tls = tls::client_config(cfg.ca_file.as_deref())?;
        Ok(LdapDirectory { cfg, url, tls })
    }

    /// The configuration this directory was built from.
    pub fn config(&self) -> &LdapConfig {
        &self.cfg
    }

    /// How often signed-in users' accounts should be checked.
    pub fn refresh_interval(&self) -> Duration {
        Duration::from_secs(self.cfg.refresh_interval_secs)
    }

    /// Signs a user in: finds the entry, refuses a disabled one, reads its
    /// groups, then binds as the user with `password`.
    ///
    /// Unknown users and wrong passwords are one error,
    /// [`IdentityError::InvalidCredentials`]. A disabled account is
    /// [`IdentityError::AccountDisabled`] before the password is tried, so
    /// the directory's failed-attempt counter does not move; show the user
    /// the same message as for a wrong password if the difference should
    /// not be told.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<DirectoryUser, IdentityError> {
        if password.is_empty() {
            return Err(IdentityError::EmptyPassword);
        }
        if !acceptable_username(username) {
            return Err(IdentityError::InvalidCredentials);
        }
        self.with_connection(async |ldap| {
            let entry = match self.find_user(ldap, username).await? {
                Some(entry) => entry,
                None => return Err(IdentityError::InvalidCredentials),
            };
            if self.is_disabled(ldap, &entry).await? {
                return Err(IdentityError::AccountDisabled);
            }
            let user = self.user_with_groups(ldap, username, entry).await?;
            let bound = ldap
                .simple_bind(&user.dn, password)
                .await
                .map_err(|e| self.error("bind as the user", e))?;
            match bound.rc {
                0 => Ok(user),
                49 => Err(IdentityError::InvalidCredentials),
                code => Err(directory_error("bind as the user", code, &bound.text)),
            }
        })
        .await
    }

    /// Looks a signed-in user up again, with the service account only: the
    /// periodic refresh of rights, and the end of a disabled or removed
    /// account's sessions. A transient error (server unreachable) says
    /// nothing about the account; the caller decides how long to trust
    /// the last answer.
    pub async fn check_account(&self, username: &str) -> Result<AccountState, IdentityError> {
        if !acceptable_username(username) {
            return Ok(AccountState::Gone);
        }
        self.with_connection(async |ldap| {
            let Some(entry) = self.find_user(ldap, username).await? else {
                return Ok(AccountState::Gone);
            };
            if self.is_disabled(ldap, &entry).await? {
                return Ok(AccountState::Disabled);
            }
            Ok(AccountState::Active(
                self.user_with_groups(ldap, username, entry).await?,
            ))
        })
        .await
    }

    /// Connects, binds as the service account, runs `work`, unbinds; all
    /// within `timeout_secs`.
    async fn with_connection<T>(
        &self,
        work: impl AsyncFnOnce(&mut Ldap) -> Result<T, IdentityError>,
    ) -> Result<T, IdentityError> {
        let all = async {
            let settings = LdapConnSettings::new()
                .set_conn_timeout(Duration::from_secs(self.cfg.connect_timeout_secs))
                .set_starttls(self.cfg.starttls)
                .set_config(self.tls.clone());
            let (conn, mut ldap) = LdapConnAsync::from_url_with_settings(settings, &self.url)
                .await
                .map_err(|e| self.error("connect", e))?;
            ldap3::drive!(conn);
            let bound = ldap
                .simple_bind(&self.cfg.bind_dn, self.cfg.bind_password.expose())
                .await
                .map_err(|e| self.error("bind as the service account", e))?;
            let result = if bound.rc == 0 {
                work(&mut ldap).await
            } else {
                Err(directory_error(
                    "bind as the service account",
                    bound.rc,
                    &bound.text,
                ))
            };
            // The answer is known; a failing unbind changes nothing.
            let _ = ldap.unbind().await;
            result
        };
        tokio::time::timeout(Duration::from_secs(self.cfg.timeout_secs), all)
            .await
            .unwrap_or_else(|_| {
                Err(IdentityError::Timeout {
                    server: self.cfg.url.clone(),
                    seconds: self.cfg.timeout_secs,
                })
            })
    }

    /// The one entry the user filter finds, `None` for none.
    async fn find_user(
        &self,
        ldap: &mut Ldap,
        username: &str,
    ) -> Result<Option<SearchEntry>, IdentityError> {
        let filter = fill_filter(&self.cfg.user_filter, username, "");
        let mut attrs = vec![
            self.cfg.username_attribute.as_str(),
            self.cfg.display_name_attribute.as_str(),
            self.cfg.email_attribute.as_str(),
        ];
        attrs.extend(self.cfg.member_of_attribute.as_deref());
        match &self.cfg.disabled {
            DisabledCheck::ActiveDirectory => attrs.push("userAccountControl"),
            DisabledCheck::Attribute { attribute, .. } => attrs.push(attribute),
            DisabledCheck::None | DisabledCheck::Filter { .. } => {}
        }
        let mut found = self
            .search(
                ldap,
                "search users",
                &self.cfg.user_base,
                Scope::Subtree,
                &filter,
                &attrs,
                USER_LIMIT,
            )
            .await?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            _ => Err(IdentityError::AmbiguousUser {
                username: username.into(),
            }),
        }
    }

    async fn is_disabled(
        &self,
        ldap: &mut Ldap,
        entry: &SearchEntry,
    ) -> Result<bool, IdentityError> {
        Ok(match &self.cfg.disabled {
            DisabledCheck::None => false,
            DisabledCheck::ActiveDirectory => values(entry, "userAccountControl")
                .iter()
                .any(|v| v.trim().parse::<u32>().is_ok_and(|flags| flags & 2 != 0)),
            DisabledCheck::Attribute { attribute, value } => {
                let present = values(entry, attribute);
                match value {
                    None => !present.is_empty(),
                    Some(value) => present.iter().any(|v| v.eq_ignore_ascii_case(value)),
                }
            }
            DisabledCheck::Filter { filter } => !self
                .search(
                    ldap,
                    "check whether the account is disabled",
                    &entry.dn,
                    Scope::Base,
                    filter,
                    &["1.1"],
                    1,
                )
                .await?
                .is_empty(),
        })
    }

    /// The user of `entry` with its groups (from the group search and from
    /// `member_of_attribute`).
    async fn user_with_groups(
        &self,
        ldap: &mut Ldap,
        typed: &str,
        entry: SearchEntry,
    ) -> Result<DirectoryUser, IdentityError> {
        let username = first(&entry, &self.cfg.username_attribute)
            .unwrap_or(typed)
            .trim()
            .to_owned();
        // (lower-cased DN → (name, DN)), so both sources merge.
        let mut groups = std::collections::BTreeMap::new();
        if let Some(base) = &self.cfg.group_base {
            let filter = fill_filter(&self.cfg.group_filter, &username, &entry.dn);
            let found = self
                .search(
                    ldap,
                    "search groups",
                    base,
                    Scope::Subtree,
                    &filter,
                    &[self.cfg.group_name_attribute.as_str()],
                    GROUP_LIMIT,
                )
                .await?;
            for group in found {
                let name = first(&group, &self.cfg.group_name_attribute)
                    .map(str::to_owned)
                    .unwrap_or_else(|| first_rdn_value(&group.dn));
                groups.insert(group.dn.to_lowercase(), (name, group.dn));
            }
        }
        if let Some(attribute) = &self.cfg.member_of_attribute {
            for dn in values(&entry, attribute) {
                groups
                    .entry(dn.to_lowercase())
                    .or_insert_with(|| (first_rdn_value(dn), dn.clone()));
            }
        }
        let mut names: Vec<String> = groups.values().map(|(name, _)| name.clone()).collect();
        names.sort();
        names.dedup();
        Ok(DirectoryUser {
            username,
            display_name: first(&entry, &self.cfg.display_name_attribute).map(str::to_owned),
            email: first(&entry, &self.cfg.email_attribute).map(str::to_owned),
            groups: names,
            group_dns: groups.into_values().map(|(_, dn)| dn).collect(),
            dn: entry.dn,
        })
    }

    /// A search whose result codes are judged here: success and
    /// "size limit exceeded" (the entries up to the limit) are answers.
    #[allow(clippy::too_many_arguments)]
    async fn search(
        &self,
        ldap: &mut Ldap,
        operation: &'static str,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        limit: i32,
    ) -> Result<Vec<SearchEntry>, IdentityError> {
        let ldap3::SearchResult(entries, result) = ldap
            .with_search_options(SearchOptions::new().sizelimit(limit))
            .search(base, scope, filter, attrs)
            .await
            .map_err(|e| self.error(operation, e))?;
        match result.rc {
            0 => {}
            4 if operation == "search groups" => {
                tracing::warn!(limit, "the group search reached its size limit");
            }
            4 => {}
            code => return Err(directory_error(operation, code, &result.text)),
        }
        Ok(entries
            .into_iter()
            .filter(|e| !e.is_ref())
            .map(SearchEntry::construct)
            .collect())
    }

    /// Maps a client-side failure of `operation`.
    fn error(&self, operation: &'static str, e: LdapError) -> IdentityError {
        let server = self.cfg.url.clone();
        match e {
            LdapError::Timeout { .. } => IdentityError::Timeout {
                server,
                seconds: self.cfg.connect_timeout_secs,
            },
            LdapError::LdapResult { result } => directory_error(operation, result.rc, &result.text),
            LdapError::Rustls { source } => IdentityError::Tls {
                server,
                reason: source.to_string(),
            },
            LdapError::Io { source } => {
                match source
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                {
                    Some(tls) => IdentityError::Tls {
                        server,
                        reason: tls.to_string(),
                    },
                    None => IdentityError::Unreachable {
                        server,
                        reason: format!("{operation}: {source}"),
                    },
                }
            }
            LdapError::FilterParsing => {
                IdentityError::Config(format!("ldap: {operation}: the filter does not parse"))
            }
            other => IdentityError::Unreachable {
                server,
                reason: format!("{operation}: {other}"),
            },
        }
    }
}

fn directory_error(operation: &'static str, code: u32, text: &str) -> IdentityError {
    let text = text.trim();
    IdentityError::Directory {
        operation,
        code,
        message: if text.is_empty() {
            result_code_name(code).into()
        } else {
            text.into()
        },
    }
}

fn result_code_name(code: u32) -> &'static str {
    match code {
        1 => "operations error",
        2 => "protocol error",
        3 => "time limit exceeded",
        8 => "stronger authentication required",
        11 => "administrative limit exceeded",
        13 => "confidentiality required",
        32 => "no such object",
        34 => "invalid DN syntax",
        48 => "inappropriate authentication",
        49 => "invalid credentials",
        50 => "insufficient access rights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwilling to perform",
        _ => "error",
    }
}

/// Whether a username may be sent to the directory at all.
fn acceptable_username(username: &str) -> bool {
    !username.is_empty()
        && username.chars().count() <= MAX_USERNAME_CHARS
        && !username.chars().any(char::is_control)
}

/// Replaces `{username}` and `{dn}` in a filter template in one pass (so a
/// username containing `{dn}` stays literal), each value escaped.
pub(crate) fn fill_filter(template: &str, username: &str, dn: &str) -> String {
    let mut out = String::with_capacity(template.len() + username.len() + dn.len());
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{username}") {
            out.push_str(&escape_filter_value(username));
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{dn}") {
            out.push_str(&escape_filter_value(dn));
            rest = after;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Escapes a value for an LDAP filter (RFC 4515 §3): `*`, `(`, `)`, `\` and
/// NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`; other control characters
/// are escaped too, which the RFC allows and keeps logs readable.
pub fn escape_filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' | '(' | ')' | '\\' | '\0' => out.push_str(&format!("\\{:02x}", c as u32)),
            c if c.is_ascii_control() => out.push_str(&format!("\\{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A filter template must parse once its placeholders are filled.
fn check_filter(key: &str, template: &str) -> Result<(), IdentityError> {
    let sample = fill_filter(template, "someone", "uid=someone,dc=example,dc=org");
    ldap3::parse_filter(&sample)
        .map(|_| ())
        .map_err(|()| IdentityError::Config(format!("ldap: {key} {template:?} does not parse")))
}

/// The values of an attribute, its name compared without regard to case
/// (servers answer with their own spelling).
fn values<'e>(entry: &'e SearchEntry, attribute: &str) -> &'e [String] {
    entry
        .attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
        .map(|(_, values)| values.as_slice())
        .unwrap_or(&[])
}

fn first<'e>(entry: &'e SearchEntry, attribute: &str) -> Option<&'e str> {
    values(entry, attribute)
        .iter()
        .map(|v| v.trim())
        .find(|v| !v.is_empty())
}

/// `netops` from `cn=netops,ou=groups,…` (the value of the first RDN, with
/// escaped commas kept).
fn first_rdn_value(dn: &str) -> String {
    let mut end = dn.len();
    let mut escaped = false;
    for (i, c) in dn.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' | '+' => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let rdn = &dn[..end];
    rdn.split_once('=')
        .map(|(_, value)| value)
        .unwrap_or(rdn)
        .trim()
        .replace('\\', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LdapConfig {
        toml::from_str(
            r#"
            url = "ldaps://ldap.example.org"
            bind_dn = "cn=devicevault,ou=services,dc=example,dc=org"
            bind_password = "service-secret"
            user_base = "ou=people,dc=example,dc=org"
            group_base = "ou=groups,dc=example,dc=org"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn filter_metacharacters_in_a_username_are_escaped() {
        assert_eq!(escape_filter_value("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
        assert_eq!(escape_filter_value("a\\b\0c"), "a\\5cb\\00c");
        assert_eq!(escape_filter_value("zoë"), "zoë");
        let filter = fill_filter("(&(objectClass=person)(uid={username}))", "*)(uid=*", "");
        assert_eq!(filter, "(&(objectClass=person)(uid=\\2a\\29\\28uid=\\2a))");
        assert!(ldap3::parse_filter(&filter).is_ok());
    }

    #[test]
    fn placeholders_are_filled_once_so_a_username_cannot_inject_another() {
        let filter = fill_filter(
            "(|(member={dn})(memberUid={username}))",
            "{dn}",
            "uid=x,dc=y",
        );
        assert_eq!(filter, "(|(member=uid=x,dc=y)(memberUid={dn}))");
        assert_eq!(fill_filter("(cn={other})", "u", "d"), "(cn={other})");
    }

    #[test]
    fn the_first_rdn_value_names_a_group() {
        assert_eq!(
            first_rdn_value("cn=netops,ou=groups,dc=example,dc=org"),
            "netops"
        );
        assert_eq!(first_rdn_value("CN=Ops\\, Paris,OU=Groups"), "Ops, Paris");
        assert_eq!(first_rdn_value("netops"), "netops");
    }

    #[test]
    fn a_plaintext_url_is_refused_unless_allowed() {
        let mut cfg = config();
        cfg.url = "ldap://ldap.example.org".into();
        let err = LdapDirectory::new(cfg.clone()).unwrap_err();
        assert!(
            matches!(err, IdentityError::PlaintextRefused { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("starttls"), "{err}");
        cfg.starttls = true;
        LdapDirectory::new(cfg.clone()).unwrap();
        cfg.starttls = false;
        cfg.allow_plaintext = true;
        LdapDirectory::new(cfg).unwrap();
    }

    #[test]
    fn a_configuration_that_cannot_work_is_refused_at_load() {
        let refused = |edit: &dyn Fn(&mut LdapConfig)| {
            let mut cfg = config();
            edit(&mut cfg);
            LdapDirectory::new(cfg).unwrap_err()
        };
        refused(&|c| c.starttls = true);
        refused(&|c| c.url = "ldapi:///run/slapd.sock".into());
        refused(&|c| c.url = "ldaps://host/dc=example,dc=org".into());
        refused(&|c| c.bind_password = Secret::new(""));
        refused(&|c| c.user_filter = "(uid=alice)".into());
        refused(&|c| c.user_filter = "(uid={username}".into());
        refused(&|c| c.group_filter = "(objectClass=groupOfNames)".into());
        refused(&|c| c.timeout_secs = 0);
        refused(&|c| c.ca_file = Some("/nonexistent/ca.pem".into()));
        refused(&|c| {
            c.disabled = DisabledCheck::Filter {
                filter: "(nsAccountLock=TRUE".into(),
            }
        });
    }

    #[test]
    fn the_configuration_refuses_unknown_keys_and_hides_the_password() {
        let cfg = config();
        assert_eq!(cfg.disabled, DisabledCheck::default());
        assert!(!format!("{cfg:?}").contains("service-secret"));
        let typo = toml::from_str::<LdapConfig>(
            "url = \"ldaps://h\"\nbind_dn = \"x\"\nbind_password = \"y\"\nuser_base = \"z\"\nstart_tls = true\n",
        );
        assert!(typo.is_err());
        let ad: LdapConfig = toml::from_str(
            "url = \"ldaps://h\"\nbind_dn = \"x\"\nbind_password = \"y\"\nuser_base = \"z\"\n\
             disabled = { kind = \"active_directory\" }\n",
        )
        .unwrap();
        assert_eq!(ad.disabled, DisabledCheck::ActiveDirectory);
    }

    #[tokio::test]
    async fn an_empty_password_is_refused_before_any_connection() {
        // The URL points nowhere: reaching it would be a different error.
        let mut cfg = config();
        cfg.url = "ldaps://127.0.0.1:1".into();
        let directory = LdapDirectory::new(cfg).unwrap();
        let err = directory.authenticate("alice", "").await.unwrap_err();
        assert!(matches!(err, IdentityError::EmptyPassword), "{err}");
    }
}
