//! The device list, the device form, enable/disable, delete and "Backup now".

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use devicevault_db::dashboard::{DeviceQuery, DeviceRow, DeviceSort, LastStatus};
use devicevault_db::{DbError, Device, DeviceFields, DeviceFilter, Page};
use serde_json::json;

use super::html::{
    self, Ctx, Errors, Nav, checkbox, enc, esc, field, heading, link, notice, select, text_input,
};
use super::session::{AdminPosted, AdminSession, Form, Posted, Session, check_device, wants_json};
use super::{WebError, WebResult, html_page, query};
use crate::Shared;
use devicevault_pipeline::roles::dispatcher::DispatchError;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/devices", get(list))
        .route("/devices/new", get(new_form).post(create))
        .route("/devices/{id}/edit", get(edit_form).post(update))
        .route("/devices/{id}/enabled", post(set_enabled))
        .route("/devices/{id}/delete", post(delete))
        .route("/devices/{id}/restore", post(restore))
        .route("/devices/{id}/purge", get(purge_form).post(purge))
        .route("/admin/archived-devices", get(archived))
        .route("/devices/{id}/backup", post(backup_now))
        .route("/jobs/{ti}/state", get(job_state))
}

const PAGE_SIZES: [i64; 4] = [25, 50, 100, 200];

/// The list's parameters, parsed from the query string.
#[derive(Debug, Clone)]
pub(super) struct ListParams {
    pub name: String,
    pub device_type: Option<i64>,
    pub device_group: Option<i64>,
    pub status: Option<LastStatus>,
    pub enabled: Option<bool>,
    pub sort: DeviceSort,
    pub desc: bool,
    pub page: i64,
    pub size: i64,
}

impl ListParams {
    pub fn parse(q: &Form) -> Self {
        let id = |k: &str| q.get(k).trim().parse::<i64>().ok();
        Self {
            name: q.get("name").trim().to_owned(),
            device_type: id("type"),
            device_group: id("group"),
            status: LastStatus::parse(q.get("status")),
            enabled: match q.get("enabled") {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            sort: DeviceSort::parse(q.get("sort")).unwrap_or_default(),
            desc: q.get("dir") == "desc",
            page: id("page").unwrap_or(1).max(1),
            size: id("size").filter(|s| PAGE_SIZES.contains(s)).unwrap_or(50),
        }
    }

    pub fn query(&self) -> DeviceQuery {
        DeviceQuery {
            filter: DeviceFilter {
                name: (!self.name.is_empty()).then(|| self.name.clone()),
                device_group: self.device_group,
                device_type: self.device_type,
                enabled: self.enabled,
                archived: false,
            },
            last_status: self.status,
            sort: self.sort,
            descending: self.desc,
        }
    }

    /// The link to this list with some parameters changed.
    fn href(&self, sort: DeviceSort, desc: bool, page: i64) -> String {
        link(
            "/devices",
            &[
                ("name", self.name.clone()),
                (
                    "type",
                    self.device_type.map(|v| v.to_string()).unwrap_or_default(),
                ),
                (
                    "group",
                    self.device_group.map(|v| v.to_string()).unwrap_or_default(),
                ),
                (
                    "status",
                    self.status
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                ),
                (
                    "enabled",
                    match self.enabled {
                        Some(true) => "yes".into(),
                        Some(false) => "no".into(),
                        None => String::new(),
                    },
                ),
                (
                    "sort",
                    if sort == DeviceSort::Name {
                        String::new()
                    } else {
                        sort.as_str().into()
                    },
                ),
                ("dir", if desc { "desc".into() } else { String::new() }),
                (
                    "size",
                    if self.size == 50 {
                        String::new()
                    } else {
                        self.size.to_string()
                    },
                ),
                (
                    "page",
                    if page == 1 {
                        String::new()
                    } else {
                        page.to_string()
                    },
                ),
            ],
        )
    }

    fn filtered(&self) -> bool {
        !self.name.is_empty()
            || self.device_type.is_some()
            || self.device_group.is_some()
            || self.status.is_some()
            || self.enabled.is_some()
    }
}

/// `(id, name)` options of the small lookup tables.
pub(super) struct Choices {
    pub types: Vec<(String, String)>,
    pub groups: Vec<(String, String)>,
    pub credentials: Vec<(String, String)>,
    pub locations: Vec<(String, String)>,
    pub collection_groups: Vec<(String, String)>,
}

const ALL: Page = Page {
    limit: 10_000,
    offset: 0,
};

impl Choices {
    pub async fn load(state: &Shared, full: bool) -> WebResult<Self> {
        let db = &state.db;
        let types = db
            .list_device_types(ALL)
            .await?
            .rows
            .into_iter()
            .map(|t| (t.id.to_string(), t.name))
            .collect();
        let groups = db
            .list_device_groups(ALL)
            .await?
            .rows
            .into_iter()
            .map(|g| (g.id.to_string(), g.name))
            .collect();
        let (credentials, locations, collection_groups) = if full {
            (
                db.list_credentials(ALL)
                    .await?
                    .rows
                    .into_iter()
                    .map(|c| (c.id.to_string(), format!("{} ({})", c.name, c.username)))
                    .collect(),
                db.list_locations(ALL)
                    .await?
                    .rows
                    .into_iter()
                    .map(|l| {
                        (
                            l.id.to_string(),
                            format!("{} ({})", l.name, l.location_type.as_str()),
                        )
                    })
                    .collect(),
                db.list_collection_groups()
                    .await?
                    .into_iter()
                    .map(|g| (g.id.to_string(), g.name))
                    .collect(),
            )
        } else {
            Default::default()
        };
        Ok(Self {
            types,
            groups,
            credentials,
            locations,
            collection_groups,
        })
    }
}

fn job_url(ti: &str) -> String {
    format!("/jobs/{}", enc(ti))
}

/// The status cell of a device: its last job's state and when.
pub(super) fn status_cell(row: &DeviceRow) -> String {
    let s = LastStatus::of(row.last_job.as_ref());
    match &row.last_job {
        None => html::status_badge(s),
        Some(j) => {
            let state = j.state.as_str();
            let mut h = format!(
                r#"<a href="{}" class="status-link" title="{}">{}</a> <span class="muted small">{}</span>"#,
                esc(&job_url(&j.task_identifier)),
                esc(j.reason.as_deref().unwrap_or("open the job's log")),
                html::state_badge(state),
                esc(&html::ago(&j.updated_at)),
            );
            if let Some(r) = &j.reason {
                let short: String = r.chars().take(90).collect();
                let _ = write!(h, r#"<div class="reason small">{}</div>"#, esc(&short));
            }
            h
        }
    }
}

/// The "Backup now" button; the script shows the job's progress in
/// `#status-<id>`, and without the script the form leads to the job page.
pub(super) fn backup_button(ctx: &Ctx, device: &Device) -> String {
    if !device.fields.enabled {
        return r#"<button type="button" class="small" disabled title="Enable the device to back it up">Backup now</button>"#.into();
    }
    format!(
        r#"<form method="post" action="/devices/{id}/backup" class="inline js-backup" data-status="status-{id}">{}<button type="submit" class="small primary">Backup now</button></form>"#,
        ctx.csrf_field(),
        id = device.id
    )
}

async fn list(Session(ctx): Session, State(state): State<Shared>, uri: Uri) -> WebResult<Response> {
    let q = query(&uri);
    let p = ListParams::parse(&q);
    let listed = state
        .db
        .device_rows(
            &p.query(),
            &ctx.scope,
            Page {
                limit: p.size,
                offset: (p.page - 1).saturating_mul(p.size),
            },
        )
        .await?;
    let choices = Choices::load(&state, false).await?;
    let mut b = String::new();
    let actions = if ctx.user.is_admin {
        r#"<a class="button primary" href="/devices/new">Add device</a>"#
    } else {
        ""
    };
    b.push_str(&heading("Devices", actions));
    if let Some(msg) = flash(q.get("flash")) {
        b.push_str(&notice("ok", msg));
    }

    // Filters: a GET form, so every filtered view is a link.
    let status_opts: Vec<(String, String)> = LastStatus::ALL
        .iter()
        .map(|s| {
            (
                s.as_str().to_owned(),
                match s {
                    LastStatus::Never => "Never backed up",
                    LastStatus::Running => "In progress",
                    LastStatus::Stored => "Stored",
                    LastStatus::Failed => "Failed",
                }
                .to_owned(),
            )
        })
        .collect();
    let enabled_opts = vec![
        ("yes".to_owned(), "Enabled".to_owned()),
        ("no".to_owned(), "Disabled".to_owned()),
    ];
    let none = Errors::default();
    let opt_id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let _ = write!(
        b,
        r#"<form method="get" action="/devices" class="filters" role="search" aria-label="Filter devices">{}{}{}{}{}"#,
        field(
            "name",
            "Name contains",
            "",
            &text_input(&p.name, r#"type="search" placeholder="e.g. core""#),
            &none
        )
        .replace(r#"type="text" "#, ""),
        field(
            "type",
            "Type",
            "",
            &select(&choices.types, &opt_id(p.device_type), Some("Any type")),
            &none
        ),
        field(
            "group",
            "Group",
            "",
            &select(&choices.groups, &opt_id(p.device_group), Some("Any group")),
            &none
        ),
        field(
            "status",
            "Last status",
            "",
            &select(
                &status_opts,
                p.status.map(|s| s.as_str()).unwrap_or(""),
                Some("Any status")
            ),
            &none
        ),
        field(
            "enabled",
            "Enabled",
            "",
            &select(
                &enabled_opts,
                match p.enabled {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "",
                },
                Some("All")
            ),
            &none
        ),
    );
    if p.sort != DeviceSort::Name {
        let _ = write!(
            b,
            r#"<input type="hidden" name="sort" value="{}">"#,
            p.sort.as_str()
        );
    }
    if p.desc {
        b.push_str(r#"<input type="hidden" name="dir" value="desc">"#);
    }
    if p.size != 50 {
        let _ = write!(b, r#"<input type="hidden" name="size" value="{}">"#, p.size);
    }
    b.push_str(r#"<div class="filter-buttons"><button type="submit">Filter</button>"#);
    if p.filtered() {
        b.push_str(r#" <a href="/devices" class="button subtle">Clear</a>"#);
    }
    b.push_str("</div></form>");

    if listed.total == 0 {
        if p.filtered() {
            b.push_str(&html::empty(
                "No device matches these filters.",
                r#"<a href="/devices">Clear the filters</a> to see every device."#,
            ));
        } else if ctx.user.is_admin {
            b.push_str(&html::empty(
                "No devices yet.",
                r#"<a href="/devices/new">Add the first device</a>. It needs a <a href="/admin/locations">backup location</a> and a <a href="/admin/credentials">credential</a> to be backed up."#,
            ));
        } else {
            b.push_str(&html::empty(
                "No devices yet.",
                "An administrator adds devices; they will appear here.",
            ));
        }
        return Ok(html_page(&ctx, "Devices", Nav::Devices, &b));
    }

    let sort_key = p.sort.as_str();
    let th = |label: &str, key: DeviceSort| {
        html::sort_th(label, key.as_str(), sort_key, p.desc, |_, desc| {
            p.href(key, desc, 1)
        })
    };
    let _ = write!(
        b,
        r#"<div class="table-wrap"><table class="list devices"><caption class="sr-only">Devices, sorted by {sort_key}{}</caption><thead><tr>{}{}{}{}{}{}{}<th scope="col">Actions</th></tr></thead><tbody>"#,
        if p.desc { ", descending" } else { "" },
        th("Name", DeviceSort::Name),
        th("Address", DeviceSort::Address),
        th("Driver", DeviceSort::Driver),
        th("Type", DeviceSort::DeviceType),
        th("Group", DeviceSort::DeviceGroup),
        th("Enabled", DeviceSort::Enabled),
        th("Last backup", DeviceSort::LastStatus),
    );
    for row in &listed.rows {
        let d = &row.device;
        let f = &d.fields;
        let _ = write!(
            b,
            r#"<tr data-device="{id}"><td class="c-name"><a href="/devices/{id}" class="strong">{name}</a></td><td class="c-meta mono">{addr}:{port}</td><td class="c-meta">{driver}</td>{ty}{group}{enabled}<td class="status" id="status-{id}" aria-live="polite">{status}</td><td class="row-actions">{backup}"#,
            id = d.id,
            name = esc(&f.name),
            addr = esc(&f.address),
            port = f.port,
            driver = esc(&f.driver),
            ty = optional_cell(row.device_type.as_deref()),
            group = optional_cell(row.device_group.as_deref()),
            enabled = if f.enabled {
                r#"<td class="c-meta c-yes">Yes</td>"#
            } else {
                r#"<td class="c-meta"><span class="badge none">disabled</span></td>"#
            },
            status = status_cell(row),
            backup = backup_button(&ctx, d),
        );
        if ctx.user.is_admin {
            let _ = write!(
                b,
                r#" <a href="/devices/{}/edit" class="button small subtle">Edit</a> "#,
                d.id
            );
            b.push_str(&html::post_button(
                &ctx,
                &format!("/devices/{}/enabled", d.id),
                if f.enabled { "Disable" } else { "Enable" },
                "small subtle",
                None,
                &[
                    ("enabled", if f.enabled { "no" } else { "yes" }),
                    ("back", &uri.to_string()),
                ],
            ));
        }
        b.push_str("</td></tr>\n");
    }
    b.push_str("</tbody></table></div>");
    b.push_str(r#"<div class="list-foot">"#);
    b.push_str(&html::pagination(p.page, p.size, listed.total, |page| {
        p.href(p.sort, p.desc, page)
    }));
    let _ = write!(
        b,
        r#"<form method="get" action="/devices" class="page-size"><label for="page-size">Per page</label> <select id="page-size" name="size" class="js-autosubmit">{}</select>"#,
        PAGE_SIZES
            .iter()
            .map(|s| format!(
                r#"<option value="{s}"{}>{s}</option>"#,
                if *s == p.size { " selected" } else { "" }
            ))
            .collect::<String>()
    );
    for (k, v) in [
        ("name", p.name.clone()),
        ("type", opt_id(p.device_type)),
        ("group", opt_id(p.device_group)),
        (
            "status",
            p.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        ),
        (
            "enabled",
            match p.enabled {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => String::new(),
            },
        ),
        (
            "sort",
            if p.sort == DeviceSort::Name {
                String::new()
            } else {
                p.sort.as_str().into()
            },
        ),
        ("dir", if p.desc { "desc".into() } else { String::new() }),
    ] {
        if !v.is_empty() {
            let _ = write!(b, r#"<input type="hidden" name="{k}" value="{}">"#, esc(&v));
        }
    }
    b.push_str(
        r#" <button type="submit" class="small subtle js-hide">Apply</button></form></div>"#,
    );
    Ok(html_page(&ctx, "Devices", Nav::Devices, &b))
}

/// A type or group cell; empty ones are dropped from the narrow layout.
fn optional_cell(v: Option<&str>) -> String {
    match v {
        Some(v) => format!(r#"<td class="c-meta nowrap">{}</td>"#, esc(v)),
        None => r#"<td class="c-meta c-none"><span class="muted">—</span></td>"#.into(),
    }
}

/// Fixed messages shown after a redirect (never text from the URL).
pub(super) fn flash(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => "Device added.",
        "saved" => "Device saved.",
        "deleted" => {
            "Device archived: it is no longer backed up; its history stays (Administration → Archived devices)."
        }
        "restored" => "Device restored with its history.",
        "purged" => "Device purged with its history.",
        "enabled" => "Device enabled.",
        "disabled" => "Device disabled.",
        _ => return None,
    })
}

// ---- the device form ---------------------------------------------------------------

/// What the form shows: the submitted or stored values.
#[derive(Debug, Clone, Default)]
struct DeviceForm {
    name: String,
    address: String,
    port: String,
    driver: String,
    credential: String,
    backup_location: String,
    collection_group: String,
    device_group: String,
    device_type: String,
    enabled: bool,
}

impl DeviceForm {
    fn of(d: &Device) -> Self {
        let f = &d.fields;
        let id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        Self {
            name: f.name.clone(),
            address: f.address.clone(),
            port: f.port.to_string(),
            driver: f.driver.clone(),
            credential: id(f.credential),
            backup_location: id(f.backup_location),
            collection_group: id(f.collection_group),
            device_group: id(f.device_group),
            device_type: id(f.device_type),
            enabled: f.enabled,
        }
    }

    fn from_form(f: &Form) -> Self {
        Self {
            name: f.get("name").trim().to_owned(),
            address: f.get("address").trim().to_owned(),
            port: f.get("port").trim().to_owned(),
            driver: f.get("driver").to_owned(),
            credential: f.get("credential").to_owned(),
            backup_location: f.get("backup_location").to_owned(),
            collection_group: f.get("collection_group").to_owned(),
            device_group: f.get("device_group").to_owned(),
            device_type: f.get("device_type").to_owned(),
            enabled: f.checked("enabled"),
        }
    }

    /// Checks every field, as the API does, and names each problem.
    async fn validate(&self, state: &Shared) -> WebResult<Result<DeviceFields, Errors>> {
        let mut e = Errors::default();
        if self.name.is_empty() {
            e.add("name", "A name is required.");
        } else if self.name.len() > 200 {
            e.add("name", "At most 200 characters.");
        } else if self.name.chars().any(char::is_control) {
            e.add("name", "No control characters.");
        }
        if self.address.is_empty() {
            e.add("address", "A host name or IP address is required.");
        } else if self
            .address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            e.add("address", "A host name or IP address, without spaces.");
        }
        let port = match self.port.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => {
                e.add("port", "A port number between 1 and 65535.");
                0
            }
        };
        if state.drivers.get(&self.driver).is_err() {
            e.add("driver", "Choose a driver from the list.");
        }
        let db = &state.db;
        let mut id = |field: &str, v: &str| -> Option<i64> {
            if v.is_empty() {
                return None;
            }
            match v.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    e.add(field, "Choose an entry from the list.");
                    None
                }
            }
        };
        let credential = id("credential", &self.credential);
        let backup_location = id("backup_location", &self.backup_location);
        let collection_group = id("collection_group", &self.collection_group);
        let device_group = id("device_group", &self.device_group);
        let device_type = id("device_type", &self.device_type);
        fn gone<T>(r: Result<T, DbError>, e: &mut Errors, field: &str) -> WebResult<()> {
            match r {
                Ok(_) => Ok(()),
                Err(DbError::NotFound { .. }) => {
                    e.add(field, "This entry no longer exists; choose another.");
                    Ok(())
                }
                Err(other) => Err(other.into()),
            }
        }
        if let Some(i) = credential {
            gone(db.credential(i).await, &mut e, "credential")?;
        }
        if let Some(i) = backup_location {
            gone(db.location(i).await, &mut e, "backup_location")?;
        }
        if let Some(i) = collection_group {
            gone(db.collection_group(i).await, &mut e, "collection_group")?;
        }
        if let Some(i) = device_group {
            gone(db.device_group(i).await, &mut e, "device_group")?;
        }
        if let Some(i) = device_type {
            gone(db.device_type(i).await, &mut e, "device_type")?;
        }
        if !e.is_empty() {
            return Ok(Err(e));
        }
        Ok(Ok(DeviceFields {
            name: self.name.clone(),
            address: self.address.clone(),
            port,
            driver: self.driver.clone(),
            credential,
            backup_location,
            collection_group,
            device_group,
            device_type,
            enabled: self.enabled,
        }))
    }
}

async fn form_page(
    state: &Shared,
    ctx: &Ctx,
    device: Option<&Device>,
    v: &DeviceForm,
    errors: &Errors,
) -> WebResult<Response> {
    let c = Choices::load(state, true).await?;
    let mut drivers: Vec<(String, String)> = state
        .drivers
        .iter()
        .map(|d| (d.name.clone(), format!("{} — {}", d.name, d.description)))
        .collect();
    drivers.sort();
    let (title, action) = match device {
        Some(d) => (
            format!("Edit {}", d.fields.name),
            format!("/devices/{}/edit", d.id),
        ),
        None => ("Add a device".to_owned(), "/devices/new".to_owned()),
    };
    let mut b = heading(&title, "");
    b.push_str(&errors.summary());
    let _ = write!(
        b,
        r#"<form method="post" action="{}" class="form" novalidate>{}"#,
        esc(&action),
        ctx.csrf_field()
    );
    b.push_str(r#"<fieldset><legend>Device</legend><div class="grid">"#);
    b.push_str(&field(
        "name",
        "Name",
        "Unique; used in file names in the repository.",
        &text_input(&v.name, r#"required maxlength="200" autocomplete="off""#),
        errors,
    ));
    b.push_str(&field(
        "address",
        "Address",
        "Host name or IP address.",
        &text_input(&v.address, "required"),
        errors,
    ));
    b.push_str(&field(
        "port",
        "SSH port",
        "",
        &text_input(
            if v.port.is_empty() { "22" } else { &v.port },
            r#"inputmode="numeric" required"#,
        ),
        errors,
    ));
    b.push_str(&field(
        "driver",
        "Driver",
        "The device's platform.",
        &select(&drivers, &v.driver, Some("Choose…")),
        errors,
    ));
    b.push_str("</div></fieldset>");
    b.push_str(r#"<fieldset><legend>Backup</legend><div class="grid">"#);
    let none_hint =
        |what: &str, href: &str| format!(r#"None yet: <a href="{href}">add a {what}</a> first."#);
    b.push_str(&field(
        "credential",
        "Credential",
        &if c.credentials.is_empty() {
            none_hint("credential", "/admin/credentials")
        } else {
            "Login used to collect the configuration.".into()
        },
        &select(&c.credentials, &v.credential, Some("None")),
        errors,
    ));
    b.push_str(&field(
        "backup_location",
        "Backup location",
        &if c.locations.is_empty() {
            none_hint("backup location", "/admin/locations")
        } else {
            "Where versions are stored.".into()
        },
        &select(&c.locations, &v.backup_location, Some("None")),
        errors,
    ));
    b.push_str(&field(
        "collection_group",
        "Collection group",
        "Which collectors reach it (none: the default group).",
        &select(&c.collection_groups, &v.collection_group, Some("Default")),
        errors,
    ));
    b.push_str("</div></fieldset>");
    b.push_str(r#"<fieldset><legend>Organisation</legend><div class="grid">"#);
    b.push_str(&field(
        "device_group",
        "Device group",
        "",
        &select(&c.groups, &v.device_group, Some("None")),
        errors,
    ));
    b.push_str(&field(
        "device_type",
        "Device type",
        "",
        &select(&c.types, &v.device_type, Some("None")),
        errors,
    ));
    b.push_str("</div>");
    b.push_str(&checkbox(
        "enabled",
        "Enabled (backed up by schedules and “Backup now”)",
        v.enabled,
    ));
    b.push_str("</fieldset>");
    let cancel = match device {
        Some(d) => format!("/devices/{}", d.id),
        None => "/devices".into(),
    };
    let _ = write!(
        b,
        r#"<div class="buttons"><button type="submit" class="primary">{}</button> <a href="{}" class="button subtle">Cancel</a></div></form>"#,
        if device.is_some() {
            "Save"
        } else {
            "Add device"
        },
        esc(&cancel)
    );
    if let Some(d) = device {
        b.push_str(r#"<section class="danger-zone"><h2>Delete</h2><p>Deleting a device archives it: it leaves the lists and schedules and is no longer backed up; its whole history stays readable by administrators, and it can be restored.</p>"#);
        b.push_str(&html::post_button(
            ctx,
            &format!("/devices/{}/delete", d.id),
            "Delete (archive) device",
            "danger",
            Some(&format!(
                "Archive {}? It will no longer be backed up; its history stays.",
                d.fields.name
            )),
            &[],
        ));
        b.push_str("</section>");
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, html_page(ctx, &title, Nav::Devices, &b)).into_response())
}

async fn new_form(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
) -> WebResult<Response> {
    let v = DeviceForm {
        port: "22".into(),
        enabled: true,
        ..Default::default()
    };
    form_page(&state, &ctx, None, &v, &Errors::default()).await
}

async fn create(State(state): State<Shared>, p: AdminPosted) -> WebResult<Response> {
    let v = DeviceForm::from_form(&p.form);
    let fields = match v.validate(&state).await? {
        Ok(f) => f,
        Err(e) => return form_page(&state, &p.ctx, None, &v, &e).await,
    };
    match state.db.create_device(&fields).await {
        Ok(d) => Ok(Redirect::to(&format!("/devices/{}?flash=created", d.id)).into_response()),
        Err(DbError::Conflict(_)) => {
            let mut e = Errors::default();
            e.add("name", "A device with this name exists already.");
            form_page(&state, &p.ctx, None, &v, &e).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn edit_form(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let d = state.db.device(id).await?;
    form_page(
        &state,
        &ctx,
        Some(&d),
        &DeviceForm::of(&d),
        &Errors::default(),
    )
    .await
}

async fn update(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let d = state.db.device(id).await?;
    let v = DeviceForm::from_form(&p.form);
    let fields = match v.validate(&state).await? {
        Ok(f) => f,
        Err(e) => return form_page(&state, &p.ctx, Some(&d), &v, &e).await,
    };
    match state.db.update_device(id, &fields).await {
        Ok(_) => Ok(Redirect::to(&format!("/devices/{id}?flash=saved")).into_response()),
        Err(DbError::Conflict(_)) => {
            let mut e = Errors::default();
            e.add("name", "A device with this name exists already.");
            form_page(&state, &p.ctx, Some(&d), &v, &e).await
        }
        Err(other) => Err(other.into()),
    }
}

/// Only a path of this site may be returned to.
fn back_to(form: &Form, default: &str) -> String {
    let back = form.get("back");
    if super::session::is_local_path(back) {
        back.to_owned()
    } else {
        default.to_owned()
    }
}

async fn set_enabled(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let d = state.db.device(id).await?;
    let enabled = match p.form.get("enabled") {
        "yes" => true,
        "no" => false,
        _ => return Err(WebError::bad_request("enabled must be yes or no").with_ctx(p.ctx)),
    };
    let mut fields = d.fields.clone();
    fields.enabled = enabled;
    state.db.update_device(id, &fields).await?;
    let back = back_to(&p.form, &format!("/devices/{id}"));
    let code = if enabled { "enabled" } else { "disabled" };
    let sep = if back.contains('?') { '&' } else { '?' };
    let back = if back.contains("flash=") {
        back
    } else {
        format!("{back}{sep}flash={code}")
    };
    Ok(Redirect::to(&back).into_response())
}

async fn delete(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let d = state
        .db
        .archive_device(id)
        .await
        .map_err(|e| WebError::from(e).with_ctx(p.ctx.clone()))?;
    tracing::info!(admin = %p.ctx.user.username, device_id = id, device = %d.fields.name, "device archived from the web UI");
    Ok(Redirect::to("/devices?flash=deleted").into_response())
}

async fn restore(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let d = state
        .db
        .restore_device(id)
        .await
        .map_err(|e| WebError::from(e).with_ctx(p.ctx.clone()))?;
    tracing::info!(admin = %p.ctx.user.username, device_id = id, device = %d.fields.name, "device restored from the web UI");
    Ok(Redirect::to(&format!("/devices/{id}?flash=restored")).into_response())
}

/// The confirmation page of a purge: what will be destroyed, counted.
async fn purge_form(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let d = state
        .db
        .device(id)
        .await
        .map_err(|e| WebError::from(e).with_ctx(ctx.clone()))?;
    let n = state.db.device_history_counts(id).await?;
    let mut b = format!(
        r#"<p class="crumbs"><a href="/admin/archived-devices">Archived devices</a> ›</p>{}"#,
        heading(&format!("Purge {}", d.fields.name), "")
    );
    let _ = write!(
        b,
        r#"<section class="danger-zone"><p>Purging destroys the device and its whole history in the index: <strong>{} stored versions</strong>, {} collection results and {} jobs. The files already written to the backup location stay there, but DeviceVault will no longer list, show or download them. This cannot be undone.</p>"#,
        html::count(n.stored_backups),
        html::count(n.results),
        html::count(n.jobs)
    );
    b.push_str(&html::post_button(
        &ctx,
        &format!("/devices/{id}/purge"),
        &format!("Purge {} and {} versions", d.fields.name, n.stored_backups),
        "danger",
        None,
        &[("confirm", "yes")],
    ));
    b.push_str("</section>");
    Ok(html_page(&ctx, "Purge a device", Nav::Admin, &b))
}

async fn purge(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    if p.form.get("confirm") != "yes" {
        return Ok(Redirect::to(&format!("/devices/{id}/purge")).into_response());
    }
    let d = state
        .db
        .device(id)
        .await
        .map_err(|e| WebError::from(e).with_ctx(p.ctx.clone()))?;
    let n = state.db.purge_device(id).await?;
    tracing::warn!(
        admin = %p.ctx.user.username, device_id = id, device = %d.fields.name,
        stored_backups = n.stored_backups, results = n.results, jobs = n.jobs,
        "device purged with its history from the web UI"
    );
    Ok(Redirect::to("/admin/archived-devices?flash=purged").into_response())
}

/// Archived devices, with restore and purge (administrators).
async fn archived(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
    uri: Uri,
) -> WebResult<Response> {
    let q = query(&uri);
    let page = q.get("page").parse::<i64>().unwrap_or(1).max(1);
    let listed = state
        .db
        .list_devices(
            &DeviceFilter {
                archived: true,
                ..DeviceFilter::default()
            },
            &ctx.scope,
            Page {
                limit: 100,
                offset: (page - 1) * 100,
            },
        )
        .await?;
    let mut b = String::new();
    if let Some(m) = flash(q.get("flash")) {
        b.push_str(&notice("ok", m));
    }
    b.push_str(r#"<p class="muted">Deleted devices are archived: not backed up, not in lists or schedules, their history kept. Open one to read its versions.</p>"#);
    if listed.rows.is_empty() {
        b.push_str(&html::empty(
            "No archived devices.",
            "Deleting a device archives it.",
        ));
    } else {
        b.push_str(r#"<div class="table-wrap"><table class="list"><thead><tr><th scope="col">Name</th><th scope="col">Address</th><th scope="col">Archived</th><th scope="col">Actions</th></tr></thead><tbody>"#);
        for d in &listed.rows {
            let _ = write!(
                b,
                r#"<tr><td><a href="/devices/{id}">{}</a></td><td class="mono">{}</td><td>{}</td><td>{} <a class="button small subtle" href="/devices/{id}/purge">Purge…</a></td></tr>"#,
                esc(&d.fields.name),
                esc(&d.fields.address),
                d.archived_at.as_deref().map(html::time).unwrap_or_default(),
                html::post_button(
                    &ctx,
                    &format!("/devices/{}/restore", d.id),
                    "Restore",
                    "small",
                    None,
                    &[]
                ),
                id = d.id,
            );
        }
        b.push_str("</tbody></table></div>");
    }
    Ok(super::admin::archive_page(&ctx, &b))
}

// ---- backup now and job progress ------------------------------------------------------

async fn backup_now(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    p: Posted,
) -> Response {
    let json = wants_json(&headers);
    let fail = |status: StatusCode, title: &str, detail: String| -> Response {
        if json {
            (
                status,
                axum::Json(json!({"error": title, "detail": detail})),
            )
                .into_response()
        } else {
            WebError::new(status, title, detail)
                .with_ctx(p.ctx.clone())
                .into_response()
        }
    };
    if let Err(e) = check_device(&state, &p.ctx, id).await {
        return fail(e.status, &e.title, e.detail);
    }
    let device = match state.db.device(id).await {
        Ok(d) => d,
        Err(e) => {
            let e = WebError::from(e);
            return fail(e.status, &e.title, e.detail);
        }
    };
    match state.pipeline.backup_now(&device).await {
        Ok(a) => {
            tracing::info!(user = %p.ctx.user.username, device_id = id, task_identifier = %a.task_identifier, "backup now from the web UI");
            if json {
                (
                    StatusCode::ACCEPTED,
                    axum::Json(json!({
                        "task_identifier": a.task_identifier,
                        "state": "queued",
                        "state_url": format!("{}/state", job_url(&a.task_identifier)),
                        "job_url": job_url(&a.task_identifier),
                    })),
                )
                    .into_response()
            } else {
                Redirect::to(&job_url(&a.task_identifier)).into_response()
            }
        }
        Err(DispatchError::NotReady(reason)) => {
            fail(StatusCode::CONFLICT, "Cannot back up this device", reason)
        }
        Err(DispatchError::Db(e)) => {
            let e = WebError::from(e);
            fail(e.status, &e.title, e.detail)
        }
    }
}

/// A job's state, for the page scripts that follow a backup.
async fn job_state(
    Session(ctx): Session,
    State(state): State<Shared>,
    Path(ti): Path<String>,
) -> Response {
    let job = match state.db.job(&ti).await {
        Ok(j) => match state.db.device_in_scope(&ctx.scope, j.device_id).await {
            Ok(true) => Ok(j),
            Ok(false) => Err(DbError::NotFound {
                what: format!("job {ti}"),
            }),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match job {
        Ok(j) => {
            let stored = if j.state.as_str() == "stored" {
                state.db.stored_backup_id_by_task(&ti).await.ok().flatten()
            } else {
                None
            };
            axum::Json(json!({
                "task_identifier": j.task_identifier,
                "device": j.device_id,
                "state": j.state.as_str(),
                "final": j.state.is_final(),
                "reason": j.reason,
                "updated_at": j.updated_at,
                "job_url": job_url(&ti),
                "stored_backup": stored,
                "view_url": stored.map(|s| format!("/backups/{s}")),
            }))
            .into_response()
        }
        Err(DbError::NotFound { .. }) => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "not_found", "detail": "no such job"})),
        )
            .into_response(),
        Err(e) => {
            let e = WebError::from(e);
            (
                e.status,
                axum::Json(json!({"error": e.title, "detail": e.detail})),
            )
                .into_response()
        }
    }
}
