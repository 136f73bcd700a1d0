//! The administered resources, one table: each kind declares its list
//! columns, its form fields, and how it loads, saves and deletes through
//! the application layer. The pages and handlers in [`super`] are written
//! once for all of them.

use std::future::Future;
use std::pin::Pin;

use devicevault_core::Role;
use devicevault_db::{DbError, DeviceFilter, NamedKind, Page, TokenInfo, TokenKind};
use devicevault_pipeline::app::compliance::{self as app_compliance, ComplianceRuleForm};
use devicevault_pipeline::app::inventory::{
    Change, CollectionGroupInput, CredentialInput, DeviceGroupInput, DeviceTypeInput, FieldErrors,
    LocationForm, NamedInput, TargetNames,
};
use devicevault_pipeline::app::notifications::{
    self as app_notifications, ChannelInput, ChannelView, RuleForm,
};
use devicevault_pipeline::app::rights::{self, Right};
use devicevault_pipeline::app::schedules::{self as app_schedules, ScheduleForm};
use devicevault_pipeline::app::users::{self as app_users, NewPassword, UserError, UserInput};
use maud::PreEscaped;

use super::super::html::{Ctx, Input};
use super::super::session::Form;
use super::super::{WebError, WebResult};
use crate::Shared;
use axum::http::StatusCode;

/// An operation's future.
pub(in crate::web) type Fut<'a, T> = Pin<Box<dyn Future<Output = WebResult<T>> + Send + 'a>>;

/// Loads a stored object as its edit form shows it: its name and values.
type Load = fn(&Shared, i64) -> Fut<'_, (String, Form)>;
/// Saves a submitted form (a new object when the id is `None`); returns
/// the object's id, or the field errors.
type Save =
    for<'a> fn(&'a Shared, &'a Ctx, Option<i64>, &'a Form) -> Fut<'a, Result<i64, FieldErrors>>;
type Delete = for<'a> fn(&'a Shared, &'a Ctx, i64) -> Fut<'a, ()>;

/// One administered resource.
pub(in crate::web) struct Kind {
    /// Its path under `/admin/`.
    pub slug: &'static str,
    /// Its tab and its list's title.
    pub title: &'static str,
    /// The list's heading.
    pub heading: &'static str,
    /// One of them, in sentences ("Delete location").
    pub one: &'static str,
    /// The add form's title and button (`None`: nothing to add here).
    pub add: Option<(&'static str, &'static str)>,
    /// The overview card's line (`None`: no card).
    pub card: Option<&'static str>,
    /// Who sees its list (`app::rights`).
    pub read: Right,
    /// Who may add, change and delete one.
    pub write: Right,
    /// A line above the list.
    pub intro: &'static str,
    /// The empty list's title and hint (trusted markup).
    pub empty: (&'static str, &'static str),
    pub columns: &'static [&'static str],
    pub fields: &'static [FieldSpec],
    /// Why deleting is safe, or what it does.
    pub delete_note: &'static str,
    /// A new object's page (users) rather than the list after adding one.
    pub created_opens_it: bool,
    pub count: fn(&Shared) -> Fut<'_, i64>,
    pub rows: for<'a> fn(&'a Shared, &'a Ctx, &'a Form) -> Fut<'a, Vec<Row>>,
    /// `None`: no generic edit page.
    pub load: Option<Load>,
    pub save: Save,
    pub delete: Option<Delete>,
}

/// A field of a kind's form.
#[derive(Debug)]
pub(in crate::web) struct FieldSpec {
    pub name: &'static str,
    pub label: &'static str,
    /// Trusted markup.
    pub hint: &'static str,
    /// The hint on the edit form, when it differs.
    pub edit_hint: Option<&'static str>,
    pub control: Spec,
    /// The value of a new object's form.
    pub default: &'static str,
    /// Shown on the edit form only when the stored object has this flag.
    pub only_if: Option<&'static str>,
}

#[derive(Debug)]
pub(in crate::web) enum Spec {
    Input(Input),
    Select(&'static [(&'static str, &'static str)]),
    TextArea,
    Checkbox,
}

const fn field(name: &'static str, label: &'static str, control: Spec) -> FieldSpec {
    FieldSpec {
        name,
        label,
        hint: "",
        edit_hint: None,
        control,
        default: "",
        only_if: None,
    }
}

impl FieldSpec {
    const fn hint(self, hint: &'static str) -> Self {
        Self { hint, ..self }
    }

    const fn edit_hint(self, hint: &'static str) -> Self {
        Self {
            edit_hint: Some(hint),
            ..self
        }
    }
}

/// The roles a user may have, for a select (`app::rights` says what each
/// allows).
pub(in crate::web) const ROLE_CHOICES: &[(&str, &str)] = &[
    ("reader", "Reader: reads and presses “Backup now”"),
    (
        "operator",
        "Operator: also changes devices, their schedules and notification rules",
    ),
    ("admin", "Administrator: everything"),
];

/// What the roles mean, in a form's hint.
const ROLE_HINT: &str =
    "An operator or a reader may be restricted to some device groups on the user's page.";

/// A kind with its names only: nothing listed, nothing to add, edit or
/// delete, readable by everyone.
const fn named(slug: &'static str, title: &'static str, one: &'static str) -> Kind {
    Kind {
        slug,
        title,
        heading: title,
        one,
        add: None,
        card: None,
        read: Right::Read,
        write: Right::Administer,
        intro: "",
        empty: ("", ""),
        columns: &[],
        fields: &[],
        delete_note: "",
        created_opens_it: false,
        count: no_count,
        rows: no_rows,
        load: None,
        save: nothing_to_add,
        delete: None,
    }
}

fn no_count(_: &Shared) -> Fut<'_, i64> {
    Box::pin(async { Ok(0) })
}

fn no_rows<'a>(_: &'a Shared, _: &'a Ctx, _: &'a Form) -> Fut<'a, Vec<Row>> {
    Box::pin(async { Ok(Vec::new()) })
}

fn nothing_to_add<'a>(
    _: &'a Shared,
    _: &'a Ctx,
    _: Option<i64>,
    _: &'a Form,
) -> Fut<'a, Result<i64, FieldErrors>> {
    Box::pin(async { Err(WebError::not_found("Nothing is added on this page.")) })
}

/// A row of a list: its cells, plain data the page renders.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::web) struct Row(pub Vec<Cell>);

#[derive(Debug, Clone, PartialEq)]
pub(in crate::web) enum Cell {
    Text(String),
    Mono(String),
    Muted(&'static str),
    /// A name, linked when `href` is given, with a small note after it.
    Name {
        href: Option<String>,
        text: String,
        note: Option<&'static str>,
    },
    Tag(&'static str),
    Time(Option<String>),
    Actions(Vec<Action>),
}

#[derive(Debug, Clone, PartialEq)]
pub(in crate::web) enum Action {
    /// A one-button POST form.
    Post {
        action: String,
        label: &'static str,
        confirm: Option<&'static str>,
    },
    Link {
        href: String,
        label: &'static str,
    },
}

const ALL: Page = Page {
    limit: 10_000,
    offset: 0,
};
const ONE: Page = Page {
    limit: 1,
    offset: 0,
};

const PATH_HINT: &str =
    "Absolute path on the server: the repository (created bare when missing) or the directory.";
const EXTRA_HINT: &str =
    "e.g. {\"fsync\": true, \"commit_message\": \"Backup {rel_path}\"}; unknown keys are refused.";
const LAYOUT_HINT: &str = "Git only: where each device's file goes. Fan-out keeps every commit small however many devices there are. An existing location keeps its layout: <code>devicevault storage migrate-layout</code> moves a flat one to fan-out.";
const QUEUE_HINT: &str = "Its collectors consume <code>collector.group.&lt;queue id&gt;</code>.";
const STALE_HINT: &str = "Its devices are stale (a device_stale notification, the dashboard) after this many hours without a successful backup. Empty: the installation's threshold (25 h by default).";
const MAX_CONFIG_HINT: &str = "A device sending more fails its backup for good. Empty: the driver's or the installation's limit (16 MiB by default).";

/// Every kind, in the order of the administration tabs.
pub(in crate::web) static KINDS: [Kind; 14] = [
    Kind {
        add: Some(("Add a backup location", "Add location")),
        card: Some("Git repositories and directories that receive backups"),
        empty: (
            "No backup location yet.",
            "Devices need one to be backed up: add a Git repository or a directory below.",
        ),
        columns: &["Name", "Type", "Path", "Branch", "Retention"],
        fields: &[
            field("name", "Name", Spec::Input(Input::REQUIRED)),
            FieldSpec {
                default: "git",
                ..field(
                    "location_type",
                    "Type",
                    Spec::Select(&[
                        ("git", "Git repository (one commit per change)"),
                        ("fs", "Directory (one file per backup)"),
                    ]),
                )
            },
            field(
                "path",
                "Path",
                Spec::Input(Input {
                    placeholder: Some("/var/lib/devicevault/backups.git"),
                    ..Input::REQUIRED
                }),
            )
            .hint(PATH_HINT),
            field(
                "branch",
                "Branch",
                Spec::Input(Input {
                    placeholder: Some("main"),
                    git_only: true,
                    ..Input::TEXT
                }),
            )
            .hint("Git only; default main."),
            FieldSpec {
                default: "fanout",
                ..field(
                    "layout",
                    "Layout",
                    Spec::Select(&[
                        ("fanout", "Fan-out: <shard>/<device id>/… (any fleet size)"),
                        ("flat", "Flat: <device id>/… (one root entry per device)"),
                    ]),
                )
            }
            .hint(LAYOUT_HINT),
            field("extra", "Other settings (JSON, optional)", Spec::TextArea).hint(EXTRA_HINT),
        ],
        delete_note: "A location cannot be deleted while devices or stored backups refer to it.",
        count: |s| Box::pin(async move { Ok(s.db.list_locations(ONE).await?.total) }),
        rows: location_rows,
        load: Some(|s, id| {
            Box::pin(async move {
                let l = s.db.location(id).await?;
                let f = LocationForm::of(&l);
                let v = [
                    ("name", f.name),
                    ("location_type", f.location_type),
                    ("path", f.path),
                ];
                Ok((
                    l.name,
                    values(v).and([
                        ("branch", f.branch),
                        ("layout", f.layout),
                        ("extra", f.extra),
                    ]),
                ))
            })
        }),
        save: save_location,
        delete: Some(|s, _, id| {
            Box::pin(async move { in_use(s.db.delete_location(id).await, "location") })
        }),
        ..named("locations", "Backup locations", "location")
    },
    Kind {
        add: Some(("Add a credential", "Add credential")),
        card: Some("Logins for devices; secrets are write-only"),
        empty: (
            "No credential yet.",
            "Devices need one to log in: add it below.",
        ),
        columns: &["Name", "Username", "Login", "Enable secret", "API key"],
        fields: &[
            field("name", "Name", Spec::Input(Input::REQUIRED)),
            field(
                "username",
                "Username",
                Spec::Input(Input {
                    autocomplete: Some("off"),
                    ..Input::REQUIRED
                }),
            )
            .hint("The login on the devices."),
            field("password", "Password", Spec::Input(Input::NEW_PASSWORD))
                .hint("Stored sealed; never shown again. Or give a private key below instead, or only an API key.")
                .edit_hint("Leave empty to keep the current one. Setting one replaces a private key."),
            field("private_key", "SSH private key", Spec::TextArea)
                .hint("Instead of a password: the key in OpenSSH or PEM form (-----BEGIN …). Stored sealed; only its fingerprint is shown.")
                .edit_hint("Leave empty to keep the current one. Setting one replaces a password."),
            field(
                "passphrase",
                "Key passphrase (optional)",
                Spec::Input(Input::NEW_PASSWORD),
            )
            .hint("When the private key is encrypted.")
            .edit_hint("Leave empty to keep the current one."),
            FieldSpec {
                only_if: Some("has_passphrase"),
                ..field("clear_passphrase", "Remove the key's passphrase", Spec::Checkbox)
            },
            field(
                "enable_secret",
                "Enable secret (optional)",
                Spec::Input(Input::NEW_PASSWORD),
            )
            .hint("For platforms with an enable step.")
            .edit_hint("Leave empty to keep the current one."),
            FieldSpec {
                only_if: Some("has_enable_secret"),
                ..field("clear_enable", "Remove the enable secret", Spec::Checkbox)
            },
            field(
                "api_key",
                "API key (optional)",
                Spec::Input(Input::NEW_PASSWORD),
            )
            .hint("What HTTPS API drivers send as {api_key}: a FortiOS REST API token, a PAN-OS API key. Stored sealed; never shown again. A credential for an API alone needs no password.")
            .edit_hint("Leave empty to keep the current one."),
            FieldSpec {
                only_if: Some("has_api_key"),
                ..field("clear_api_key", "Remove the API key", Spec::Checkbox)
            },
        ],
        delete_note: "A credential cannot be deleted while devices use it.",
        count: |s| Box::pin(async move { Ok(s.db.list_credentials(ONE).await?.total) }),
        rows: |s, ctx, _| {
            Box::pin(async move {
                let rows = s.db.list_credentials(ALL).await?.rows;
                Ok(rows
                    .into_iter()
                    .map(|c| {
                        let enable = match c.enable_secret_sealed {
                            Some(_) => Cell::Muted("set (hidden)"),
                            None => Cell::Text("—".into()),
                        };
                        let login = match &c.key_fingerprint {
                            Some(fp) => Cell::Mono(format!("key {fp}")),
                            None if c.has_password() => Cell::Muted("password (hidden)"),
                            None => Cell::Text("none (API key only)".into()),
                        };
                        let api_key = match c.api_key_sealed {
                            Some(_) => Cell::Muted("set (hidden)"),
                            None => Cell::Text("—".into()),
                        };
                        let name = name_cell(ctx, "credentials", c.id, c.name);
                        Row(vec![name, Cell::Text(c.username), login, enable, api_key])
                    })
                    .collect())
            })
        },
        load: Some(|s, id| {
            Box::pin(async move {
                let c = s.db.credential(id).await?;
                let has = if c.enable_secret_sealed.is_some() {
                    "yes"
                } else {
                    ""
                };
                let flag = |b: bool| if b { "yes" } else { "" }.to_owned();
                let v = [
                    ("name", c.name.clone()),
                    ("username", c.username),
                    ("has_enable_secret", has.into()),
                    ("has_passphrase", flag(c.passphrase_sealed.is_some())),
                    ("has_api_key", flag(c.api_key_sealed.is_some())),
                ];
                Ok((c.name, values(v)))
            })
        }),
        save: save_credential,
        delete: Some(|s, _, id| {
            Box::pin(async move { in_use(s.db.delete_credential(id).await, "credential") })
        }),
        ..named("credentials", "Credentials", "credential")
    },
    Kind {
        add: Some(("Add a collection group", "Add collection group")),
        card: Some("Which collectors reach which devices"),
        empty: (
            "No collection group yet.",
            "Devices without a group use the default collectors. A group sends its devices' collections to the collectors of its own queue.",
        ),
        columns: &["Name", "Queue", "Sessions at once", "Devices"],
        fields: &[
            field("name", "Name", Spec::Input(Input::REQUIRED)),
            field(
                "rabbitmq_queue_id",
                "Queue id",
                Spec::Input(Input::REQUIRED),
            )
            .hint(QUEUE_HINT),
            FieldSpec {
                default: "32",
                ..field("max_sessions", "Sessions at once", Spec::Input(NUMBER))
                    .hint("The most devices a collector backs up at the same time for this group (1–4096). With several collector processes on the queue, each applies it on its own.")
            },
        ],
        delete_note: "Its devices go back to the default collectors.",
        count: |s| Box::pin(async move { Ok(s.db.list_collection_groups().await?.len() as i64) }),
        rows: |s, ctx, _| {
            Box::pin(async move {
                let rows = s.db.list_collection_groups().await?;
                Ok(rows
                    .into_iter()
                    .map(|g| {
                        let queue = Cell::Mono(format!("collector.group.{}", g.rabbitmq_queue_id));
                        Row(vec![
                            name_cell(ctx, "collection-groups", g.id, g.name),
                            queue,
                            Cell::Text(g.max_sessions.to_string()),
                            Cell::Text("—".into()),
                        ])
                    })
                    .collect())
            })
        },
        load: Some(|s, id| {
            Box::pin(async move {
                let g = s.db.collection_group(id).await?;
                Ok((
                    g.name.clone(),
                    values([
                        ("name", g.name),
                        ("rabbitmq_queue_id", g.rabbitmq_queue_id),
                        ("max_sessions", g.max_sessions.to_string()),
                    ]),
                ))
            })
        }),
        save: |s, _, id, f| {
            Box::pin(async move {
                let mut e = FieldErrors::default();
                let max_sessions = form_int(&mut e, f, "max_sessions").unwrap_or(32);
                let input = CollectionGroupInput {
                    name: f.get("name").into(),
                    rabbitmq_queue_id: f.get("rabbitmq_queue_id").into(),
                    max_sessions,
                };
                let g = match (input.validate(), e.is_empty()) {
                    (Ok(g), true) => g,
                    (Ok(_), false) => return Ok(Err(e)),
                    (Err(more), _) => {
                        e.0.extend(more.0);
                        return Ok(Err(e));
                    }
                };
                let saved = match id {
                    None => {
                        s.db.create_collection_group_limited(&g.name, &g.queue, g.max_sessions)
                            .await
                            .map(|g| g.id)
                    }
                    Some(id) => {
                        s.db.update_collection_group(id, &g.name, &g.queue, g.max_sessions)
                            .await
                            .map(|g| g.id)
                    }
                };
                name_taken(saved)
            })
        },
        delete: Some(|s, _, id| {
            Box::pin(
                async move { in_use(s.db.delete_collection_group(id).await, "collection group") },
            )
        }),
        ..named("collection-groups", "Collection groups", "collection group")
    },
    Kind {
        add: Some(("Add a device group", "Add device group")),
        card: Some("Groups for filtering and schedules"),
        empty: (
            "No device group yet.",
            "Groups organise devices for filters and schedules.",
        ),
        columns: &["Name", "Stale after", "Devices"],
        fields: &[
            field("name", "Name", Spec::Input(Input::REQUIRED)),
            field(
                "stale_after_hours",
                "Stale after (hours)",
                Spec::Input(Input {
                    inputmode: Some("numeric"),
                    ..Input::TEXT
                }),
            )
            .hint(STALE_HINT),
        ],
        delete_note: "Its devices stay, without a group; schedules lose this target.",
        count: |s| Box::pin(async move { Ok(s.db.list_device_groups(ONE).await?.total) }),
        rows: |s, ctx, _| {
            Box::pin(async move {
                let rows = s.db.list_device_groups(ALL).await?.rows;
                Ok(rows
                    .into_iter()
                    .map(|g| {
                        let after = match g.stale_after_hours {
                            Some(h) => format!("{h} h"),
                            None => "default".into(),
                        };
                        let devices = devices_cell(format!("/devices?group={}", g.id));
                        Row(vec![
                            name_cell(ctx, "device-groups", g.id, g.name),
                            Cell::Text(after),
                            devices,
                        ])
                    })
                    .collect())
            })
        },
        load: Some(|s, id| {
            Box::pin(async move {
                let g = s.db.device_group(id).await?;
                let hours = g.stale_after_hours.map(|h| h.to_string()).unwrap_or_default();
                Ok((
                    g.name.clone(),
                    values([("name", g.name), ("stale_after_hours", hours)]),
                ))
            })
        }),
        save: |s, _, id, f| {
            Box::pin(async move {
                // Anything but a whole number becomes 0 hours, which the
                // validator refuses.
                let hours = match f.get("stale_after_hours").trim() {
                    "" => None,
                    h => Some(h.parse::<i64>().unwrap_or(0)),
                };
                let input = DeviceGroupInput {
                    name: f.get("name").into(),
                    stale_after_hours: hours,
                };
                let (name, hours) = match input.validate() {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                };
                name_taken(s.db.save_device_group(id, &name, hours).await.map(|g| g.id))
            })
        },
        delete: Some(|s, _, id| {
            Box::pin(async move { in_use(s.db.delete_device_group(id).await, "device group") })
        }),
        ..named("device-groups", "Device groups", "device group")
    },
    Kind {
        add: Some(("Add a manufacturer", "Add manufacturer")),
        card: Some("Vendors of device types"),
        empty: (
            "No manufacturer yet.",
            "Manufacturers (vendors) are given to device types.",
        ),
        columns: &["Name", "Device types"],
        fields: &[field("name", "Name", Spec::Input(Input::REQUIRED))],
        delete_note: "Its device types stay, without a manufacturer.",
        count: |s| {
            Box::pin(async move { Ok(s.db.list_named(NamedKind::Manufacturer, ONE).await?.total) })
        },
        rows: |s, ctx, _| {
            Box::pin(async move {
                let makers = s.db.list_named(NamedKind::Manufacturer, ALL).await?.rows;
                let types = s.db.list_device_types(ALL).await?.rows;
                Ok(makers
                    .into_iter()
                    .map(|m| {
                        let of: Vec<&str> = types
                            .iter()
                            .filter(|t| t.manufacturer == Some(m.id))
                            .map(|t| t.name.as_str())
                            .collect();
                        let of = Cell::Text(of.join(", "));
                        Row(vec![name_cell(ctx, "manufacturers", m.id, m.name), of])
                    })
                    .collect())
            })
        },
        load: Some(|s, id| {
            Box::pin(async move {
                let m = s.db.manufacturer(id).await?;
                Ok((m.name.clone(), values([("name", m.name)])))
            })
        }),
        save: |s, _, id, f| {
            Box::pin(async move {
                let input = NamedInput {
                    name: f.get("name").into(),
                };
                let name = match input.validate() {
                    Ok(n) => n,
                    Err(e) => return Ok(Err(e)),
                };
                let kind = NamedKind::Manufacturer;
                let saved = match id {
                    None => s.db.create_named(kind, &name).await,
                    Some(id) => s.db.update_named(kind, id, &name).await,
                };
                name_taken(saved.map(|n| n.id))
            })
        },
        delete: Some(|s, _, id| {
            Box::pin(async move {
                in_use(
                    s.db.delete_named(NamedKind::Manufacturer, id).await,
                    "manufacturer",
                )
            })
        }),
        ..named("manufacturers", "Manufacturers", "manufacturer")
    },
    Kind {
        add: Some(("Add a device type", "Add device type")),
        card: Some("Models and families"),
        empty: (
            "No device type yet.",
            "Types (models, families) organise devices and the dashboard.",
        ),
        columns: &["Name", "Manufacturer", "Devices"],
        fields: &[
            field("name", "Name", Spec::Input(Input::REQUIRED)),
            field("manufacturer", "Manufacturer", Spec::Input(Input::TEXT))
                .hint("A manufacturer's name (see Manufacturers). Empty: none."),
            field(
                "max_config_mib",
                "Largest configuration (MiB)",
                Spec::Input(Input {
                    inputmode: Some("numeric"),
                    ..Input::TEXT
                }),
            )
            .hint(MAX_CONFIG_HINT),
            field(
                "legacy_algorithms",
                "Legacy SSH algorithms",
                Spec::Checkbox,
            )
            .hint("Offer SHA-1 key exchange, CBC ciphers and HMAC-SHA1 to its devices (a device may say otherwise)."),
            field("connect_timeout", "Connect timeout (s)", Spec::Input(NUMBER))
                .hint(TIMEOUT_HINT),
            field("command_timeout", "Command timeout (s)", Spec::Input(NUMBER))
                .hint(TIMEOUT_HINT),
            field("job_timeout", "Job timeout (s)", Spec::Input(NUMBER))
                .hint("The whole backup, 1–86400 seconds. Empty: 300."),
        ],
        delete_note: "Its devices stay, without a type.",
        count: |s| Box::pin(async move { Ok(s.db.list_device_types(ONE).await?.total) }),
        rows: |s, ctx, _| {
            Box::pin(async move {
                let rows = s.db.list_device_types(ALL).await?.rows;
                let makers = s.db.list_named(NamedKind::Manufacturer, ALL).await?.rows;
                Ok(rows
                    .into_iter()
                    .map(|t| {
                        let maker = t
                            .manufacturer
                            .and_then(|m| makers.iter().find(|n| n.id == m))
                            .map(|n| n.name.clone())
                            .unwrap_or_default();
                        let devices = devices_cell(format!("/devices?type={}", t.id));
                        Row(vec![
                            name_cell(ctx, "device-types", t.id, t.name),
                            Cell::Text(maker),
                            devices,
                        ])
                    })
                    .collect())
            })
        },
        load: Some(|s, id| {
            Box::pin(async move {
                let t = s.db.device_type(id).await?;
                let mib = t
                    .max_config_bytes
                    .map(|b| (b >> 20).max(1).to_string())
                    .unwrap_or_default();
                let maker = match t.manufacturer {
                    Some(m) => s.db.manufacturer(m).await?.name,
                    None => String::new(),
                };
                Ok((
                    t.name.clone(),
                    values([
                        ("name", t.name),
                        ("manufacturer", maker),
                        ("max_config_mib", mib),
                        ("legacy_algorithms", flag(t.legacy_algorithms)),
                        ("connect_timeout", opt(t.timeouts.connect)),
                        ("command_timeout", opt(t.timeouts.command)),
                        ("job_timeout", opt(t.timeouts.job)),
                    ]),
                ))
            })
        }),
        save: save_device_type,
        delete: Some(|s, _, id| {
            Box::pin(async move { in_use(s.db.delete_device_type(id).await, "device type") })
        }),
        ..named("device-types", "Device types", "device type")
    },
    Kind {
        add: Some(("Add a schedule", "Add schedule")),
        card: Some("When devices are backed up"),
        read: Right::Operate,
        write: Right::Operate,
        intro: "A schedule backs up the devices it names, and those of its device groups, at the times of its cron expression in its time zone.",
        empty: (
            "No schedule yet.",
            "Devices are backed up only when someone presses “Backup now” until a schedule names them.",
        ),
        columns: &["Name", "When", "Devices", "Next run", "State"],
        fields: &[
            field("name", "Name", Spec::Input(Input::REQUIRED)),
            FieldSpec {
                default: "0 2 * * *",
                ..field("cron", "Cron expression", Spec::Input(Input::REQUIRED)).hint(
                    "Five fields: minute hour day-of-month month day-of-week, e.g. <code>0 2 * * *</code> (02:00 every day) or <code>*/30 * * * *</code>.",
                )
            },
            FieldSpec {
                default: "UTC",
                ..field("timezone", "Time zone", Spec::Input(Input::TEXT))
                    .hint("IANA name, e.g. Europe/Paris. Empty: UTC.")
            },
            field("device_groups", "Device groups", Spec::Input(Input::TEXT))
                .hint("Names, separated by commas."),
            field("devices", "Devices", Spec::Input(Input::TEXT))
                .hint("Names, separated by commas."),
            field("paused", "Paused (backs nothing up)", Spec::Checkbox),
        ],
        delete_note: "Its devices stay; they are no longer backed up on this schedule.",
        count: |s| Box::pin(async move { Ok(s.db.list_schedules(ONE).await?.total) }),
        rows: schedule_rows,
        load: Some(|s, id| {
            Box::pin(async move {
                let sc = s.db.schedule(id).await?;
                let f = ScheduleForm::of(s, &sc).await?;
                let paused = if f.enabled { "" } else { "on" };
                Ok((
                    f.name.clone(),
                    values([
                        ("name", f.name),
                        ("cron", f.cron),
                        ("timezone", f.timezone),
                        ("device_groups", f.targets.device_groups),
                        ("devices", f.targets.devices),
                        ("paused", paused.into()),
                    ]),
                ))
            })
        }),
        save: save_schedule,
        delete: Some(|s, ctx, id| {
            Box::pin(async move {
                app_schedules::require_change(s, &ctx.user, &ctx.scope, Some(id), None).await??;
                Ok(s.db.delete_schedule(id).await?)
            })
        }),
        ..named("schedules", "Schedules", "schedule")
    },
    Kind {
        heading: "Users and tokens",
        add: Some(("Add a user", "Add user")),
        card: Some("Who may sign in, API tokens"),
        read: Right::Administer,
        empty: ("No users.", ""),
        columns: &["Username", "Role", "Signs in with", "Since"],
        fields: &[
            field(
                "username",
                "Username",
                Spec::Input(Input {
                    autocomplete: Some("off"),
                    ..Input::REQUIRED
                }),
            ),
            field(
                "password",
                "Password",
                Spec::Input(Input {
                    required: true,
                    ..Input::NEW_PASSWORD
                }),
            )
            .hint("At least 8 characters."),
            field(
                "password_confirm",
                "Password again",
                Spec::Input(Input {
                    required: true,
                    ..Input::NEW_PASSWORD
                }),
            ),
            FieldSpec {
                default: "reader",
                ..field("role", "Role", Spec::Select(ROLE_CHOICES))
            }
            .hint(ROLE_HINT),
        ],
        delete_note: "Its tokens and sessions end with it.",
        created_opens_it: true,
        count: |s| Box::pin(async move { Ok(s.db.count_users().await?) }),
        rows: |s, ctx, _| {
            Box::pin(async move {
                let rows = s.db.list_users().await?;
                Ok(rows
                    .into_iter()
                    .map(|u| {
                        let name = Cell::Name {
                            href: Some(format!("/admin/users/{}", u.id)),
                            note: (u.id == ctx.user.id).then_some("(you)"),
                            text: u.username,
                        };
                        let role = match u.role {
                            Role::Admin => Cell::Tag("admin"),
                            other => Cell::Text(other.as_str().into()),
                        };
                        let source = match &u.disabled_at {
                            Some(_) => Cell::Text(format!("{} (disabled)", u.source)),
                            None => Cell::Text(u.source),
                        };
                        Row(vec![name, role, source, Cell::Time(Some(u.created_at))])
                    })
                    .collect())
            })
        },
        save: save_user,
        delete: Some(delete_user),
        ..named("users", "Users", "user")
    },
    Kind {
        heading: "Tokens and sessions",
        read: Right::Administer,
        intro: "Every API token, API login and web session of every user. Revoking one refuses its client at once; to make a token, open the user's page.",
        empty: ("No tokens.", ""),
        columns: TOKEN_COLUMNS_WITH_USER,
        rows: |s, ctx, _| {
            Box::pin(async move {
                let tokens = s.db.list_tokens(None).await?;
                Ok(tokens
                    .iter()
                    .map(|t| {
                        let revoke = format!("/admin/users/{}/tokens/{}/delete", t.user_id, t.id);
                        token_row(ctx, t, true, &revoke)
                    })
                    .collect())
            })
        },
        ..named("tokens", "Tokens", "token")
    },
    Kind {
        add: Some(("Add a notification channel", "Add channel")),
        card: Some("Where notifications go: mail, signed webhooks, Slack, Teams"),
        read: Right::Operate,
        intro: "Mail goes through the installation's SMTP server ([smtp] in the configuration). Secrets and Slack/Teams URLs are stored sealed and never shown again.",
        empty: (
            "No notification channel yet.",
            "Add one, then a rule that sends events to it.",
        ),
        columns: &["Name", "Kind", "Destination", "Secret", "Actions"],
        fields: &[
            field("name", "Name", Spec::Input(Input::REQUIRED)),
            FieldSpec {
                default: "email",
                ..field(
                    "kind",
                    "Kind",
                    Spec::Select(&[
                        ("email", "E-mail"),
                        ("webhook", "Webhook (JSON, signed with HMAC-SHA256)"),
                        ("slack", "Slack incoming webhook"),
                        ("teams", "Microsoft Teams webhook"),
                    ]),
                )
            },
            field("to", "Recipients", Spec::Input(Input::TEXT))
                .hint("E-mail: addresses, separated by commas."),
            field("url", "URL", Spec::Input(Input::TEXT))
                .hint("Webhook, Slack, Teams: where to POST.")
                .edit_hint("Slack and Teams: leave empty to keep the stored URL."),
            field("secret", "Signing secret", Spec::Input(Input::NEW_PASSWORD))
                .hint("Webhook: at least 16 characters; stored sealed, never shown again.")
                .edit_hint("Leave empty to keep the current one. Never shown again."),
        ],
        delete_note: "A channel cannot be deleted while a rule sends to it.",
        count: |s| Box::pin(async move { Ok(s.db.channels(ONE).await?.total) }),
        rows: channel_rows,
        load: Some(|s, id| {
            Box::pin(async move {
                let v = ChannelView::of(s, &s.db.channel(id).await?);
                let url = if v.kind == "webhook" {
                    v.url.unwrap_or_default()
                } else {
                    String::new()
                };
                Ok((
                    v.name.clone(),
                    values([
                        ("name", v.name),
                        ("kind", v.kind),
                        ("to", v.to.join(", ")),
                        ("url", url),
                    ]),
                ))
            })
        }),
        save: save_channel,
        delete: Some(|s, _, id| {
            Box::pin(async move {
                s.db.delete_channel(id).await.map_err(|e| match e {
                    DbError::Conflict(_) => WebError::new(
                        StatusCode::CONFLICT,
                        "This channel is in use",
                        "A rule sends to this channel. Delete the rule or point it elsewhere first.",
                    ),
                    other => other.into(),
                })
            })
        }),
        ..named(
            "notification-channels",
            "Notification channels",
            "notification channel",
        )
    },
    Kind {
        add: Some(("Add a notification rule", "Add rule")),
        card: Some("Which events are sent where"),
        read: Right::Operate,
        write: Right::Operate,
        intro: "A rule sends the events it picks, about the devices it names (none named: every device), to one channel.",
        empty: (
            "No notification rule yet.",
            "Add a channel first, then a rule that sends events to it.",
        ),
        columns: &["Name", "Events", "Channel", "Devices", "State", "Actions"],
        fields: &[
            field("name", "Name", Spec::Input(Input::REQUIRED)),
            FieldSpec {
                default: "config_changed, backup_failed",
                ..field("events", "Events", Spec::Input(Input::REQUIRED))
                    .hint("config_changed, backup_failed, device_stale, device_recovered, compliance_changed (separated by commas).")
            },
            field("channel", "Channel", Spec::Input(Input::REQUIRED)).hint("The channel's name."),
            field("device_groups", "Device groups", Spec::Input(Input::TEXT))
                .hint("Names, separated by commas. Empty, with no devices: every device."),
            field("devices", "Devices", Spec::Input(Input::TEXT))
                .hint("Names, separated by commas."),
            field("paused", "Paused (sends nothing)", Spec::Checkbox),
        ],
        delete_note: "Its past deliveries stay listed, without a rule.",
        count: |s| Box::pin(async move { Ok(s.db.rules(ONE).await?.total) }),
        rows: rule_rows,
        load: Some(|s, id| {
            Box::pin(async move {
                let r = s.db.rule(id).await?;
                let f = RuleForm::of(s, &r).await?;
                let paused = if f.enabled { "" } else { "on" };
                Ok((
                    f.name.clone(),
                    values([
                        ("name", f.name),
                        ("events", f.events),
                        ("channel", f.channel),
                        ("device_groups", f.device_groups),
                        ("devices", f.devices),
                        ("paused", paused.into()),
                    ]),
                ))
            })
        }),
        save: save_rule,
        delete: Some(|s, ctx, id| {
            Box::pin(async move {
                app_notifications::require_rule_change(s, &ctx.user, &ctx.scope, Some(id), None)
                    .await??;
                Ok(s.db.delete_rule(id).await?)
            })
        }),
        ..named(
            "notification-rules",
            "Notification rules",
            "notification rule",
        )
    },
    Kind {
        add: Some(("Add a compliance rule", "Add rule")),
        card: Some("What every configuration must, or must not, contain"),
        read: Right::Administer,
        intro: "A compliance rule is a saved search with an expectation, evaluated on the latest configuration of each device of its groups (none named: every device) whenever a new version is stored. A change of state is a compliance_changed event for the notification rules.",
        empty: (
            "No compliance rule yet.",
            "Add one, e.g. “must not contain” <code>snmp-server community public</code>.",
        ),
        columns: &["Name", "Expectation", "Devices", "State"],
        fields: &[
            field("name", "Name", Spec::Input(Input::REQUIRED)),
            field("pattern", "Pattern", Spec::Input(Input::REQUIRED))
                .hint("What to look for on one line: literal text, or a regular expression (Rust syntax) with the box below ticked."),
            field("regex", "Regular expression", Spec::Checkbox),
            field("ignore_case", "Ignore case", Spec::Checkbox),
            FieldSpec {
                default: "must_not_contain",
                ..field(
                    "expectation",
                    "Expectation",
                    Spec::Select(&[
                        ("must_not_contain", "Must not contain"),
                        ("must_contain", "Must contain"),
                    ]),
                )
            },
            field("block", "Within blocks", Spec::Input(Input::TEXT)).hint(
                "A regular expression for the blocks' header lines, e.g. <code>interface .*</code>: the rule then applies to each such block, up to the next line at column 0. Empty: the whole configuration.",
            ),
            field("device_groups", "Device groups", Spec::Input(Input::TEXT))
                .hint("Names, separated by commas. Empty: every device."),
            field("paused", "Paused (evaluates nothing)", Spec::Checkbox),
        ],
        delete_note: "Its devices' states go with it; past events stay.",
        count: |s| Box::pin(async move { Ok(s.db.list_compliance_rules(ONE).await?.total) }),
        rows: compliance_rows,
        load: Some(|s, id| {
            Box::pin(async move {
                let r = s.db.compliance_rule(id).await?;
                let f = ComplianceRuleForm::of(s, &r).await?;
                let on = |b: bool| if b { "on" } else { "" }.to_owned();
                Ok((
                    f.name.clone(),
                    values([
                        ("name", f.name),
                        ("pattern", f.pattern),
                        ("regex", on(f.regex)),
                        ("ignore_case", on(f.ignore_case)),
                        ("expectation", f.expectation),
                        ("block", f.block),
                        ("device_groups", f.device_groups),
                        ("paused", on(!f.enabled)),
                    ]),
                ))
            })
        }),
        save: save_compliance_rule,
        delete: Some(|s, _, id| {
            Box::pin(async move { Ok(s.db.delete_compliance_rule(id).await?) })
        }),
        ..named("compliance-rules", "Compliance rules", "compliance rule")
    },
    Kind {
        card: Some("Deliveries: sent, retrying, or dead with their last error"),
        read: Right::Operate,
        intro: "Each event a rule picked, per channel, newest first. A failed delivery is tried again with growing waits, and is dead after the last attempt.",
        empty: (
            "No notification yet.",
            "Events a rule picks appear here once they happen.",
        ),
        columns: &[
            "Event",
            "Device",
            "Rule",
            "Channel",
            "State",
            "Attempts",
            "Next attempt",
            "Last error",
        ],
        count: |s| {
            Box::pin(async move {
                Ok(s.db
                    .deliveries(&devicevault_db::DeliveryFilter::default(), ONE)
                    .await?
                    .total)
            })
        },
        rows: delivery_rows,
        ..named("notifications", "Notifications", "notification")
    },
    Kind {
        read: Right::Administer,
        intro: "Deleted devices are archived: not backed up, not in lists or schedules, their history kept. Open one to read its versions.",
        empty: ("No archived devices.", "Deleting a device archives it."),
        columns: &["Name", "Address", "Archived", "Actions"],
        rows: archived_rows,
        ..named("archived-devices", "Archived devices", "archived device")
    },
];

/// The columns of a token list, without and with its user.
pub(in crate::web) const TOKEN_COLUMNS: &[&str] =
    &["Kind", "Name", "Created", "Last used", "Expires", "Actions"];
const TOKEN_COLUMNS_WITH_USER: &[&str] = &[
    "User",
    "Kind",
    "Name",
    "Created",
    "Last used",
    "Expires",
    "Actions",
];

/// A token's row; `revoke` is its revoke action (none for the session
/// showing the page).
pub(in crate::web) fn token_row(ctx: &Ctx, t: &TokenInfo, with_user: bool, revoke: &str) -> Row {
    let current = t.kind == TokenKind::Session && t.id == ctx.session_id;
    let mut cells = Vec::with_capacity(7);
    if with_user {
        cells.push(Cell::Name {
            href: Some(format!("/admin/users/{}", t.user_id)),
            text: t.username.clone(),
            note: None,
        });
    }
    let kind = match t.kind {
        TokenKind::Login => "API login",
        TokenKind::Named => "API token",
        TokenKind::Session => "web session",
    };
    cells.extend([
        Cell::Name {
            href: None,
            text: kind.into(),
            note: current.then_some("(this one)"),
        },
        Cell::Text(t.name.clone().unwrap_or_default()),
        Cell::Time(Some(t.created_at.clone())),
        Cell::Time(t.last_used_at.clone()),
        match (&t.expires_at, t.kind) {
            (Some(e), _) => Cell::Time(Some(e.clone())),
            (None, TokenKind::Login) => Cell::Text("when idle".into()),
            (None, _) => Cell::Text("never".into()),
        },
        Cell::Actions(if current {
            Vec::new()
        } else {
            vec![Action::Post {
                action: revoke.to_owned(),
                label: "Revoke",
                confirm: Some("Revoke this token? Clients using it will be refused."),
            }]
        }),
    ]);
    Row(cells)
}

/// The kind at `/admin/<slug>`.
pub(in crate::web) fn kind(slug: &str) -> WebResult<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.slug == slug)
        .ok_or_else(|| WebError::not_found(format!("There is no page at /admin/{slug}.")))
}

/// A whole number of a form: `None` when empty, an error on the field
/// when it is not a number.
pub(in crate::web) fn form_int(e: &mut FieldErrors, f: &Form, field: &'static str) -> Option<i64> {
    match f.get(field).trim() {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                e.add(field, "a whole number");
                None
            }
        },
    }
}

/// A numeric text field.
pub(in crate::web) const NUMBER: Input = Input {
    inputmode: Some("numeric"),
    ..Input::TEXT
};

const TIMEOUT_HINT: &str = "1–86400 seconds. Empty: the collector's setting.";

fn flag(b: bool) -> String {
    if b { "yes" } else { "" }.to_owned()
}

fn opt(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

fn values<const N: usize>(pairs: [(&str, String); N]) -> Form {
    Form(Vec::new()).and(pairs)
}

impl Form {
    /// These fields added.
    fn and<const N: usize>(mut self, pairs: [(&str, String); N]) -> Self {
        self.0
            .extend(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)));
        self
    }
}

/// The name of an object, a link to its edit page for administrators.
fn name_cell(ctx: &Ctx, slug: &str, id: i64, name: String) -> Cell {
    Cell::Name {
        href: kind(slug)
            .is_ok_and(|k| rights::allows(ctx.user.role, k.write))
            .then(|| format!("/admin/{slug}/{id}")),
        text: name,
        note: None,
    }
}

fn devices_cell(href: String) -> Cell {
    Cell::Name {
        href: Some(href),
        text: "devices".into(),
        note: None,
    }
}

/// A `Conflict` on insert or update is a duplicate name.
fn name_taken(r: Result<i64, DbError>) -> WebResult<Result<i64, FieldErrors>> {
    let mut e = FieldErrors::default();
    match r {
        Ok(id) => return Ok(Ok(id)),
        Err(DbError::Conflict(_)) => e.add("name", "this name is taken"),
        Err(DbError::Invalid(m)) => e.add("name", m),
        Err(other) => return Err(other.into()),
    }
    Ok(Err(e))
}

/// A deletion refused because something still uses the object.
fn in_use(r: Result<(), DbError>, what: &str) -> WebResult<()> {
    r.map_err(|e| match e {
        DbError::Conflict(_) => WebError::new(
            StatusCode::CONFLICT,
            format!("This {what} is in use"),
            format!("The {what} cannot be deleted while devices or stored backups refer to it. Change them first, then delete it."),
        ),
        other => other.into(),
    })
}

fn archived_rows<'a>(s: &'a Shared, ctx: &'a Ctx, q: &'a Form) -> Fut<'a, Vec<Row>> {
    Box::pin(async move {
        let page = q.get("page").parse::<i64>().unwrap_or(1).max(1);
        let filter = DeviceFilter {
            archived: true,
            ..DeviceFilter::default()
        };
        let page = Page {
            limit: 100,
            offset: (page - 1).saturating_mul(100),
        };
        let listed = s.db.list_devices(&filter, &ctx.scope, page).await?;
        Ok(listed
            .rows
            .into_iter()
            .map(|d| {
                let name = Cell::Name {
                    href: Some(format!("/devices/{}", d.id)),
                    text: d.fields.name,
                    note: None,
                };
                let restore = Action::Post {
                    action: format!("/devices/{}/restore", d.id),
                    label: "Restore",
                    confirm: None,
                };
                let purge = Action::Link {
                    href: format!("/devices/{}/purge", d.id),
                    label: "Purge…",
                };
                let actions = Cell::Actions(vec![restore, purge]);
                Row(vec![
                    name,
                    Cell::Mono(d.fields.address),
                    Cell::Time(d.archived_at),
                    actions,
                ])
            })
            .collect())
    })
}

fn location_rows<'a>(s: &'a Shared, ctx: &'a Ctx, _: &'a Form) -> Fut<'a, Vec<Row>> {
    Box::pin(async move {
        let rows = s.db.list_locations(ALL).await?.rows;
        let mut out = Vec::with_capacity(rows.len());
        for l in rows {
            let r = s.db.location_retention(l.id).await?;
            let f = LocationForm::of(&l);
            let branch = match f.location_type.as_str() {
                "git" if f.branch.is_empty() => "main".to_owned(),
                "git" => f.branch,
                _ => "—".to_owned(),
            };
            let kept = match (r.keep_last, r.keep_days) {
                (None, None) => "everything".to_owned(),
                (Some(n), None) => format!("last {n}"),
                (None, Some(d)) => format!("{d} days"),
                (Some(n), Some(d)) => format!("last {n} or {d} days"),
            };
            let retention = if ctx.user.is_admin() {
                Cell::Actions(vec![Action::Link {
                    href: format!("/admin/locations/{}/retention", l.id),
                    label: if r.keeps_everything() {
                        "Keeps everything"
                    } else {
                        "Retention"
                    },
                }])
            } else {
                Cell::Text(kept)
            };
            out.push(Row(vec![
                name_cell(ctx, "locations", l.id, l.name),
                Cell::Text(f.location_type),
                Cell::Mono(f.path),
                Cell::Text(branch),
                retention,
            ]));
        }
        Ok(out)
    })
}

fn save_location<'a>(
    s: &'a Shared,
    _: &'a Ctx,
    id: Option<i64>,
    f: &'a Form,
) -> Fut<'a, Result<i64, FieldErrors>> {
    Box::pin(async move {
        let form = LocationForm {
            name: f.get("name").into(),
            location_type: f.get("location_type").into(),
            path: f.get("path").into(),
            branch: f.get("branch").into(),
            layout: f.get("layout").into(),
            extra: f.get("extra").into(),
        };
        let current = match id {
            None => None,
            Some(id) => Some(s.db.location(id).await?),
        };
        let l = match form.validate(s, current.as_ref()) {
            Ok(l) => l,
            Err(e) => return Ok(Err(e)),
        };
        let saved = match id {
            None => s.db.create_location(&l.name, l.kind, &l.config).await,
            Some(id) => s.db.update_location(id, &l.name, l.kind, &l.config).await,
        };
        name_taken(saved.map(|l| l.id))
    })
}

fn save_credential<'a>(
    s: &'a Shared,
    _: &'a Ctx,
    id: Option<i64>,
    f: &'a Form,
) -> Fut<'a, Result<i64, FieldErrors>> {
    Box::pin(async move {
        // A form always sends every field: an empty secret keeps the
        // stored one, unless "remove" is ticked.
        let secret = |v: &str| match v {
            "" => Change::Keep,
            v => Change::Set(v.to_owned()),
        };
        let input = CredentialInput {
            name: Change::Set(f.get("name").into()),
            username: Change::Set(f.get("username").into()),
            password: match id {
                None => Change::Set(f.get("password").into()),
                Some(_) => secret(f.get("password")),
            },
            enable_secret: if f.checked("clear_enable") {
                Change::Clear
            } else {
                secret(f.get("enable_secret"))
            },
            private_key: secret(f.get("private_key")),
            passphrase: if f.checked("clear_passphrase") {
                Change::Clear
            } else {
                secret(f.get("passphrase"))
            },
            api_key: if f.checked("clear_api_key") {
                Change::Clear
            } else {
                secret(f.get("api_key"))
            },
        };
        let base = match id {
            Some(id) => Some(s.db.credential(id).await?),
            None => None,
        };
        let c = match input.apply(s, base) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let saved = match id {
            None => s.db.insert_credential(&c).await,
            Some(id) => s.db.update_credential(id, &c).await,
        };
        name_taken(saved.map(|c| c.id))
    })
}

fn save_device_type<'a>(
    s: &'a Shared,
    _: &'a Ctx,
    id: Option<i64>,
    f: &'a Form,
) -> Fut<'a, Result<i64, FieldErrors>> {
    Box::pin(async move {
        // Whole MiB in the form; anything else becomes 0 bytes, which the
        // validator refuses.
        let max_config_bytes = match f.get("max_config_mib").trim() {
            "" => None,
            mib => Some(
                mib.parse::<i64>()
                    .ok()
                    .and_then(|n| n.checked_mul(1 << 20))
                    .unwrap_or(0),
            ),
        };
        // The form names the manufacturer; the input (as the API's) holds
        // its id.
        let maker = f.get("manufacturer").trim();
        let manufacturer = if maker.is_empty() {
            None
        } else {
            let makers = s.db.list_named(NamedKind::Manufacturer, ALL).await?.rows;
            match makers.iter().find(|m| m.name == maker) {
                Some(m) => Some(m.id),
                None => {
                    let mut e = FieldErrors::default();
                    e.add(
                        "manufacturer",
                        format!("no manufacturer is named {maker:?}"),
                    );
                    return Ok(Err(e));
                }
            }
        };
        let mut e = FieldErrors::default();
        let input = DeviceTypeInput {
            name: f.get("name").into(),
            manufacturer,
            max_config_bytes,
            legacy_algorithms: f.checked("legacy_algorithms"),
            connect_timeout: form_int(&mut e, f, "connect_timeout"),
            command_timeout: form_int(&mut e, f, "command_timeout"),
            job_timeout: form_int(&mut e, f, "job_timeout"),
        };
        if !e.is_empty() {
            return Ok(Err(e));
        }
        let t = match input.validate(s).await? {
            Ok(v) => v,
            Err(FieldErrors(e)) => {
                let on_form = |f| {
                    if f == "max_config_bytes" {
                        "max_config_mib"
                    } else {
                        f
                    }
                };
                return Ok(Err(FieldErrors(
                    e.into_iter().map(|(f, m)| (on_form(f), m)).collect(),
                )));
            }
        };
        let saved = match id {
            None => s.db.insert_device_type(&t).await,
            Some(id) => s.db.write_device_type(id, &t).await,
        };
        name_taken(saved.map(|t| t.id))
    })
}

fn save_user<'a>(
    s: &'a Shared,
    _: &'a Ctx,
    _: Option<i64>,
    f: &'a Form,
) -> Fut<'a, Result<i64, FieldErrors>> {
    Box::pin(async move {
        let role: Role = match f.get("role").parse() {
            Ok(role) => role,
            Err(e) => {
                let mut errors = FieldErrors::default();
                errors.add("role", e.to_string());
                return Ok(Err(errors));
            }
        };
        let input = UserInput {
            username: f.get("username").into(),
            password: NewPassword {
                password: f.get("password").into(),
                confirm: Some(f.get("password_confirm").into()),
            },
            role,
            ..UserInput::default()
        };
        match app_users::create(&s.db, &input).await {
            Ok(u) => Ok(Ok(u.id)),
            Err(UserError::Invalid(e)) => Ok(Err(e)),
            Err(e) => Err(user_error(e)),
        }
    })
}

/// A refused change of a user, as a page.
pub(in crate::web) fn user_error(e: UserError) -> WebError {
    match e {
        UserError::Db(e) => e.into(),
        UserError::LastAdmin(_) => super::refuse("The last administrator", &format!("{e}.")),
        other => WebError::bad_request(other.to_string()),
    }
}

fn delete_user<'a>(s: &'a Shared, ctx: &'a Ctx, id: i64) -> Fut<'a, ()> {
    Box::pin(async move {
        if id == ctx.user.id {
            return Err(super::refuse(
                "You cannot delete yourself",
                "Ask another administrator.",
            ));
        }
        app_users::delete(&s.db, id).await.map_err(user_error)
    })
}

/// The hint of a field on a new or an existing object's form.
pub(in crate::web) fn hint(f: &FieldSpec, editing: bool) -> PreEscaped<&'static str> {
    PreEscaped(f.edit_hint.filter(|_| editing).unwrap_or(f.hint))
}

// ---- notifications -------------------------------------------------------------------

fn channel_rows<'a>(s: &'a Shared, ctx: &'a Ctx, _: &'a Form) -> Fut<'a, Vec<Row>> {
    Box::pin(async move {
        let rows = s.db.channels(ALL).await?.rows;
        Ok(rows
            .iter()
            .map(|c| {
                let v = ChannelView::of(s, c);
                let destination = match v.kind.as_str() {
                    "email" => v.to.join(", "),
                    _ => v.url.clone().unwrap_or_default(),
                };
                let secret = match (v.kind.as_str(), v.has_secret) {
                    ("webhook", true) => Cell::Muted("set (hidden)"),
                    ("slack" | "teams", _) => Cell::Muted("URL sealed"),
                    _ => Cell::Text("—".into()),
                };
                Row(vec![
                    name_cell(ctx, "notification-channels", v.id, v.name),
                    Cell::Text(v.kind),
                    Cell::Mono(destination),
                    secret,
                    Cell::Actions(vec![
                        Action::Post {
                            action: format!("/admin/notification-channels/{}/test", v.id),
                            label: "Send test",
                            confirm: None,
                        },
                        Action::Link {
                            href: format!("/admin/notifications?channel={}", v.id),
                            label: "Deliveries",
                        },
                    ]),
                ])
            })
            .collect())
    })
}

/// The form's list of recipients.
fn split_list(s: &str) -> Vec<String> {
    s.split([',', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn save_channel<'a>(
    s: &'a Shared,
    _: &'a Ctx,
    id: Option<i64>,
    f: &'a Form,
) -> Fut<'a, Result<i64, FieldErrors>> {
    Box::pin(async move {
        let non_empty = |k: &str| Some(f.get(k).trim().to_owned()).filter(|v| !v.is_empty());
        let input = ChannelInput {
            name: f.get("name").into(),
            kind: f.get("kind").into(),
            to: split_list(f.get("to")),
            url: non_empty("url"),
            secret: Some(f.get("secret").to_owned()).filter(|v| !v.is_empty()),
        };
        let base = match id {
            Some(id) => Some(s.db.channel(id).await?),
            None => None,
        };
        let fields = match input.validate(s, base.as_ref())? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let saved = match id {
            None => s.db.create_channel(&fields).await,
            Some(id) => s.db.update_channel(id, &fields).await.map(|()| id),
        };
        name_taken(saved)
    })
}

/// What a rule or schedule targets, in words (`none`: nothing named).
fn targets_text(groups: &str, devices: &str, none: &str) -> String {
    match (groups, devices) {
        ("", "") => none.to_owned(),
        (g, "") => format!("groups {g}"),
        ("", d) => d.to_owned(),
        (g, d) => format!("groups {g}; {d}"),
    }
}

fn schedule_rows<'a>(s: &'a Shared, ctx: &'a Ctx, _: &'a Form) -> Fut<'a, Vec<Row>> {
    Box::pin(async move {
        let schedules = s.db.list_schedules(ALL).await?.rows;
        let mut rows = Vec::with_capacity(schedules.len());
        for sc in &schedules {
            let f = ScheduleForm::of(s, sc).await?;
            let t = &f.targets;
            rows.push(Row(vec![
                name_cell(ctx, "schedules", sc.id, f.name),
                Cell::Text(format!("{} ({})", f.cron, f.timezone)),
                Cell::Text(targets_text(&t.device_groups, &t.devices, "no device")),
                Cell::Time(sc.next_run.clone().filter(|_| f.enabled)),
                Cell::Tag(if f.enabled { "active" } else { "paused" }),
            ]));
        }
        Ok(rows)
    })
}

fn save_schedule<'a>(
    s: &'a Shared,
    ctx: &'a Ctx,
    id: Option<i64>,
    f: &'a Form,
) -> Fut<'a, Result<i64, FieldErrors>> {
    Box::pin(async move {
        let form = ScheduleForm {
            name: f.get("name").into(),
            cron: f.get("cron").into(),
            timezone: f.get("timezone").into(),
            targets: TargetNames {
                device_groups: f.get("device_groups").into(),
                devices: f.get("devices").into(),
            },
            enabled: !f.checked("paused"),
        };
        let input = match form.input(s).await? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        app_schedules::require_change(s, &ctx.user, &ctx.scope, id, Some(&input)).await??;
        let saved = match id {
            None => app_schedules::create(s, &input).await,
            Some(id) => app_schedules::update(s, id, &input).await,
        };
        match saved {
            Ok(Ok(sc)) => Ok(Ok(sc.id)),
            Ok(Err(e)) => Ok(Err(e)),
            Err(e) => name_taken(Err(e)),
        }
    })
}

fn compliance_rows<'a>(s: &'a Shared, ctx: &'a Ctx, _: &'a Form) -> Fut<'a, Vec<Row>> {
    Box::pin(async move {
        let rules = s.db.all_compliance_rules().await?;
        let mut rows = Vec::with_capacity(rules.len());
        for r in &rules {
            let f = ComplianceRuleForm::of(s, r).await?;
            let verb = if f.expectation == "must_contain" {
                "must contain"
            } else {
                "must not contain"
            };
            let mut what = format!("{verb} {}", f.pattern);
            if !f.block.is_empty() {
                what.push_str(&format!(" (in each block {})", f.block));
            }
            rows.push(Row(vec![
                name_cell(ctx, "compliance-rules", r.id, f.name),
                Cell::Mono(what),
                Cell::Text(targets_text(&f.device_groups, "", "every device")),
                Cell::Tag(if f.enabled { "active" } else { "paused" }),
            ]));
        }
        Ok(rows)
    })
}

fn save_compliance_rule<'a>(
    s: &'a Shared,
    _: &'a Ctx,
    id: Option<i64>,
    f: &'a Form,
) -> Fut<'a, Result<i64, FieldErrors>> {
    Box::pin(async move {
        let form = ComplianceRuleForm {
            name: f.get("name").into(),
            pattern: f.get("pattern").into(),
            regex: f.checked("regex"),
            ignore_case: f.checked("ignore_case"),
            expectation: f.get("expectation").into(),
            block: f.get("block").into(),
            device_groups: f.get("device_groups").into(),
            enabled: !f.checked("paused"),
        };
        let input = match form.input(s).await? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let saved = match id {
            None => app_compliance::create(s, &input).await,
            Some(id) => app_compliance::update(s, id, &input).await,
        };
        match saved {
            Ok(Ok(r)) => Ok(Ok(r.id)),
            Ok(Err(e)) => Ok(Err(e)),
            Err(e) => name_taken(Err(e)),
        }
    })
}

fn rule_rows<'a>(s: &'a Shared, ctx: &'a Ctx, _: &'a Form) -> Fut<'a, Vec<Row>> {
    Box::pin(async move {
        let rules = s.db.rules(ALL).await?.rows;
        let mut rows = Vec::with_capacity(rules.len());
        for r in &rules {
            let f = RuleForm::of(s, r).await?;
            let targets = targets_text(&f.device_groups, &f.devices, "every device");
            rows.push(Row(vec![
                name_cell(ctx, "notification-rules", r.id, f.name),
                Cell::Text(f.events),
                Cell::Name {
                    href: Some(format!(
                        "/admin/notification-channels/{}",
                        r.fields.channel_id
                    )),
                    text: f.channel,
                    note: None,
                },
                Cell::Text(targets),
                Cell::Tag(if f.enabled { "active" } else { "paused" }),
                Cell::Actions(vec![Action::Link {
                    href: format!("/admin/notifications?rule={}", r.id),
                    label: "Deliveries",
                }]),
            ]));
        }
        Ok(rows)
    })
}

fn save_rule<'a>(
    s: &'a Shared,
    ctx: &'a Ctx,
    id: Option<i64>,
    f: &'a Form,
) -> Fut<'a, Result<i64, FieldErrors>> {
    Box::pin(async move {
        let form = RuleForm {
            name: f.get("name").into(),
            events: f.get("events").into(),
            channel: f.get("channel").into(),
            device_groups: f.get("device_groups").into(),
            devices: f.get("devices").into(),
            enabled: !f.checked("paused"),
        };
        let input = match form.input(s).await? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        app_notifications::require_rule_change(s, &ctx.user, &ctx.scope, id, Some(&input))
            .await??;
        let fields = match input.validate(s).await? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let saved = match id {
            None => s.db.create_rule(&fields).await,
            Some(id) => s.db.update_rule(id, &fields).await.map(|()| id),
        };
        name_taken(saved)
    })
}

fn state_tag(state: &str) -> &'static str {
    use devicevault_db::notifications::delivery_state as st;
    st::ALL
        .into_iter()
        .find(|s| *s == state)
        .unwrap_or("unknown")
}

fn delivery_rows<'a>(s: &'a Shared, _: &'a Ctx, q: &'a Form) -> Fut<'a, Vec<Row>> {
    Box::pin(async move {
        let filter = devicevault_db::DeliveryFilter {
            rule: q.get("rule").parse().ok(),
            channel: q.get("channel").parse().ok(),
            state: Some(q.get("state").to_owned()).filter(|v| !v.is_empty()),
        };
        let page = Page {
            limit: 200,
            offset: 0,
        };
        let listed = s.db.deliveries(&filter, page).await?;
        Ok(listed
            .rows
            .into_iter()
            .map(|d| {
                let event = Cell::Name {
                    href: None,
                    text: format!("#{} {}", d.event_id, d.event_kind.replace('_', " ")),
                    note: None,
                };
                let device = Cell::Name {
                    href: Some(format!("/devices/{}", d.device_id)),
                    text: d.device_name,
                    note: None,
                };
                let rule = match (d.rule_id, d.rule_name) {
                    (Some(id), Some(name)) => Cell::Name {
                        href: Some(format!("/admin/notification-rules/{id}")),
                        text: name,
                        note: None,
                    },
                    _ => Cell::Muted("deleted"),
                };
                let next = match d.state.as_str() {
                    "pending" => Cell::Time(Some(d.next_attempt_at)),
                    _ => Cell::Text("—".into()),
                };
                Row(vec![
                    event,
                    device,
                    rule,
                    Cell::Text(d.channel_name),
                    Cell::Tag(state_tag(&d.state)),
                    Cell::Text(d.attempts.to_string()),
                    next,
                    Cell::Text(d.last_error.unwrap_or_default()),
                ])
            })
            .collect())
    })
}
