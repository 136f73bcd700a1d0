//! The device list, the device form, enable/disable, delete, purge and
//! "Backup now".

use crate::web::Path;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use devicevault_db::dashboard::{DeviceQuery, DeviceRow, DeviceSort, LastStatus};
use devicevault_db::{DbError, Device, DeviceFilter, Listed, Page};
use devicevault_pipeline::app::bulk::{
    self as app_bulk, BulkAction, BulkError, BulkFilter, BulkInput, BulkOutcome,
};
use devicevault_pipeline::app::inventory::{DeviceInput, FieldErrors, device_name_taken};
use maud::{Markup, html};
use serde_json::json;

use super::html::{
    self, Control, Ctx, Input, Nav, checkbox, crumbs, enc, error_summary, field, heading, link,
    post_button, sort_th,
};
use super::session::{
    AdminPosted, AdminSession, Form, OperatorPosted, OperatorSession, Posted, Session,
    check_device, wants_json,
};
use super::{WebError, WebResult, form_status, html_page, query};
use crate::Shared;
use devicevault_pipeline::app::rights::{self, Right};
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
        .route("/devices/{id}/backup", post(backup_now))
        .route("/devices/bulk", post(bulk))
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
    /// Stale devices only (`yes`), or the others (`no`).
    pub stale: Option<bool>,
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
            enabled: parse_yes_no(q.get("enabled")),
            stale: parse_yes_no(q.get("stale")),
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
                stale: self.stale,
            },
            last_status: self.status,
            sort: self.sort,
            descending: self.desc,
        }
    }

    /// The filters and the order, as query parameters (empty: default).
    fn pairs(&self, sort: DeviceSort, desc: bool) -> Vec<(&'static str, String)> {
        let id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        vec![
            ("name", self.name.clone()),
            ("type", id(self.device_type)),
            ("group", id(self.device_group)),
            (
                "status",
                self.status
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            ("enabled", yes_no(self.enabled).to_owned()),
            ("stale", yes_no(self.stale).to_owned()),
            (
                "sort",
                if sort == DeviceSort::Name {
                    ""
                } else {
                    sort.as_str()
                }
                .to_owned(),
            ),
            ("dir", if desc { "desc" } else { "" }.to_owned()),
        ]
    }

    /// The link to this list with some parameters changed.
    fn href(&self, sort: DeviceSort, desc: bool, page: i64) -> String {
        let mut pairs = self.pairs(sort, desc);
        pairs.push((
            "size",
            if self.size == 50 {
                String::new()
            } else {
                self.size.to_string()
            },
        ));
        pairs.push((
            "page",
            if page == 1 {
                String::new()
            } else {
                page.to_string()
            },
        ));
        link("/devices", &pairs)
    }

    fn filtered(&self) -> bool {
        !self.name.is_empty()
            || self.device_type.is_some()
            || self.device_group.is_some()
            || self.status.is_some()
            || self.enabled.is_some()
            || self.stale.is_some()
    }
}

fn parse_yes_no(v: &str) -> Option<bool> {
    match v {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    }
}

const ALL: Page = Page {
    limit: 10_000,
    offset: 0,
};

/// `(id, name)` options of a lookup table.
type Options = Vec<(String, String)>;

fn options<T>(rows: Vec<T>, f: impl Fn(T) -> (i64, String)) -> Options {
    rows.into_iter()
        .map(|r| {
            let (id, name) = f(r);
            (id.to_string(), name)
        })
        .collect()
}

fn job_url(ti: &str) -> String {
    format!("/jobs/{}", enc(ti))
}

/// The status cell of a device: its last job's state and when.
pub(super) fn status_cell(row: &DeviceRow) -> Markup {
    html! {
        @if let Some(since) = &row.device.health.stale_since {
            span class="badge bad" title={ "No successful backup for too long; stale since " (since) } { "stale" }
            " "
        }
        @match &row.last_job {
            None => (html::state_badge(LastStatus::of(None).as_str())),
            Some(j) => {
                a href=(job_url(&j.task_identifier)) class="status-link"
                    title=(j.reason.as_deref().unwrap_or("open the job's log")) {
                    (html::state_badge(j.state.as_str()))
                }
                " " span class="muted small" { (html::ago(&j.updated_at)) }
                @if let Some(r) = &j.reason {
                    div class="reason small" { (r.chars().take(90).collect::<String>()) }
                }
            }
        }
    }
}

/// The "Backup now" button; the script shows the job's progress in
/// `#status-<id>`, and without the script the form leads to the job page.
pub(super) fn backup_button(ctx: &Ctx, device: &Device) -> Markup {
    html! {
        @if device.fields.enabled {
            form method="post" action={ "/devices/" (device.id) "/backup" } class="inline js-backup"
                data-status={ "status-" (device.id) } {
                (ctx.csrf_field())
                button type="submit" class="small primary" { "Backup now" }
            }
        } @else {
            button type="button" class="small" disabled title="Enable the device to back it up" { "Backup now" }
        }
    }
}

// ---- the list ----------------------------------------------------------------------------

/// What the device list shows.
struct ListView {
    params: ListParams,
    listed: Listed<DeviceRow>,
    types: Options,
    groups: Options,
    /// For an administrator's bulk "set": each kind's choices.
    bulk_values: Options,
    flash: Option<&'static str>,
    /// Where enable/disable lead back to.
    back: String,
}

async fn list(Session(ctx): Session, State(state): State<Shared>, uri: Uri) -> WebResult<Response> {
    let q = query(&uri);
    let params = ListParams::parse(&q);
    let page = Page {
        limit: params.size,
        offset: (params.page - 1).saturating_mul(params.size),
    };
    let device_query = params.query();
    let (listed, types, groups) = tokio::try_join!(
        state.db.device_rows(&device_query, &ctx.scope, page),
        state.db.list_device_types(ALL),
        state.db.list_device_groups(ALL),
    )?;
    let bulk_values = if ctx.may(Right::Operate) {
        bulk_value_options(&state, &groups.rows).await?
    } else {
        Vec::new()
    };
    let view = ListView {
        params,
        listed,
        bulk_values,
        types: options(types.rows, |t| (t.id, t.name)),
        groups: options(groups.rows, |g| (g.id, g.name)),
        flash: flash(q.get("flash")),
        back: uri.to_string(),
    };
    Ok(html_page(
        &ctx,
        StatusCode::OK,
        "Devices",
        Nav::Devices,
        render_list(&ctx, &view),
    ))
}

fn render_list(ctx: &Ctx, v: &ListView) -> Markup {
    let p = &v.params;
    let none = FieldErrors::default();
    let status_opts: Options = LastStatus::ALL
        .iter()
        .map(|s| {
            let label = match s {
                LastStatus::Never => "Never backed up",
                LastStatus::Running => "In progress",
                LastStatus::Stored => "Stored",
                LastStatus::Failed => "Failed",
            };
            (s.as_str().to_owned(), label.to_owned())
        })
        .collect();
    let enabled_opts: Options = vec![
        ("yes".into(), "Enabled".into()),
        ("no".into(), "Disabled".into()),
    ];
    let stale_opts: Options = vec![
        ("yes".into(), "Stale".into()),
        ("no".into(), "Not stale".into()),
    ];
    let id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let (type_id, group_id) = (id(p.device_type), id(p.device_group));
    let select = |name, label, options, selected, any| {
        field(
            name,
            label,
            html! {},
            Control::Select {
                options,
                selected,
                none: Some(any),
                class: None,
            },
            &none,
        )
    };
    let th = |label: &str, key: DeviceSort| {
        sort_th(label, key == p.sort, p.desc, |desc| p.href(key, desc, 1))
    };
    html! {
        (heading("Devices", html! {
            @if ctx.may(Right::Operate) { a class="button primary" href="/devices/new" { "Add device" } }
        }))
        (html::flash(v.flash))
        // Filters: a GET form, so every filtered view is a link.
        form method="get" action="/devices" class="filters" role="search" aria-label="Filter devices" {
            (field("name", "Name contains", html! {}, Control::Input(Input {
                kind: "search", placeholder: Some("e.g. core"), ..Input::TEXT
            }, &p.name), &none))
            (select("type", "Type", &v.types, &type_id, "Any type"))
            (select("group", "Group", &v.groups, &group_id, "Any group"))
            (select("status", "Last status", &status_opts, p.status.map(|s| s.as_str()).unwrap_or(""), "Any status"))
            (select("enabled", "Enabled", &enabled_opts, yes_no(p.enabled), "All"))
            (select("stale", "Staleness", &stale_opts, yes_no(p.stale), "All"))
            @if p.sort != DeviceSort::Name { input type="hidden" name="sort" value=(p.sort.as_str()); }
            @if p.desc { input type="hidden" name="dir" value="desc"; }
            @if p.size != 50 { input type="hidden" name="size" value=(p.size); }
            div class="filter-buttons" {
                button type="submit" { "Filter" }
                @if p.filtered() { " " a href="/devices" class="button subtle" { "Clear" } }
            }
        }
        @if v.listed.total == 0 {
            @if p.filtered() {
                (html::empty("No device matches these filters.", html! {
                    a href="/devices" { "Clear the filters" } " to see every device."
                }))
            } @else if ctx.may(Right::Operate) {
                (html::empty("No devices yet.", html! {
                    a href="/devices/new" { "Add the first device" } ". It needs a "
                    a href="/admin/locations" { "backup location" } " and a "
                    a href="/admin/credentials" { "credential" } " to be backed up."
                }))
            } @else {
                (html::no_devices_for(&ctx.scope))
            }
        } @else {
            (bulk_form(ctx, v))
            div class="table-wrap" {
                table class="list devices" {
                    caption class="sr-only" { "Devices, sorted by " (p.sort.as_str()) @if p.desc { ", descending" } }
                    thead { tr {
                        th scope="col" class="pick" { span class="sr-only" { "Select" } }
                        (th("Name", DeviceSort::Name)) (th("Address", DeviceSort::Address))
                        (th("Driver", DeviceSort::Driver)) (th("Type", DeviceSort::DeviceType))
                        (th("Group", DeviceSort::DeviceGroup)) (th("Enabled", DeviceSort::Enabled))
                        (th("Last backup", DeviceSort::LastStatus))
                        (th("Last success", DeviceSort::LastSuccess))
                        (th("Last change", DeviceSort::LastChange))
                        th scope="col" { "Actions" }
                    } }
                    tbody { @for row in &v.listed.rows { (device_row(ctx, row, &v.back)) } }
                }
            }
            div class="list-foot" {
                (html::pagination(p.page, p.size, v.listed.total, |page| p.href(p.sort, p.desc, page)))
                form method="get" action="/devices" class="page-size" {
                    label for="page-size" { "Per page" } " "
                    select id="page-size" name="size" class="js-autosubmit" {
                        @for s in PAGE_SIZES { option value=(s) selected[s == p.size] { (s) } }
                    }
                    @for (k, val) in p.pairs(p.sort, p.desc) {
                        @if !val.is_empty() { input type="hidden" name=(k) value=(val); }
                    }
                    " " button type="submit" class="small subtle js-hide" { "Apply" }
                }
            }
        }
    }
}

/// The kinds a bulk "set" chooses among, as `<kind>:<id>` (or
/// `<kind>:none`) values.
async fn bulk_value_options(
    state: &Shared,
    groups: &[devicevault_db::DeviceGroup],
) -> WebResult<Options> {
    let (locations, collection_groups, credentials) = tokio::try_join!(
        state.db.list_locations(ALL),
        state.db.list_collection_groups(),
        state.db.list_credentials(ALL),
    )?;
    let mut out: Options = vec![
        ("device_group:none".into(), "Device group: none".into()),
        (
            "collection_group:none".into(),
            "Collection group: default".into(),
        ),
        ("credential:none".into(), "Credential: none".into()),
        (
            "backup_location:none".into(),
            "Backup location: none".into(),
        ),
    ];
    out.extend(groups.iter().map(|g| {
        (
            format!("device_group:{}", g.id),
            format!("Device group: {}", g.name),
        )
    }));
    out.extend(collection_groups.iter().map(|g| {
        (
            format!("collection_group:{}", g.id),
            format!("Collection group: {}", g.name),
        )
    }));
    out.extend(credentials.rows.iter().map(|c| {
        (
            format!("credential:{}", c.id),
            format!("Credential: {}", c.name),
        )
    }));
    out.extend(locations.rows.iter().map(|l| {
        (
            format!("backup_location:{}", l.id),
            format!("Backup location: {}", l.name),
        )
    }));
    Ok(out)
}

/// The selection's actions: the rows' checkboxes belong to this form
/// (`form="bulk"`), so the rows' own buttons stay forms of their own. "All
/// matching" carries the list's filters. Readers may only back up.
fn bulk_form(ctx: &Ctx, v: &ListView) -> Markup {
    let p = &v.params;
    let mut actions: Vec<(BulkAction, &str)> = vec![(BulkAction::BackupNow, "Back up now")];
    if ctx.may(Right::Operate) {
        actions.extend([
            (BulkAction::Enable, "Enable"),
            (BulkAction::Disable, "Disable"),
            (BulkAction::SetDeviceGroup, "Set the device group"),
            (BulkAction::SetCollectionGroup, "Set the collection group"),
            (BulkAction::SetBackupLocation, "Set the backup location"),
            (BulkAction::SetCredential, "Set the credential"),
            (BulkAction::Archive, "Archive"),
        ]);
    }
    html! {
        form id="bulk" method="post" action="/devices/bulk" class="bulk-actions" aria-label="Selected devices" {
            (ctx.csrf_field())
            input type="hidden" name="back" value=(v.back);
            @for (k, val) in p.pairs(p.sort, p.desc) {
                @if !val.is_empty() { input type="hidden" name={ "filter_" (k) } value=(val); }
            }
            label class="inline-check" {
                input type="checkbox" name="all_matching" value="yes";
                " All " (html::count(v.listed.total)) " matching devices"
            }
            " "
            label for="bulk-action" class="sr-only" { "Action" }
            select id="bulk-action" name="action" {
                @for (a, label) in &actions { option value=(a.as_str()) { (label) } }
            }
            @if ctx.may(Right::Operate) {
                " "
                label for="bulk-value" class="sr-only" { "Value to set" }
                select id="bulk-value" name="value" {
                    option value="" { "(value for “Set …”)" }
                    @for (val, label) in &v.bulk_values { option value=(val) { (label) } }
                }
            }
            " " button type="submit" class="small" { "Apply to the selection" }
        }
    }
}

/// A bulk operation from the device list's form: the input for
/// `app::bulk`, then a page saying what it did.
async fn bulk(State(state): State<Shared>, p: Posted) -> WebResult<Response> {
    let f = &p.form;
    let Some(action) = BulkAction::parse(f.get("action")) else {
        return Err(
            WebError::bad_request("Choose an action for the selected devices.").with_ctx(p.ctx),
        );
    };
    let value = match f.get("value").split_once(':') {
        _ if !action.sets() => None,
        Some((kind, id)) if Some(kind) == bulk_kind(action) => match id {
            "none" => None,
            id => id.parse::<i64>().ok(),
        },
        _ => {
            return Err(WebError::bad_request(format!(
                "Choose the {} to set in the second list.",
                bulk_kind(action).unwrap_or("value").replace('_', " ")
            ))
            .with_ctx(p.ctx));
        }
    };
    let filter = |k: &str| f.get(&format!("filter_{k}")).to_owned();
    let all_matching = (f.get("all_matching") == "yes").then(|| BulkFilter {
        name: Some(filter("name")).filter(|n| !n.is_empty()),
        device_group: filter("group").parse().ok(),
        device_type: filter("type").parse().ok(),
        enabled: parse_yes_no(&filter("enabled")),
        stale: parse_yes_no(&filter("stale")),
        last_status: Some(filter("status")).filter(|s| !s.is_empty()),
    });
    let devices = if all_matching.is_some() {
        Vec::new()
    } else {
        f.0.iter()
            .filter(|(k, _)| k == "device")
            .filter_map(|(_, v)| v.parse::<i64>().ok())
            .collect()
    };
    let input = BulkInput {
        action,
        devices,
        all_matching,
        value,
    };
    let outcome = match app_bulk::run(&state, &p.ctx.user, &p.ctx.scope, &input).await {
        Ok(o) => o,
        Err(BulkError::Invalid(errors)) => {
            return Err(WebError::bad_request(errors.to_string()).with_ctx(p.ctx));
        }
        Err(BulkError::Denied(denied)) => {
            return Err(
                WebError::new(StatusCode::FORBIDDEN, "Not allowed", denied.to_string())
                    .with_ctx(p.ctx),
            );
        }
        Err(BulkError::Db(e)) => return Err(WebError::from(e).with_ctx(p.ctx)),
    };
    let back = back_to(f, "/devices");
    Ok(html_page(
        &p.ctx,
        StatusCode::OK,
        "Devices changed",
        Nav::Devices,
        render_bulk(&outcome, &back),
    ))
}

/// The reference kind a "set" action takes.
fn bulk_kind(action: BulkAction) -> Option<&'static str> {
    match action {
        BulkAction::SetDeviceGroup => Some("device_group"),
        BulkAction::SetCollectionGroup => Some("collection_group"),
        BulkAction::SetBackupLocation => Some("backup_location"),
        BulkAction::SetCredential => Some("credential"),
        _ => None,
    }
}

fn render_bulk(o: &BulkOutcome, back: &str) -> Markup {
    html! {
        (crumbs(&[("/devices", "Devices")]))
        (heading("Devices changed", html! {}))
        p {
            @if o.action == BulkAction::BackupNow {
                "Backup accepted for " strong { (html::count(o.changed as i64)) } " of "
                (html::count(o.matched as i64)) " selected devices."
            } @else {
                strong { (html::count(o.changed as i64)) } " of " (html::count(o.matched as i64))
                " selected devices changed (" (o.action.as_str().replace('_', " ")) ")."
            }
        }
        @if !o.refused.is_empty() {
            div class="table-wrap" {
                table class="list" {
                    thead { tr { th scope="col" { "Device" } th scope="col" { "Why it was not backed up" } } }
                    tbody { @for r in &o.refused {
                        tr { td { a href={ "/devices/" (r.device) } { "#" (r.device) } } td class="reason" { (r.reason) } }
                    } }
                }
            }
        }
        p { a href=(back) class="button" { "Back to the devices" } }
    }
}

/// One row of the list. Rendered for up to 200 devices a page: plain
/// maud, measured by `devicevault bench web`.
fn device_row(ctx: &Ctx, row: &DeviceRow, back: &str) -> Markup {
    let d = &row.device;
    let f = &d.fields;
    // A type or group; empty ones are dropped from the narrow layout.
    let optional = |v: Option<&str>| {
        html! {
            @if let Some(v) = v { td class="c-meta nowrap" { (v) } }
            @else { td class="c-meta c-none" { span class="muted" { "—" } } }
        }
    };
    html! {
        tr data-device=(d.id) {
            td class="pick" {
                input type="checkbox" name="device" value=(d.id) form="bulk"
                    aria-label={ "Select " (f.name) };
            }
            td class="c-name" { a href={ "/devices/" (d.id) } class="strong" { (f.name) } }
            td class="c-meta mono" { (f.address) ":" (f.port) }
            td class="c-meta" { (f.driver) }
            (optional(row.device_type.as_deref()))
            (optional(row.device_group.as_deref()))
            @if f.enabled { td class="c-meta c-yes" { "Yes" } }
            @else { td class="c-meta" { span class="badge none" { "disabled" } } }
            td class="status" id={ "status-" (d.id) } aria-live="polite" { (status_cell(row)) }
            td class="c-meta nowrap" {
                @if let Some(at) = &d.health.last_success_at {
                    span title=(at) { (html::ago(at)) }
                } @else { span class="muted" { "never" } }
            }
            td class="c-meta nowrap" {
                @if let Some(at) = &d.health.last_change_at {
                    span title=(at) { (html::ago(at)) }
                } @else { span class="muted" { "—" } }
            }
            td class="row-actions" {
                (backup_button(ctx, d))
                @if ctx.may(Right::Operate) {
                    " " a href={ "/devices/" (d.id) "/edit" } class="button small subtle" { "Edit" } " "
                    (post_button(ctx, &format!("/devices/{}/enabled", d.id),
                        if f.enabled { "Disable" } else { "Enable" }, "small subtle", None,
                        &[("enabled", if f.enabled { "no" } else { "yes" }), ("back", back)]))
                }
            }
        }
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

// ---- the device form ---------------------------------------------------------------------

/// A submitted device form as the application's input: an unparsable
/// port becomes 0 and an unparsable reference a nonexistent id, so the
/// one validator reports them.
fn device_input(f: &Form) -> DeviceInput {
    let id = |k: &str| match f.get(k).trim() {
        "" => None,
        v => Some(v.parse().unwrap_or(-1)),
    };
    // An unparsable number becomes one the validator refuses.
    let port = |k: &str| match f.get(k).trim() {
        "" => None,
        v => Some(v.parse().unwrap_or(0)),
    };
    let secs = |k: &str| match f.get(k).trim() {
        "" => None,
        v => Some(v.parse().unwrap_or(0)),
    };
    let text = |k: &str| Some(f.get(k).trim().to_owned()).filter(|v| !v.is_empty());
    DeviceInput {
        name: f.get("name").into(),
        address: f.get("address").into(),
        port: port("port"),
        driver: f.get("driver").into(),
        credential: id("credential"),
        backup_location: id("backup_location"),
        collection_group: id("collection_group"),
        device_group: id("device_group"),
        device_type: id("device_type"),
        enabled: f.checked("enabled"),
        transport: text("transport"),
        legacy_algorithms: match f.get("legacy_algorithms") {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        connect_timeout: secs("connect_timeout"),
        command_timeout: secs("command_timeout"),
        job_timeout: secs("job_timeout"),
        jump_host: text("jump_host"),
        jump_port: port("jump_port"),
        jump_credential: id("jump_credential"),
    }
}

/// The transports a device form offers.
fn transports() -> Options {
    vec![
        ("ssh".into(), "SSH".into()),
        ("telnet".into(), "Telnet (clear text)".into()),
    ]
}

/// A device's choice of legacy SSH algorithms (none: its type's).
fn legacy_choices() -> Options {
    vec![
        ("yes".into(), "Offer legacy algorithms".into()),
        ("no".into(), "Modern algorithms only".into()),
    ]
}

/// What the device form shows: the device (when editing), the values, the
/// choices and the errors.
struct FormView {
    device: Option<Device>,
    values: Form,
    errors: FieldErrors,
    drivers: Options,
    credentials: Options,
    locations: Options,
    collection_groups: Options,
    groups: Options,
    types: Options,
}

impl FormView {
    async fn load(
        state: &Shared,
        device: Option<Device>,
        values: Form,
        errors: FieldErrors,
    ) -> WebResult<Self> {
        let db = &state.db;
        let (credentials, locations, collection_groups, groups, types) = tokio::try_join!(
            db.list_credentials(ALL),
            db.list_locations(ALL),
            db.list_collection_groups(),
            db.list_device_groups(ALL),
            db.list_device_types(ALL),
        )?;
        let mut drivers: Options = state
            .drivers
            .iter()
            .map(|d| (d.name.clone(), format!("{} — {}", d.name, d.description)))
            .collect();
        drivers.sort();
        Ok(Self {
            device,
            values,
            errors,
            drivers,
            credentials: options(credentials.rows, |c| {
                (c.id, format!("{} ({})", c.name, c.username))
            }),
            locations: options(locations.rows, |l| {
                (l.id, format!("{} ({})", l.name, l.location_type.as_str()))
            }),
            collection_groups: options(collection_groups, |g| (g.id, g.name)),
            groups: options(groups.rows, |g| (g.id, g.name)),
            types: options(types.rows, |t| (t.id, t.name)),
        })
    }

    fn into_response(self, ctx: &Ctx) -> Response {
        let title = match &self.device {
            Some(d) => format!("Edit {}", d.fields.name),
            None => "Add a device".to_owned(),
        };
        let status = form_status(&self.errors);
        html_page(
            ctx,
            status,
            &title,
            Nav::Devices,
            render_form(ctx, &title, &self),
        )
    }
}

/// The values of a stored device's form.
fn values_of(d: &DeviceInput) -> Form {
    let id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let secs = id;
    Form(
        [
            ("name", d.name.clone()),
            ("address", d.address.clone()),
            ("port", d.port.map(|p| p.to_string()).unwrap_or_default()),
            ("driver", d.driver.clone()),
            ("credential", id(d.credential)),
            ("backup_location", id(d.backup_location)),
            ("collection_group", id(d.collection_group)),
            ("device_group", id(d.device_group)),
            ("device_type", id(d.device_type)),
            ("enabled", if d.enabled { "on" } else { "" }.into()),
            ("transport", d.transport.clone().unwrap_or_default()),
            (
                "legacy_algorithms",
                match d.legacy_algorithms {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "",
                }
                .into(),
            ),
            ("connect_timeout", secs(d.connect_timeout)),
            ("command_timeout", secs(d.command_timeout)),
            ("job_timeout", secs(d.job_timeout)),
            ("jump_host", d.jump_host.clone().unwrap_or_default()),
            (
                "jump_port",
                d.jump_port.map(|p| p.to_string()).unwrap_or_default(),
            ),
            ("jump_credential", id(d.jump_credential)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    )
}

fn render_form(ctx: &Ctx, title: &str, v: &FormView) -> Markup {
    let e = &v.errors;
    let val = |k| v.values.get(k);
    let select = |name, label, hint: Markup, options, none| {
        field(
            name,
            label,
            hint,
            Control::Select {
                options,
                selected: val(name),
                none: Some(none),
                class: None,
            },
            e,
        )
    };
    let (transports, legacy) = (transports(), legacy_choices());
    let none_yet =
        |what: &str, href: &str| html! { "None yet: " a href=(href) { "add a " (what) } " first." };
    let (action, cancel) = match &v.device {
        Some(d) => (
            format!("/devices/{}/edit", d.id),
            format!("/devices/{}", d.id),
        ),
        None => ("/devices/new".to_owned(), "/devices".to_owned()),
    };
    html! {
        (heading(title, html! {}))
        (error_summary(e))
        form method="post" action=(action) class="form" novalidate {
            (ctx.csrf_field())
            fieldset {
                legend { "Device" }
                div class="grid" {
                    (field("name", "Name", html! { "Unique; used in file names in the repository." },
                        Control::Input(Input { maxlength: Some(200), autocomplete: Some("off"), ..Input::REQUIRED }, val("name")), e))
                    (field("address", "Address", html! { "Host name or IP address." },
                        Control::Input(Input::REQUIRED, val("address")), e))
                    (field("port", "Port", html! { "Empty: 22 for SSH, 23 for Telnet." },
                        Control::Input(Input { inputmode: Some("numeric"), ..Input::TEXT }, val("port")), e))
                    (select("driver", "Driver", html! { "The device's platform." }, &v.drivers, "Choose…"))
                }
            }
            fieldset {
                legend { "Backup" }
                div class="grid" {
                    (select("credential", "Credential", if v.credentials.is_empty() {
                        none_yet("credential", "/admin/credentials")
                    } else { html! { "Login used to collect the configuration." } }, &v.credentials, "None (not backed up)"))
                    (select("backup_location", "Backup location", if v.locations.is_empty() {
                        none_yet("backup location", "/admin/locations")
                    } else { html! { "Where versions are stored." } }, &v.locations, "None (not backed up)"))
                    (select("collection_group", "Collection group",
                        html! { "Which collectors reach it (none: the default group)." }, &v.collection_groups, "Default"))
                }
            }
            fieldset {
                legend { "Connection" }
                div class="grid" {
                    (field("transport", "Transport", html! { "Telnet logs in with a password, directly." },
                        Control::Select { options: &transports, selected: val("transport"), none: None, class: None }, e))
                    (select("legacy_algorithms", "SSH algorithms", html! { "For old devices: SHA-1 key exchange, CBC ciphers, HMAC-SHA1." },
                        &legacy, "The device type's choice"))
                    (field("connect_timeout", "Connect timeout (s)", html! { "Empty: the device type's, else the collector's." },
                        Control::Input(Input { inputmode: Some("numeric"), ..Input::TEXT }, val("connect_timeout")), e))
                    (field("command_timeout", "Command timeout (s)", html! { "Empty: the device type's, else the collector's." },
                        Control::Input(Input { inputmode: Some("numeric"), ..Input::TEXT }, val("command_timeout")), e))
                    (field("job_timeout", "Job timeout (s)", html! { "Empty: the device type's, else 300." },
                        Control::Input(Input { inputmode: Some("numeric"), ..Input::TEXT }, val("job_timeout")), e))
                }
                div class="grid" {
                    (field("jump_host", "Jump host", html! { "An SSH server to reach the device through (like ProxyJump). Empty: direct." },
                        Control::Input(Input { autocomplete: Some("off"), ..Input::TEXT }, val("jump_host")), e))
                    (field("jump_port", "Jump host port", html! { "Empty: 22." },
                        Control::Input(Input { inputmode: Some("numeric"), ..Input::TEXT }, val("jump_port")), e))
                    (select("jump_credential", "Jump host credential", html! { "Its own login (none: the device's)." },
                        &v.credentials, "The device's"))
                }
            }
            fieldset {
                legend { "Organisation" }
                div class="grid" {
                    (select("device_group", "Device group", html! {}, &v.groups, "None"))
                    (select("device_type", "Device type", html! {}, &v.types, "None"))
                }
                (checkbox("enabled", "Enabled (backed up by schedules and “Backup now”)", v.values.checked("enabled")))
            }
            div class="buttons" {
                button type="submit" class="primary" { (if v.device.is_some() { "Save" } else { "Add device" }) }
                " " a href=(cancel) class="button subtle" { "Cancel" }
            }
        }
        @if let Some(d) = &v.device {
            section class="danger-zone" {
                h2 { "Delete" }
                p { "Deleting a device archives it: it leaves the lists and schedules and is no longer backed up; its whole history stays readable by administrators, and it can be restored." }
                (post_button(ctx, &format!("/devices/{}/delete", d.id), "Delete (archive) device", "danger",
                    Some(&format!("Archive {}? It will no longer be backed up; its history stays.", d.fields.name)), &[]))
            }
        }
    }
}

async fn new_form(
    OperatorSession(ctx): OperatorSession,
    State(state): State<Shared>,
) -> WebResult<Response> {
    let values = Form(vec![
        ("transport".into(), "ssh".into()),
        ("enabled".into(), "on".into()),
    ]);
    let mut view = FormView::load(&state, None, values, FieldErrors::default()).await?;
    // A device needs both to be backed up: start from the first of each
    // rather than from "none" (which stays a choice).
    for (field, options) in [
        ("credential", &view.credentials),
        ("backup_location", &view.locations),
    ] {
        if let Some((id, _)) = options.first() {
            view.values.0.push((field.to_owned(), id.clone()));
        }
    }
    Ok(view.into_response(&ctx))
}

/// Validates and saves a submitted form (a new device when `device` is
/// `None`); the form again with its errors otherwise.
async fn save(
    state: &Shared,
    ctx: &Ctx,
    device: Option<Device>,
    form: Form,
) -> WebResult<Response> {
    let input = device_input(&form);
    let errors = match input.validate(state).await? {
        Ok(fields) => {
            rights::require_device_change(
                &state.db,
                &ctx.user,
                &ctx.scope,
                device.as_ref().map(|d| d.id),
                Some(fields.device_group),
            )
            .await?
            .map_err(|e| WebError::from(e).with_ctx(ctx.clone()))?;
            let saved = match &device {
                None => state.db.create_device(&fields).await,
                Some(d) => state.db.update_device(d.id, &fields).await,
            };
            match saved {
                Ok(d) => {
                    let code = if device.is_some() { "saved" } else { "created" };
                    return Ok(
                        Redirect::to(&format!("/devices/{}?flash={code}", d.id)).into_response()
                    );
                }
                Err(DbError::Conflict(_)) => device_name_taken(&fields.name),
                Err(other) => return Err(other.into()),
            }
        }
        Err(e) => e,
    };
    Ok(FormView::load(state, device, form, errors)
        .await?
        .into_response(ctx))
}

async fn create(State(state): State<Shared>, p: OperatorPosted) -> WebResult<Response> {
    save(&state, &p.ctx, None, p.form).await
}

async fn edit_form(
    OperatorSession(ctx): OperatorSession,
    State(state): State<Shared>,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    changeable(&state, &ctx, id).await?;
    let d = state.db.device(id).await?;
    let values = values_of(&DeviceInput::of(&d.fields));
    let view = FormView::load(&state, Some(d), values, FieldErrors::default()).await?;
    Ok(view.into_response(&ctx))
}

/// Refuses a change of device `id` the user may not make where it is
/// (a device outside its scope is not found).
async fn changeable(state: &Shared, ctx: &Ctx, id: i64) -> WebResult<()> {
    check_device(state, ctx, id).await?;
    rights::require_device_change(&state.db, &ctx.user, &ctx.scope, Some(id), None)
        .await?
        .map_err(|e| WebError::from(e).with_ctx(ctx.clone()))
}

async fn update(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: OperatorPosted,
) -> WebResult<Response> {
    changeable(&state, &p.ctx, id).await?;
    let d = state.db.device(id).await?;
    save(&state, &p.ctx, Some(d), p.form).await
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
    p: OperatorPosted,
) -> WebResult<Response> {
    changeable(&state, &p.ctx, id).await?;
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
    p: OperatorPosted,
) -> WebResult<Response> {
    changeable(&state, &p.ctx, id).await?;
    let d = state
        .db
        .archive_device(id)
        .await
        .map_err(|e| WebError::from(e).with_ctx(p.ctx.clone()))?;
    tracing::info!(user = %p.ctx.user.username, device_id = id, device = %d.fields.name, "device archived from the web UI");
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
    let body = render_purge(&ctx, &d, [n.stored_backups, n.results, n.jobs]);
    Ok(html_page(
        &ctx,
        StatusCode::OK,
        "Purge a device",
        Nav::Admin,
        body,
    ))
}

/// `[stored versions, collection results, jobs]` of the device.
fn render_purge(ctx: &Ctx, d: &Device, [versions, results, jobs]: [i64; 3]) -> Markup {
    html! {
        (crumbs(&[("/admin/archived-devices", "Archived devices")]))
        (heading(&format!("Purge {}", d.fields.name), html! {}))
        section class="danger-zone" {
            p {
                "Purging destroys the device and its whole history in the index: "
                strong { (html::count(versions)) " stored versions" } ", "
                (html::count(results)) " collection results and " (html::count(jobs)) " jobs. "
                "The files already written to the backup location stay there, but DeviceVault will no longer list, show or download them. This cannot be undone."
            }
            (post_button(ctx, &format!("/devices/{}/purge", d.id),
                &format!("Purge {} and {versions} versions", d.fields.name), "danger", None,
                &[("confirm", "yes")]))
        }
    }
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

#[cfg(test)]
mod tests {
    use super::super::html::{attr_after, test_ctx};
    use super::*;
    use devicevault_db::DeviceFields;

    fn device(name: &str, enabled: bool) -> Device {
        Device {
            id: 4,
            fields: DeviceFields {
                name: name.into(),
                address: "10.0.0.4".into(),
                port: 22,
                driver: "cisco_ios".into(),
                credential: None,
                backup_location: None,
                collection_group: None,
                device_group: None,
                device_type: None,
                enabled,
                profile: Default::default(),
            },
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            archived_at: None,
            health: Default::default(),
        }
    }

    fn list(rows: Vec<DeviceRow>, query: &str) -> ListView {
        ListView {
            params: ListParams::parse(&Form::parse(query.as_bytes())),
            listed: Listed {
                total: rows.len() as i64,
                rows,
            },
            types: Vec::new(),
            groups: Vec::new(),
            bulk_values: vec![("device_group:3".into(), "Device group: core".into())],
            flash: None,
            back: "/devices".into(),
        }
    }

    #[test]
    fn a_reader_gets_backup_now_but_no_inventory_buttons() {
        let row = DeviceRow {
            device: device("<core & edge>", true),
            device_type: Some("ISR".into()),
            device_group: None,
            last_job: None,
        };
        let v = list(vec![row], "sort=address&dir=desc");
        let admin = render_list(&test_ctx(true), &v).into_string();
        assert!(admin.contains("Add device") && admin.contains(r#"href="/devices/4/edit""#));
        assert!(
            admin.contains(r#"class="strong">&lt;core &amp; edge&gt;</a>"#),
            "{admin}"
        );
        assert!(admin.contains(r#"aria-sort="descending""#), "{admin}");
        assert!(admin.contains(r#"<input type="hidden" name="sort" value="address">"#));
        let reader = render_list(&test_ctx(false), &v).into_string();
        assert!(reader.contains("Backup now") && !reader.contains("Add device"));
        assert!(
            !reader.contains("/edit") && !reader.contains(">Disable<"),
            "{reader}"
        );
    }

    #[test]
    fn the_selection_belongs_to_the_bulk_form_and_readers_may_only_back_up() {
        let row = DeviceRow {
            device: device("r1", true),
            device_type: None,
            device_group: None,
            last_job: None,
        };
        let v = list(vec![row], "name=r&status=failed");
        let admin = render_list(&test_ctx(true), &v).into_string();
        assert!(
            admin.contains(r#"<input type="checkbox" name="device" value="4" form="bulk" aria-label="Select r1">"#),
            "{admin}"
        );
        assert!(
            admin.contains(r#"<form id="bulk" method="post" action="/devices/bulk""#),
            "{admin}"
        );
        // "All matching" carries the list's filters.
        assert!(admin.contains(r#"name="filter_name" value="r""#), "{admin}");
        assert!(
            admin.contains(r#"name="filter_status" value="failed""#),
            "{admin}"
        );
        for action in BulkAction::ALL {
            assert!(
                admin.contains(&format!(r#"<option value="{}">"#, action.as_str())),
                "{action:?}"
            );
        }
        assert!(admin.contains(r#"<option value="device_group:3">Device group: core</option>"#));
        let reader = render_list(&test_ctx(false), &v).into_string();
        assert!(
            reader.contains(r#"<option value="backup_now">Back up now</option>"#),
            "{reader}"
        );
        assert!(!reader.contains(r#"value="archive""#) && !reader.contains(r#"name="value""#));
    }

    #[test]
    fn empty_lists_say_why() {
        let filtered = render_list(&test_ctx(true), &list(Vec::new(), "name=x")).into_string();
        assert!(filtered.contains("No device matches these filters."));
        let none = render_list(&test_ctx(false), &list(Vec::new(), "")).into_string();
        assert!(none.contains("An administrator adds devices"), "{none}");
    }

    #[test]
    fn unparsable_numbers_reach_the_validator_as_invalid_values() {
        let f = Form::parse(b"name=r1&port=http&credential=abc&device_type=&enabled=on");
        let i = device_input(&f);
        assert_eq!(
            (i.port, i.credential, i.device_type),
            (Some(0), Some(-1), None)
        );
        assert!(i.enabled);
        assert_eq!(device_input(&Form::parse(b"port=%2022%20")).port, Some(22));
    }

    #[test]
    fn the_form_keeps_what_was_typed_and_puts_each_error_next_to_its_field() {
        let mut errors = FieldErrors::default();
        errors.add("port", "must be between 1 and 65535");
        errors.add("credential", "credential -1 does not exist");
        let typed = Form::parse(b"name=%7Battrs%7D+%22r1%22&port=99999&credential=abc");
        let v = FormView {
            device: Some(device("{attrs}", false)),
            values: typed,
            errors,
            drivers: vec![("cisco_ios".into(), "cisco_ios — Cisco IOS".into())],
            credentials: Vec::new(),
            locations: Vec::new(),
            collection_groups: Vec::new(),
            groups: Vec::new(),
            types: Vec::new(),
        };
        let h = render_form(&test_ctx(true), "Edit {attrs}", &v).into_string();
        assert_eq!(attr_after(&h, r#"id="f-name""#, "value"), r#"{attrs} "r1""#);
        assert_eq!(attr_after(&h, r#"id="f-port""#, "value"), "99999");
        assert!(
            h.contains(r#"id="f-port-err">Must be between 1 and 65535.</p>"#),
            "{h}"
        );
        assert!(h.contains(r#"id="f-credential-err">Credential -1 does not exist.</p>"#));
        assert!(h.contains("None yet: <a href=\"/admin/credentials\">add a credential</a> first."));
        assert!(
            h.contains("Delete (archive) device"),
            "an existing device can be archived"
        );
    }
}
