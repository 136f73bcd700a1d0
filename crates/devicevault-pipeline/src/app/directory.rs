//! Sign-in through a directory (LDAP) or an OpenID provider, and the
//! periodic check of directory accounts (issue 20), written once for the
//! API, the web UI and both deployments.
//!
//! - **Who signs in where.** A local account with the typed name signs in
//!   with its local password, always (the break-glass administrator); any
//!   other name goes to the directory when `[ldap]` is configured
//!   ([`super::login::LoginGuard::sign_in`], so the rate limits and the
//!   audit rows of every sign-in apply). OpenID users come through the web
//!   UI's redirect flow and [`oidc_sign_in`].
//! - **Rights are the directory's.** Every sign-in and every check applies
//!   the `[[group_mapping]]` table ([`devicevault_identity::resolve_rights`])
//!   and writes role, device groups, `view_secrets` and the check time in
//!   one transaction ([`Db::provision_directory_user`]). A user in no mapped
//!   group is refused with the answer of a wrong password, and an existing
//!   account of it is disabled: its tokens and sessions end.
//! - **Accounts are checked again.** [`keep_checking`] runs in every process
//!   that serves the API and asks the directory about each LDAP account
//!   every `refresh_interval_secs`: a disabled or removed account is
//!   disabled here and loses every token and session (an audit row says
//!   so); a transient directory error changes nothing.
//! - **OpenID accounts have no directory to ask.** Their tokens live their
//!   normal life (expiry, revocation) and end when a later sign-in finds
//!   the user in no mapped group; a provider that removes a user cannot
//!   tell us, so an administrator deletes such an account (or its tokens).

use std::sync::Arc;
use std::time::Duration;

use devicevault_core::{Retry, RetryClass, Timestamp};
use devicevault_db::{Db, DbError, DirectoryGrant, NewAudit, SOURCE_LDAP, User, oidc_source};
use devicevault_identity::{
    AccountState, DeviceScope, GroupMapping, IdentityError, LdapConfig, LdapDirectory, OidcConfig,
    OidcProvider, OidcUser, Rights, resolve_rights, validate_mappings,
};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

/// `[ldap]`, `[[oidc]]` and `[[group_mapping]]` of the configuration, as
/// the configuration loader read them.
#[derive(Debug, Clone, Default)]
pub struct IdentitySettings {
    pub ldap: Option<LdapConfig>,
    pub oidc: Vec<OidcConfig>,
    pub group_mappings: Vec<GroupMapping>,
}

impl IdentitySettings {
    /// Whether any sign-in besides local accounts is configured.
    pub fn is_configured(&self) -> bool {
        self.ldap.is_some() || !self.oidc.is_empty()
    }
}

/// Why a directory or single sign-on operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The directory or the provider said no, could not be reached, or the
    /// configuration cannot work (the identity crate's error says which).
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The user is in none of the mapped groups: no rights at all.
    #[error("{username} is in none of the groups of the group mapping table")]
    NoMappedGroup { username: String },
    /// No OpenID provider of that name is configured.
    #[error("no OpenID provider is named {0:?}")]
    UnknownProvider(String),
    /// Two providers share a name, or similar configuration mistakes.
    #[error("identity configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl RetryClass for DirectoryError {
    fn retry(&self) -> Retry {
        match self {
            Self::Identity(e) => e.retry(),
            Self::Db(e) => e.retry(),
            _ => Retry::Permanent,
        }
    }
}

/// One configured OpenID provider, discovered at start or, when it was
/// unreachable then, at its first use.
struct OidcSlot {
    config: OidcConfig,
    provider: OnceCell<Arc<OidcProvider>>,
}

/// The configured directory, providers and mapping table of a process.
pub struct Identity {
    ldap: Option<LdapDirectory>,
    oidc: Vec<OidcSlot>,
    mappings: Vec<GroupMapping>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("ldap", &self.ldap.as_ref().map(|l| &l.config().url))
            .field(
                "oidc",
                &self.oidc.iter().map(|o| &o.config.name).collect::<Vec<_>>(),
            )
            .field("mappings", &self.mappings.len())
            .finish()
    }
}

impl Identity {
    /// Checks the configuration (the identity crate's constructors refuse
    /// what cannot work) without reaching any server.
    pub fn new(settings: &IdentitySettings) -> Result<Identity, DirectoryError> {
        validate_mappings(&settings.group_mappings)?;
        let mut names = std::collections::BTreeSet::new();
        for o in &settings.oidc {
            if !names.insert(o.name.as_str()) {
                return Err(DirectoryError::Config(format!(
                    "two [[oidc]] providers are named {:?}",
                    o.name
                )));
            }
            if o.name.is_empty()
                || !o
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(DirectoryError::Config(format!(
                    "the [[oidc]] name {:?} must be letters, digits, - or _ (it is part of URLs)",
                    o.name
                )));
            }
        }
        if settings.is_configured() && settings.group_mappings.is_empty() {
            tracing::warn!(
                "[ldap] or [[oidc]] is configured without any [[group_mapping]]: nobody can sign in through them"
            );
        }
        Ok(Identity {
            ldap: settings.ldap.clone().map(LdapDirectory::new).transpose()?,
            oidc: settings
                .oidc
                .iter()
                .map(|c| OidcSlot {
                    config: c.clone(),
                    provider: OnceCell::new(),
                })
                .collect(),
            mappings: settings.group_mappings.clone(),
        })
    }

    /// No directory, no provider: local accounts only.
    pub fn none() -> Identity {
        Identity {
            ldap: None,
            oidc: Vec::new(),
            mappings: Vec::new(),
        }
    }

    /// Discovers every provider now: a configuration a provider refuses
    /// (wrong issuer, plaintext, untrusted certificate) stops the start; a
    /// provider that cannot be reached now is tried again at its first use.
    pub async fn discover_all(&self) -> Result<(), DirectoryError> {
        for slot in &self.oidc {
            match self.discover(slot).await {
                Ok(_) => tracing::info!(provider = %slot.config.name, "OpenID provider discovered"),
                Err(e) if e.is_transient() => tracing::warn!(
                    provider = %slot.config.name, error = %e,
                    "OpenID provider unreachable; discovery is tried again at its first sign-in"
                ),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn discover(&self, slot: &OidcSlot) -> Result<Arc<OidcProvider>, DirectoryError> {
        let provider = slot
            .provider
            .get_or_try_init(|| async {
                OidcProvider::discover(slot.config.clone())
                    .await
                    .map(Arc::new)
            })
            .await?;
        Ok(provider.clone())
    }

    /// The directory, when `[ldap]` is configured.
    pub fn ldap(&self) -> Option<&LdapDirectory> {
        self.ldap.as_ref()
    }

    /// The configured providers' settings, in configuration order.
    pub fn providers(&self) -> impl Iterator<Item = &OidcConfig> {
        self.oidc.iter().map(|s| &s.config)
    }

    /// The discovered provider `name`.
    pub async fn oidc(&self, name: &str) -> Result<Arc<OidcProvider>, DirectoryError> {
        let slot = self
            .oidc
            .iter()
            .find(|s| s.config.name == name)
            .ok_or_else(|| DirectoryError::UnknownProvider(name.to_owned()))?;
        self.discover(slot).await
    }

    /// The group mapping table.
    pub fn mappings(&self) -> &[GroupMapping] {
        &self.mappings
    }

    /// What the table grants to a user of `groups` (names or DNs).
    pub fn rights<S: AsRef<str>>(&self, groups: &[S]) -> Option<Rights> {
        resolve_rights(&self.mappings, groups)
    }
}

/// The password hash of an account that signs in elsewhere: not a PHC
/// string, so no password ever matches it.
fn unusable_hash(source: &str) -> String {
    format!("!{source}")
}

/// Applies the mapping table to `groups` and records the account of
/// `source`: created on its first sign-in, refreshed otherwise. In no
/// mapped group, an existing account is disabled (tokens and sessions
/// revoked) and the sign-in refused.
pub async fn apply_rights<S: AsRef<str>>(
    db: &Db,
    identity: &Identity,
    username: &str,
    source: &str,
    groups: &[S],
    via: &str,
) -> Result<User, DirectoryError> {
    let now = Timestamp::now();
    let member_of = groups;
    let Some(rights) = identity.rights(groups) else {
        if let Some(user) = db.user_by_name(username).await?
            && user.source == source
            && user.disabled_at.is_none()
        {
            disable(db, &user, "in no mapped group", via, now).await?;
        }
        return Err(DirectoryError::NoMappedGroup {
            username: username.to_owned(),
        });
    };
    let groups: Option<Vec<String>> = match &rights.devices {
        DeviceScope::All => None,
        DeviceScope::Groups(g) => Some(g.iter().cloned().collect()),
    };
    let member_of: Vec<String> = member_of.iter().map(|g| g.as_ref().to_owned()).collect();
    let grant = DirectoryGrant {
        role: rights.role,
        device_groups: groups.as_deref(),
        view_secrets: rights.view_secrets,
        granted_by: &rights.granted_by,
        groups: &member_of,
    };
    let done = db
        .provision_directory_user(username, source, &grant, &unusable_hash(source), now)
        .await?;
    for missing in &done.missing_groups {
        tracing::warn!(
            user = %username, source, device_group = %missing,
            "the group mapping names a device group that does not exist; skipped"
        );
    }
    if done.created {
        tracing::info!(user = %username, source, role = %rights.role, granted_by = ?rights.granted_by, "directory account created");
        super::audit::record(
            db,
            NewAudit {
                actor: username.to_owned(),
                via: via.to_owned(),
                address: None,
                action: "users.create".into(),
                object_type: Some("users".into()),
                object_id: Some(done.user.id.to_string()),
                fields: serde_json::json!({
                    "source": source,
                    "role": rights.role.as_str(),
                    "granted_by": rights.granted_by,
                })
                .to_string(),
                outcome: "ok".into(),
            },
        )
        .await;
    }
    Ok(done.user)
}

/// Disables a directory account and revokes its tokens and sessions, with
/// an audit row saying why.
async fn disable(
    db: &Db,
    user: &User,
    why: &str,
    via: &str,
    now: Timestamp,
) -> Result<(), DirectoryError> {
    let revoked = db.disable_directory_user(user.id, now).await?;
    tracing::warn!(user = %user.username, source = %user.source, revoked, reason = why, "directory account disabled; its tokens and sessions are revoked");
    super::audit::record(
        db,
        NewAudit {
            actor: "directory".into(),
            via: via.to_owned(),
            address: None,
            action: "users.disable".into(),
            object_type: Some("users".into()),
            object_id: Some(user.id.to_string()),
            fields: serde_json::json!({
                "username": user.username,
                "source": user.source,
                "reason": why,
                "revoked": revoked,
            })
            .to_string(),
            outcome: "ok".into(),
        },
    )
    .await;
    Ok(())
}

/// Signs `username` in at the directory and records its account (see
/// [`apply_rights`]). The caller (the login guard) decides that the
/// directory is the one to ask.
pub async fn ldap_sign_in(
    db: &Db,
    identity: &Identity,
    username: &str,
    password: &str,
) -> Result<User, DirectoryError> {
    let Some(ldap) = identity.ldap() else {
        return Err(DirectoryError::Config("[ldap] is not configured".into()));
    };
    let found = ldap.authenticate(username, password).await?;
    apply_rights(
        db,
        identity,
        &found.username,
        SOURCE_LDAP,
        &found.group_keys(),
        "ldap sign-in",
    )
    .await
}

/// Records the account of a user an OpenID provider vouched for (see
/// [`apply_rights`]).
pub async fn oidc_sign_in(
    db: &Db,
    identity: &Identity,
    user: &OidcUser,
) -> Result<User, DirectoryError> {
    apply_rights(
        db,
        identity,
        &user.username,
        &oidc_source(&user.provider),
        &user.groups,
        "oidc sign-in",
    )
    .await
}

/// What one pass of [`check_accounts`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Accounts the directory confirmed (rights refreshed).
    pub refreshed: usize,
    /// Accounts disabled: disabled or gone in the directory, or in no
    /// mapped group any more.
    pub disabled: usize,
    /// Whether the pass stopped at a directory error (nothing changed for
    /// the accounts it did not reach).
    pub interrupted: bool,
}

/// Asks the directory about every LDAP account not confirmed within its
/// `refresh_interval_secs`, refreshing or disabling each. A directory
/// error stops the pass and changes nothing (it is logged).
pub async fn check_accounts(db: &Db, identity: &Identity) -> Result<CheckReport, DbError> {
    let mut report = CheckReport::default();
    let Some(ldap) = identity.ldap() else {
        return Ok(report);
    };
    let now = Timestamp::now();
    // A little slack, so an account checked one tick late is not skipped
    // until the tick after.
    let due_before = Timestamp::from_datetime(
        now.as_datetime() - ldap.refresh_interval().mul_f64(0.9) + Duration::from_millis(1),
    );
    for user in db.directory_users_due(SOURCE_LDAP, due_before).await? {
        let state = match ldap.check_account(&user.username).await {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(user = %user.username, error = %e, transient = e.is_transient(),
                    "the directory check failed; accounts stay as they are until the next check");
                report.interrupted = true;
                break;
            }
        };
        let outcome = match state {
            AccountState::Active(found) => {
                match apply_rights(
                    db,
                    identity,
                    &user.username,
                    SOURCE_LDAP,
                    &found.group_keys(),
                    "ldap check",
                )
                .await
                {
                    Ok(_) => {
                        report.refreshed += 1;
                        Ok(())
                    }
                    Err(DirectoryError::NoMappedGroup { .. }) => {
                        report.disabled += 1;
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            AccountState::Disabled => {
                report.disabled += 1;
                disable(db, &user, "disabled in the directory", "ldap check", now).await
            }
            AccountState::Gone => {
                report.disabled += 1;
                disable(db, &user, "gone from the directory", "ldap check", now).await
            }
        };
        match outcome {
            Ok(()) => {}
            Err(DirectoryError::Db(e)) => return Err(e),
            Err(e) => {
                tracing::error!(user = %user.username, error = %e, "the directory check could not be applied")
            }
        }
    }
    Ok(report)
}

/// Runs [`check_accounts`] every `refresh_interval_secs` until `stop`: in
/// every process that serves the API (embedded `serve` and the `api`
/// role), so a disabled account's tokens stop working in both deployments.
pub async fn keep_checking(db: Db, identity: Arc<Identity>, stop: CancellationToken) {
    let Some(ldap) = identity.ldap() else {
        return;
    };
    let every = ldap.refresh_interval().max(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        match check_accounts(&db, &identity).await {
            Ok(r) if r.refreshed + r.disabled > 0 => {
                tracing::info!(
                    refreshed = r.refreshed,
                    disabled = r.disabled,
                    "directory accounts checked"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "the directory check could not read the accounts")
            }
        }
    }
}
