//! Notification channels and rules as submitted (one input and one
//! validator each), and what turns the outbox's rows into deliveries:
//! a stored channel into a [`devicevault_notify::Channel`], an outbox event
//! into a [`devicevault_notify::Event`] with its masked diff.
//!
//! An e-mail channel names its recipients only; the server is the
//! installation's (`[smtp]`). A webhook's signing secret, and a Slack or
//! Teams URL (a credential itself), are sealed with the key of device
//! passwords and never shown back.

use std::sync::Arc;

use devicevault_core::{Name, Timestamp};
use devicevault_db::{
    ChannelFields, DbError, NotificationChannel, NotificationRule, OutboxEvent, RuleFields,
    StoredBackup,
};
use devicevault_notify::{
    ChangeDiff, Channel, Deliver, DeliveryError, DiffLimits, EmailChannel, Event, EventKind,
    MessageContext, RetryPolicy, Secret, SecretUrl,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::App;
use super::inventory::{Checked, FieldErrors, TargetNames};
use super::reading;
use super::rights;
use crate::background::BackgroundCpu;
use crate::settings::{NotifySettings, SmtpSettings};

/// The kinds of channel.
pub const CHANNEL_KINDS: [&str; 4] = ["email", "webhook", "slack", "teams"];

/// The events a rule may pick (what the pipeline produces today).
pub const RULE_EVENTS: [EventKind; 5] = [
    EventKind::ConfigChanged,
    EventKind::BackupFailed,
    EventKind::DeviceStale,
    EventKind::DeviceRecovered,
    EventKind::ComplianceChanged,
];

// ---- channels ------------------------------------------------------------------------

/// A channel as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// `email`, `webhook`, `slack` or `teams`.
    #[schema(pattern = "^(email|webhook|slack|teams)$")]
    pub kind: String,
    /// E-mail: the recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Webhook, Slack, Teams: where to POST. Slack and Teams URLs are
    /// credentials: stored sealed, shown with their host only. Left out
    /// on update: kept.
    #[serde(default)]
    pub url: Option<String>,
    /// Webhook: the HMAC-SHA256 signing secret (at least 16 characters).
    /// Stored sealed, never shown; left out on update: kept.
    #[serde(default)]
    pub secret: Option<String>,
}

/// The JSON kept in the clear for a channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
struct ChannelSettings {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    to: Vec<String>,
    /// The webhook's URL (Slack's and Teams' are sealed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

fn settings_of(c: &NotificationChannel) -> ChannelSettings {
    serde_json::from_str(&c.settings).unwrap_or_default()
}

impl ChannelInput {
    /// Checks the input against `base` (the stored channel when updating):
    /// the name, the kind, the recipients' addresses, the URL and the
    /// secret, as the delivery would use them. Seals the secret.
    pub fn validate(
        &self,
        app: &App,
        base: Option<&NotificationChannel>,
    ) -> Checked<ChannelFields> {
        let mut e = FieldErrors::default();
        let name = match Name::parse(&self.name) {
            Ok(n) => n.into_string(),
            Err(err) => {
                e.add("name", err.to_string());
                String::new()
            }
        };
        let kind = self.kind.trim().to_owned();
        if !CHANNEL_KINDS.contains(&kind.as_str()) {
            e.add("kind", "must be email, webhook, slack or teams");
            return Ok(Err(e));
        }
        // What is stored already, when the kind stays.
        let kept = base.filter(|b| b.kind == kind);
        let stored_secret = kept.and_then(|b| open_secret(app, b).ok());
        let stored_url = kept.and_then(|b| settings_of(b).url);
        let mut settings = ChannelSettings::default();
        let mut secret: Option<String> = None;
        let url = self.url.as_deref().map(str::trim).filter(|u| !u.is_empty());
        let candidate = match kind.as_str() {
            "email" => {
                if self.url.is_some() || self.secret.is_some() {
                    e.add(
                        "url",
                        "an e-mail channel has recipients (to), no url or secret",
                    );
                }
                settings.to = self.to.iter().map(|t| t.trim().to_owned()).collect();
                Channel::Email(email_channel(&SmtpSettings::default(), &settings.to))
            }
            "webhook" => {
                if !self.to.is_empty() {
                    e.add("to", "only an e-mail channel has recipients");
                }
                let Some(url) = url.map(str::to_owned).or(stored_url) else {
                    e.add("url", "is required");
                    return Ok(Err(e));
                };
                let s = match self.secret.as_deref().filter(|s| !s.is_empty()) {
                    Some(s) => s.to_owned(),
                    None => match stored_secret {
                        Some(s) => s,
                        None => {
                            e.add("secret", "is required (at least 16 characters)");
                            return Ok(Err(e));
                        }
                    },
                };
                settings.url = Some(url.clone());
                secret = Some(s.clone());
                Channel::Webhook {
                    url: SecretUrl::new(url),
                    secret: Secret::new(s),
                }
            }
            _ => {
                if !self.to.is_empty() {
                    e.add("to", "only an e-mail channel has recipients");
                }
                if self.secret.is_some() {
                    e.add("secret", "only a webhook channel has a secret");
                }
                let Some(url) = url.map(str::to_owned).or(stored_secret) else {
                    e.add("url", "is required");
                    return Ok(Err(e));
                };
                secret = Some(url.clone());
                if kind == "slack" {
                    Channel::Slack {
                        url: SecretUrl::new(url),
                    }
                } else {
                    Channel::Teams {
                        url: SecretUrl::new(url),
                    }
                }
            }
        };
        if let Err(err) = candidate.validate() {
            let field = match kind.as_str() {
                "email" => "to",
                "webhook" if err.to_string().contains("secret") => "secret",
                _ => "url",
            };
            // The message names the problem, never the secret.
            let msg = err.to_string();
            let msg = msg
                .strip_prefix("channel configuration: ")
                .unwrap_or(&msg)
                .trim_end_matches(" (permanent: fix the channel)")
                .to_owned();
            e.add(field, msg);
        }
        Ok(e.or(ChannelFields {
            name,
            kind,
            settings: serde_json::to_string(&settings).expect("settings serialize"),
            secret_sealed: secret.map(|s| app.key.seal(s.as_bytes())),
        }))
    }
}

fn open_secret(app: &App, c: &NotificationChannel) -> Result<String, DeliveryError> {
    let sealed = c.secret_sealed.as_deref().ok_or_else(|| {
        DeliveryError::Config(format!("channel {:?} has no stored secret", c.name))
    })?;
    let bytes = app.key.open(sealed).map_err(|_| {
        DeliveryError::Config(format!(
            "the secret of channel {:?} cannot be opened with this key file",
            c.name
        ))
    })?;
    String::from_utf8(bytes)
        .map_err(|_| DeliveryError::Config(format!("channel {:?}: secret is not text", c.name)))
}

fn email_channel(smtp: &SmtpSettings, to: &[String]) -> EmailChannel {
    EmailChannel {
        host: smtp.host.clone().unwrap_or_else(|| "localhost".into()),
        port: smtp.port,
        security: smtp.security,
        username: smtp.username.clone(),
        password: smtp.password.clone(),
        from: smtp.from.clone(),
        to: to.to_vec(),
    }
}

/// A channel as the API shows it: no secret, Slack and Teams URLs by host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChannelView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    /// E-mail: the recipients.
    pub to: Vec<String>,
    /// Webhook: the URL; Slack and Teams: scheme and host only.
    pub url: Option<String>,
    /// Webhook: whether a signing secret is stored (it is never shown).
    pub has_secret: bool,
    pub created_at: String,
}

impl ChannelView {
    pub fn of(app: &App, c: &NotificationChannel) -> Self {
        let s = settings_of(c);
        let url = match c.kind.as_str() {
            "webhook" => s.url,
            "slack" | "teams" => Some(
                open_secret(app, c)
                    .map(|u| SecretUrl::new(u).redacted())
                    .unwrap_or_else(|_| "<sealed>".into()),
            ),
            _ => None,
        };
        Self {
            id: c.id,
            name: c.name.clone(),
            kind: c.kind.clone(),
            to: s.to,
            url,
            has_secret: c.kind == "webhook" && c.secret_sealed.is_some(),
            created_at: c.created_at.clone(),
        }
    }
}

// ---- rules ---------------------------------------------------------------------------

fn yes() -> bool {
    true
}

/// A rule as submitted: which events, about which devices, to which
/// channel. Empty `device_groups` and `devices` mean every device.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// `config_changed`, `backup_failed`.
    #[schema(min_items = 1)]
    pub events: Vec<String>,
    /// The channel's id.
    pub channel: i64,
    #[serde(default)]
    pub device_groups: Vec<i64>,
    #[serde(default)]
    pub devices: Vec<i64>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// Refuses `user` a change of rule `id` (`None`: a new one) to `input`
/// (`None`: deleting it) that reaches beyond its scope. A rule naming no
/// device and no device group is about every device: beyond any
/// restricted operator's reach.
pub async fn require_rule_change(
    app: &App,
    user: &devicevault_db::User,
    scope: &devicevault_db::Scope,
    id: Option<i64>,
    input: Option<&RuleInput>,
) -> Result<Result<(), rights::Denied>, DbError> {
    let current = match id {
        Some(id) => Some(app.db.rule(id).await?),
        None => None,
    };
    let what = id.map_or_else(|| "the new rule".to_owned(), |id| format!("rule {id}"));
    rights::require_change(
        &app.db,
        user,
        scope,
        &what,
        true,
        current.as_ref().map(|r| rights::Targets {
            devices: &r.fields.devices,
            device_groups: &r.fields.device_groups,
        }),
        input.map(|i| rights::Targets {
            devices: &i.devices,
            device_groups: &i.device_groups,
        }),
    )
    .await
}

impl RuleInput {
    /// The input that would store `r` unchanged.
    pub fn of(r: &NotificationRule) -> Self {
        let f = &r.fields;
        Self {
            name: f.name.clone(),
            events: f.events.clone(),
            channel: f.channel_id,
            device_groups: f.device_groups.clone(),
            devices: f.devices.clone(),
            enabled: f.enabled,
        }
    }

    /// Checks the name, the events (known kinds, at least one) and that the
    /// channel, every device and every group exist.
    pub async fn validate(&self, app: &App) -> Checked<RuleFields> {
        let mut e = FieldErrors::default();
        let name = match Name::parse(&self.name) {
            Ok(n) => n.into_string(),
            Err(err) => {
                e.add("name", err.to_string());
                String::new()
            }
        };
        let mut events = Vec::new();
        for ev in &self.events {
            let ev = ev.trim();
            match RULE_EVENTS.iter().find(|k| k.as_str() == ev) {
                Some(k) => events.push(k.as_str().to_owned()),
                None => e.add(
                    "events",
                    format!(
                        "unknown event {ev:?}: use {}",
                        RULE_EVENTS
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            }
        }
        events.sort();
        events.dedup();
        if self.events.is_empty() {
            e.add("events", "pick at least one event");
        }
        match app.db.channel(self.channel).await {
            Ok(_) => {}
            Err(DbError::NotFound { .. }) => e.add(
                "channel",
                format!("channel {} does not exist", self.channel),
            ),
            Err(err) => return Err(err),
        }
        for id in &self.devices {
            match app.db.device(*id).await {
                Ok(_) => {}
                Err(DbError::NotFound { .. }) => {
                    e.add("devices", format!("device {id} does not exist"))
                }
                Err(err) => return Err(err),
            }
        }
        for id in &self.device_groups {
            match app.db.device_group(*id).await {
                Ok(_) => {}
                Err(DbError::NotFound { .. }) => {
                    e.add("device_groups", format!("device group {id} does not exist"))
                }
                Err(err) => return Err(err),
            }
        }
        Ok(e.or(RuleFields {
            name,
            channel_id: self.channel,
            events,
            device_groups: self.device_groups.clone(),
            devices: self.devices.clone(),
            enabled: self.enabled,
        }))
    }
}

/// A rule in the shape of a form: lists as text, the channel and the
/// targets by name. [`RuleForm::input`] resolves the names; what is valid
/// is still decided by [`RuleInput::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleForm {
    pub name: String,
    /// Comma- or space-separated event kinds.
    pub events: String,
    /// The channel's name.
    pub channel: String,
    /// Comma-separated device group names.
    pub device_groups: String,
    /// Comma-separated device names.
    pub devices: String,
    pub enabled: bool,
}

impl RuleForm {
    /// The form that shows `r`.
    pub async fn of(app: &App, r: &NotificationRule) -> Result<Self, DbError> {
        let f = &r.fields;
        let channel = app.db.channel(f.channel_id).await?.name;
        let targets = TargetNames::of(app, &f.device_groups, &f.devices).await?;
        Ok(Self {
            name: f.name.clone(),
            events: f.events.join(", "),
            channel,
            device_groups: targets.device_groups,
            devices: targets.devices,
            enabled: f.enabled,
        })
    }

    /// The input, with names resolved; an unknown name is an error on its
    /// field.
    pub async fn input(&self, app: &App) -> Checked<RuleInput> {
        let mut e = FieldErrors::default();
        let channel = match app.db.channel_by_name(self.channel.trim()).await {
            Ok(c) => c.id,
            Err(DbError::NotFound { .. }) => {
                e.add(
                    "channel",
                    format!("no channel is named {:?}", self.channel.trim()),
                );
                0
            }
            Err(err) => return Err(err),
        };
        let (device_groups, devices) = TargetNames {
            device_groups: self.device_groups.clone(),
            devices: self.devices.clone(),
        }
        .ids(app, &mut e)
        .await?;
        Ok(e.or(RuleInput {
            name: self.name.clone(),
            events: self
                .events
                .split([',', ' ', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            channel,
            device_groups,
            devices,
            enabled: self.enabled,
        }))
    }
}

// ---- delivery ------------------------------------------------------------------------

/// What sends notifications: the transports (handed in by the assembly:
/// this crate has no SMTP or HTTP client) with the installation's SMTP
/// server, retry policy and public URL. One per process.
#[derive(Debug)]
pub struct Sender {
    transport: Arc<dyn Deliver>,
    smtp: SmtpSettings,
    pub settings: NotifySettings,
    pub context: MessageContext,
    /// Where a change's masked diff is computed: at the lowest priority,
    /// so notifying never takes the cores from the pipeline.
    cpu: BackgroundCpu,
}

impl Sender {
    pub fn new(
        transport: Arc<dyn Deliver>,
        smtp: SmtpSettings,
        settings: NotifySettings,
        public_url: Option<&str>,
    ) -> Self {
        Self {
            transport,
            smtp,
            settings,
            context: MessageContext::new(public_url),
            cpu: BackgroundCpu::start("notify-diff", 1),
        }
    }

    /// The retry policy of deliveries.
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            first_delay: self.settings.retry_base,
            max_delay: self.settings.retry_max,
            max_attempts: self.settings.max_attempts,
        }
    }

    /// The delivery channel of a stored one: secrets opened, e-mail through
    /// the installation's SMTP server.
    pub fn channel(&self, app: &App, c: &NotificationChannel) -> Result<Channel, DeliveryError> {
        let s = settings_of(c);
        match c.kind.as_str() {
            "email" => {
                if self.smtp.host.is_none() {
                    return Err(DeliveryError::Config(
                        "no SMTP server is configured: set smtp.host (DEVICEVAULT_SMTP_HOST)"
                            .into(),
                    ));
                }
                Ok(Channel::Email(email_channel(&self.smtp, &s.to)))
            }
            "webhook" => Ok(Channel::Webhook {
                url: SecretUrl::new(s.url.unwrap_or_default()),
                secret: Secret::new(open_secret(app, c)?),
            }),
            "slack" => Ok(Channel::Slack {
                url: SecretUrl::new(open_secret(app, c)?),
            }),
            "teams" => Ok(Channel::Teams {
                url: SecretUrl::new(open_secret(app, c)?),
            }),
            other => Err(DeliveryError::Config(format!(
                "unknown channel kind {other:?}"
            ))),
        }
    }

    pub async fn deliver(&self, channel: &Channel, events: &[Event]) -> Result<(), DeliveryError> {
        self.transport.deliver(channel, events, &self.context).await
    }
}

/// Why an event could not be turned into a message.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("reading backup {id} for the diff: {reason}")]
    Read { id: i64, reason: String },
    #[error("unknown event kind {0:?}")]
    Kind(String),
    #[error("computing the diff: {0}")]
    Background(#[from] crate::background::BackgroundStopped),
}

impl devicevault_core::RetryClass for EventError {
    fn retry(&self) -> devicevault_core::Retry {
        match self {
            Self::Db(e) => e.retry(),
            // The storage worker may be back by the next attempt.
            Self::Read { .. } => devicevault_core::Retry::Transient,
            Self::Kind(_) => devicevault_core::Retry::Permanent,
            // Only when the process is stopping: another may take it.
            Self::Background(_) => devicevault_core::Retry::Transient,
        }
    }
}

/// The message of an outbox event: for a change, the unified diff of the
/// two versions with the device driver's secret rules applied to both.
pub async fn event_for(app: &App, e: &OutboxEvent) -> Result<Event, EventError> {
    let kind = EventKind::ALL
        .into_iter()
        .find(|k| k.as_str() == e.kind)
        .ok_or_else(|| EventError::Kind(e.kind.clone()))?;
    let occurred_at = Timestamp::parse(&e.occurred_at).unwrap_or_else(|_| Timestamp::now());
    let mut ev = Event::new(e.id, kind, occurred_at, e.device_id, &e.device_name);
    ev.stored_backup_id = e.stored_backup_id;
    ev.previous_stored_backup_id = e.previous_stored_backup_id;
    ev.reason = e.reason.clone();
    if let Some(new) = e.stored_backup_id {
        let new = app.db.stored_backup(new).await?;
        // Who changed it, as the device said.
        ev.author = new.author.clone();
        if new.is_binary {
            // No text diff of bytes: what the new version is instead.
            ev.reason = Some(format!("{}; no text diff", reading::binary_summary(&new)));
        } else if let Some(old) = e.previous_stored_backup_id {
            ev.diff = diff(app, e, app.db.stored_backup(old).await?, new).await?;
        }
    }
    Ok(ev)
}

async fn text_of(app: &App, s: &StoredBackup) -> Result<Option<String>, EventError> {
    if s.is_binary {
        return Ok(None);
    }
    let bytes = reading::read_stored(app, s)
        .await
        .map_err(|err| EventError::Read {
            id: s.id,
            reason: err.to_string(),
        })?;
    Ok(String::from_utf8(bytes).ok())
}

/// The masked diff, or `None` when the versions cannot be masked (binary,
/// or the device's driver is not installed here): then no diff is sent
/// rather than one with secrets.
async fn diff(
    app: &App,
    e: &OutboxEvent,
    old: StoredBackup,
    new: StoredBackup,
) -> Result<Option<ChangeDiff>, EventError> {
    let device = app.db.device(e.device_id).await?;
    let Ok(driver) = app.drivers.get(&device.fields.driver) else {
        return Ok(None);
    };
    let (Some(a), Some(b)) = (text_of(app, &old).await?, text_of(app, &new).await?) else {
        return Ok(None);
    };
    let name = &e.device_name;
    let labels = (format!("{name} #{}", old.id), format!("{name} #{}", new.id));
    let diff = app
        .sender
        .cpu
        .run(move || {
            ChangeDiff::between(
                &a,
                &b,
                &labels.0,
                &labels.1,
                |t| reading::mask(&driver, t),
                &DiffLimits::default(),
            )
        })
        .await?;
    Ok(Some(diff))
}

/// What a "send test" did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TestOutcome {
    pub delivered: bool,
    /// Why not, when it was not delivered.
    pub error: Option<String>,
}

/// Sends a made-up `config_changed` about device `test-device` to channel
/// `id` now, and says what happened. Not recorded in the outbox.
pub async fn send_test(app: &App, id: i64) -> Result<TestOutcome, DbError> {
    let stored = app.db.channel(id).await?;
    // A fresh id each time, so a receiver that drops repeats shows each test.
    let test_id = -i64::try_from(Timestamp::now().unix_millis()).unwrap_or(1);
    let mut ev = Event::new(
        test_id,
        EventKind::ConfigChanged,
        Timestamp::now(),
        0,
        "test-device",
    );
    ev.reason = Some(format!("a test of channel {:?}", stored.name));
    ev.diff = Some(ChangeDiff::between(
        "hostname test-device\ninterface Gi0/1\n description old\n",
        "hostname test-device\ninterface Gi0/1\n description new\n",
        "test-device #1",
        "test-device #2",
        str::to_owned,
        &DiffLimits::default(),
    ));
    let result = match app.sender.channel(app, &stored) {
        Ok(channel) => app.sender.deliver(&channel, &[ev]).await,
        Err(e) => Err(e),
    };
    Ok(match result {
        Ok(()) => TestOutcome {
            delivered: true,
            error: None,
        },
        Err(e) => TestOutcome {
            delivered: false,
            error: Some(e.to_string()),
        },
    })
}
