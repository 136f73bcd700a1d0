//! Inventory routes: devices, backup locations, credentials, collection
//! groups, device groups and device types. Lists are paginated; PUT
//! replaces the writable fields, PATCH changes only the fields it names.

use std::collections::HashMap;
use std::path::Path as FsPath;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use devicevault_core::StorageBackendKind;
use devicevault_db::{
    BackupLocation, CollectionGroup, Credential, DbError, Device, DeviceFields, DeviceFilter,
    DeviceType, Named,
};
use devicevault_storage::StorageRoots;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    Admin, ApiError, ApiResult, Authed, Shared, bool_param, id_of, int_param, merge_patch,
    parse_body, query_of,
};

type IdPath = Result<Path<i64>, PathRejection>;
type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/devices/", get(list_devices).post(create_device))
        .route(
            "/api/devices/{id}/",
            get(get_device)
                .put(put_device)
                .patch(patch_device)
                .delete(delete_device),
        )
        .route(
            "/api/devices/{id}/restore/",
            axum::routing::post(restore_device),
        )
        .route(
            "/api/backup-locations/",
            get(list_locations).post(create_location),
        )
        .route(
            "/api/backup-locations/{id}/",
            get(get_location)
                .put(put_location)
                .patch(patch_location)
                .delete(delete_location),
        )
        .route(
            "/api/credentials/",
            get(list_credentials).post(create_credential),
        )
        .route(
            "/api/credentials/{id}/",
            get(get_credential)
                .put(put_credential)
                .patch(patch_credential)
                .delete(delete_credential),
        )
        .route(
            "/api/collection-groups/",
            get(list_collection_groups).post(create_collection_group),
        )
        .route(
            "/api/collection-groups/{id}/",
            get(get_collection_group)
                .put(put_collection_group)
                .patch(patch_collection_group)
                .delete(delete_collection_group),
        )
        .route(
            "/api/device-groups/",
            get(list_device_groups).post(create_device_group),
        )
        .route(
            "/api/device-groups/{id}/",
            get(get_device_group)
                .put(put_device_group)
                .patch(patch_device_group)
                .delete(delete_device_group),
        )
        .route(
            "/api/device-types/",
            get(list_device_types).post(create_device_type),
        )
        .route(
            "/api/device-types/{id}/",
            get(get_device_type)
                .put(put_device_type)
                .patch(patch_device_type)
                .delete(delete_device_type),
        )
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Read-only fields a client may send back from a GET; they are ignored.
fn without_read_only(mut v: Value, read_only: &[&str]) -> Value {
    if let Value::Object(m) = &mut v {
        for k in read_only {
            m.remove(*k);
        }
    }
    v
}

fn input<T: serde::de::DeserializeOwned>(v: Value, read_only: &[&str]) -> ApiResult<T> {
    serde_json::from_value(without_read_only(v, read_only))
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))
}

fn check_name(errors: &mut Vec<(&'static str, String)>, field: &'static str, name: &str) {
    if let Err(e) = devicevault_core::Name::parse(name) {
        errors.push((field, e.to_string()));
    }
}

/// Turns a missing referenced object into a field error.
async fn check_ref<T, F>(
    errors: &mut Vec<(&'static str, String)>,
    field: &'static str,
    id: Option<i64>,
    lookup: impl FnOnce(i64) -> F,
) -> ApiResult<()>
where
    F: std::future::Future<Output = Result<T, DbError>>,
{
    if let Some(id) = id {
        match lookup(id).await {
            Ok(_) => {}
            Err(DbError::NotFound { what }) => {
                errors.push((field, format!("{what} does not exist")))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn finish(errors: Vec<(&'static str, String)>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::fields(errors))
    }
}

// ---- devices -------------------------------------------------------------------

const DEVICE_READ_ONLY: &[&str] = &["id", "created_at", "archived", "archived_at"];

fn yes() -> bool {
    true
}
fn ssh_port() -> u16 {
    22
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceInput {
    name: String,
    address: String,
    #[serde(default = "ssh_port")]
    port: u16,
    driver: String,
    #[serde(default)]
    credential: Option<i64>,
    #[serde(default)]
    backup_location: Option<i64>,
    #[serde(default)]
    collection_group: Option<i64>,
    #[serde(default)]
    device_group: Option<i64>,
    #[serde(default)]
    device_type: Option<i64>,
    #[serde(default = "yes")]
    enabled: bool,
}

pub(super) fn device_json(d: &Device) -> Value {
    let f = &d.fields;
    json!({
        "id": d.id,
        "name": f.name,
        "address": f.address,
        "port": f.port,
        "driver": f.driver,
        "credential": f.credential,
        "backup_location": f.backup_location,
        "collection_group": f.collection_group,
        "device_group": f.device_group,
        "device_type": f.device_type,
        "enabled": f.enabled,
        "created_at": d.created_at,
        "archived": d.archived_at.is_some(),
        "archived_at": d.archived_at,
    })
}

async fn device_fields(state: &Shared, v: Value) -> ApiResult<DeviceFields> {
    let i: DeviceInput = input(v, DEVICE_READ_ONLY)?;
    let mut errors = Vec::new();
    check_name(&mut errors, "name", &i.name);
    if i.address.trim().is_empty()
        || i.address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        errors.push((
            "address",
            "a host name or IP address, without spaces".into(),
        ));
    }
    if i.port == 0 {
        errors.push(("port", "must be between 1 and 65535".into()));
    }
    if state.drivers.get(&i.driver).is_err() {
        let known: Vec<&str> = state.drivers.iter().map(|d| d.name.as_str()).collect();
        errors.push((
            "driver",
            format!("unknown driver {:?}; known: {}", i.driver, known.join(", ")),
        ));
    }
    let db = &state.db;
    check_ref(&mut errors, "credential", i.credential, |id| {
        db.credential(id)
    })
    .await?;
    check_ref(&mut errors, "backup_location", i.backup_location, |id| {
        db.location(id)
    })
    .await?;
    check_ref(&mut errors, "collection_group", i.collection_group, |id| {
        db.collection_group(id)
    })
    .await?;
    check_ref(&mut errors, "device_group", i.device_group, |id| {
        db.device_group(id)
    })
    .await?;
    check_ref(&mut errors, "device_type", i.device_type, |id| {
        db.device_type(id)
    })
    .await?;
    finish(errors)?;
    Ok(DeviceFields {
        name: i.name.trim().to_owned(),
        address: i.address.trim().to_owned(),
        port: i.port,
        driver: i.driver,
        credential: i.credential,
        backup_location: i.backup_location,
        collection_group: i.collection_group,
        device_group: i.device_group,
        device_type: i.device_type,
        enabled: i.enabled,
    })
}

async fn list_devices(
    auth: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Response> {
    let q = query_of(q)?;
    let archived = bool_param(&q, "archived")?.unwrap_or(false);
    if archived && !auth.user.is_admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            "archived devices are listed for administrators only",
        ));
    }
    let filter = DeviceFilter {
        name: q.get("name").filter(|s| !s.is_empty()).cloned(),
        device_group: int_param(&q, "device_group")?,
        device_type: int_param(&q, "device_type")?,
        enabled: bool_param(&q, "enabled")?,
        archived,
    };
    let list = |p| state.db.list_devices(&filter, &auth.scope, p);
    super::list_page(&state, &q, &uri, list, |d| device_json(&d)).await
}

async fn create_device(_: Admin, State(state): State<Shared>, body: Bytes) -> ApiResult<Response> {
    let fields = device_fields(&state, parse_body(&body)?).await?;
    let d = state
        .db
        .create_device(&fields)
        .await
        .map_err(|e| name_taken(&state, e, &fields.name))?;
    Ok(created(device_json(&d)))
}

/// A duplicate name says whether an archived device holds it.
fn name_taken(_: &Shared, e: DbError, name: &str) -> ApiError {
    match e {
        DbError::Conflict(_) => ApiError::fields(vec![(
            "name",
            format!(
                "a device named {name:?} exists already (it may be archived: restore it, or purge it to reuse the name)"
            ),
        )]),
        other => other.into(),
    }
}

async fn get_device(auth: Authed, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    let id = id_of(id)?;
    auth.check_device(&state, id).await?;
    Ok(ok(device_json(&state.db.device(id).await?)))
}

/// A device that exists and is not archived (an archived one is read-only
/// until restored).
async fn live_device(state: &Shared, id: i64) -> ApiResult<Device> {
    let d = state.db.device(id).await?;
    if d.archived_at.is_some() {
        return Err(ApiError::conflict(format!(
            "device {id} is archived; restore it first (POST /api/devices/{id}/restore/)"
        )));
    }
    Ok(d)
}

async fn put_device(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    live_device(&state, id).await?;
    let fields = device_fields(&state, parse_body(&body)?).await?;
    let d = state
        .db
        .update_device(id, &fields)
        .await
        .map_err(|e| name_taken(&state, e, &fields.name))?;
    Ok(ok(device_json(&d)))
}

async fn patch_device(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    let current = device_json(&live_device(&state, id).await?);
    let fields = device_fields(&state, merge_patch(current, &body)?).await?;
    let d = state
        .db
        .update_device(id, &fields)
        .await
        .map_err(|e| name_taken(&state, e, &fields.name))?;
    Ok(ok(device_json(&d)))
}

/// `DELETE` archives (the history stays); `?purge=true` destroys the
/// device and every record of its history.
async fn delete_device(
    Admin(admin): Admin,
    State(state): State<Shared>,
    id: IdPath,
    q: QueryMap,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    let q = query_of(q)?;
    if bool_param(&q, "purge")?.unwrap_or(false) {
        let d = state.db.device(id).await?;
        let purged = state.db.purge_device(id).await?;
        tracing::warn!(
            admin = %admin.user.username, device_id = id, device = %d.fields.name,
            stored_backups = purged.stored_backups, results = purged.results, jobs = purged.jobs,
            "device purged with its history"
        );
        return Ok(ok(json!({
            "purged": id,
            "stored_backups": purged.stored_backups,
            "results": purged.results,
            "jobs": purged.jobs,
        })));
    }
    let d = state.db.archive_device(id).await?;
    tracing::info!(admin = %admin.user.username, device_id = id, device = %d.fields.name, "device archived");
    Ok(no_content())
}

async fn restore_device(
    Admin(admin): Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    let d = state.db.restore_device(id).await?;
    tracing::info!(admin = %admin.user.username, device_id = id, device = %d.fields.name, "device restored");
    Ok(ok(device_json(&d)))
}

// ---- backup locations ------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationInput {
    name: String,
    location_type: String,
    config: Value,
}

fn location_json(l: &BackupLocation) -> Value {
    json!({
        "id": l.id,
        "name": l.name,
        "location_type": l.location_type.as_str(),
        "config": l.config,
    })
}

/// The fields of a location, its config checked as the storage worker
/// checks it, and its path against the storage roots when they are known.
fn location_fields(
    v: Value,
    roots: Option<&StorageRoots>,
) -> ApiResult<(String, StorageBackendKind, Map<String, Value>)> {
    let i: LocationInput = input(v, &["id"])?;
    let mut errors = Vec::new();
    check_name(&mut errors, "name", &i.name);
    let kind = match i.location_type.parse::<StorageBackendKind>() {
        Ok(k) => Some(k),
        Err(_) => {
            errors.push((
                "location_type",
                format!("{:?} is not \"git\" or \"fs\"", i.location_type),
            ));
            None
        }
    };
    let config = match i.config {
        Value::Object(m) => Some(m),
        _ => {
            errors.push(("config", "must be a JSON object".into()));
            None
        }
    };
    if let (Some(kind), Some(config)) = (kind, &config) {
        match devicevault_storage::location_path(kind, config) {
            Err(e) => errors.push(("config", e.to_string())),
            Ok(p) if !FsPath::new(&p).is_absolute() => errors.push((
                "config",
                format!("{} must be an absolute path", p.display()),
            )),
            Ok(p) => {
                if let Some(Err(e)) = roots.map(|r| r.check(&p)) {
                    errors.push(("config", e.to_string()));
                }
            }
        }
    }
    finish(errors)?;
    Ok((
        i.name.trim().to_owned(),
        kind.expect("checked"),
        config.expect("checked"),
    ))
}

async fn list_locations(
    _: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Response> {
    let q = query_of(q)?;
    super::list_page(
        &state,
        &q,
        &uri,
        |p| state.db.list_locations(p),
        |l| location_json(&l),
    )
    .await
}

async fn create_location(
    _: Admin,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let (name, kind, config) = location_fields(parse_body(&body)?, state.storage_roots.as_ref())?;
    Ok(created(location_json(
        &state.db.create_location(&name, kind, &config).await?,
    )))
}

async fn get_location(_: Authed, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    Ok(ok(location_json(&state.db.location(id_of(id)?).await?)))
}

async fn put_location(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    state.db.location(id).await?;
    let (name, kind, config) = location_fields(parse_body(&body)?, state.storage_roots.as_ref())?;
    Ok(ok(location_json(
        &state.db.update_location(id, &name, kind, &config).await?,
    )))
}

async fn patch_location(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    let current = location_json(&state.db.location(id).await?);
    let (name, kind, config) =
        location_fields(merge_patch(current, &body)?, state.storage_roots.as_ref())?;
    Ok(ok(location_json(
        &state.db.update_location(id, &name, kind, &config).await?,
    )))
}

async fn delete_location(_: Admin, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    state.db.delete_location(id_of(id)?).await?;
    Ok(no_content())
}

// ---- credentials -------------------------------------------------------------------

/// A credential as the API shows it: the secrets are write-only.
fn credential_json(c: &Credential) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "username": c.username,
        "has_enable_secret": c.enable_secret_sealed.is_some(),
    })
}

/// Applies a credential body to `base` (the stored row, or an empty one
/// for a create). Secrets absent from the body keep their sealed value;
/// `"enable_secret": null` removes the enable secret.
fn credential_fields(
    state: &Shared,
    v: Value,
    mut base: Credential,
    creating: bool,
) -> ApiResult<Credential> {
    let Value::Object(mut m) = without_read_only(v, &["id", "has_enable_secret"]) else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let mut errors = Vec::new();
    let mut text = |m: &mut Map<String, Value>, field: &'static str| -> Option<Option<String>> {
        match m.remove(field) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s)),
            Some(_) => {
                errors.push((field, "must be a string".to_owned()));
                None
            }
        }
    };
    let name = text(&mut m, "name");
    let username = text(&mut m, "username");
    let password = text(&mut m, "password");
    let enable = text(&mut m, "enable_secret");
    for k in m.keys() {
        errors.push(("non_field_errors", format!("unknown field {k:?}")));
    }
    if let Some(n) = name {
        base.name = n.unwrap_or_default().trim().to_owned();
    }
    check_name(&mut errors, "name", &base.name);
    if let Some(u) = username {
        base.username = u.unwrap_or_default();
    }
    if base.username.is_empty() {
        errors.push(("username", "may not be blank".into()));
    }
    match password {
        Some(Some(p)) if !p.is_empty() => base.password_sealed = state.key.seal(p.as_bytes()),
        Some(_) => errors.push(("password", "may not be blank".into())),
        None if creating => errors.push(("password", "is required".into())),
        None => {}
    }
    match enable {
        Some(Some(s)) if !s.is_empty() => {
            base.enable_secret_sealed = Some(state.key.seal(s.as_bytes()))
        }
        Some(_) => base.enable_secret_sealed = None,
        None => {}
    }
    finish(errors)?;
    Ok(base)
}

async fn list_credentials(
    _: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Response> {
    let q = query_of(q)?;
    super::list_page(
        &state,
        &q,
        &uri,
        |p| state.db.list_credentials(p),
        |c| credential_json(&c),
    )
    .await
}

async fn create_credential(
    _: Admin,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let empty = Credential {
        id: 0,
        name: String::new(),
        username: String::new(),
        password_sealed: Vec::new(),
        enable_secret_sealed: None,
    };
    let c = credential_fields(&state, parse_body(&body)?, empty, true)?;
    let c = state
        .db
        .create_credential(
            &c.name,
            &c.username,
            &c.password_sealed,
            c.enable_secret_sealed.as_deref(),
        )
        .await?;
    Ok(created(credential_json(&c)))
}

async fn get_credential(_: Authed, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    Ok(ok(credential_json(&state.db.credential(id_of(id)?).await?)))
}

async fn put_credential(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    update_credential(state, id, body).await
}

async fn patch_credential(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    update_credential(state, id, body).await
}

async fn update_credential(state: Shared, id: IdPath, body: Bytes) -> ApiResult<Response> {
    let id = id_of(id)?;
    let current = state.db.credential(id).await?;
    let c = credential_fields(&state, parse_body(&body)?, current, false)?;
    Ok(ok(credential_json(
        &state.db.update_credential(id, &c).await?,
    )))
}

async fn delete_credential(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    state.db.delete_credential(id_of(id)?).await?;
    Ok(no_content())
}

// ---- collection groups -------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectionGroupInput {
    name: String,
    rabbitmq_queue_id: String,
}

fn collection_group_json(g: &CollectionGroup) -> Value {
    json!({"id": g.id, "name": g.name, "rabbitmq_queue_id": g.rabbitmq_queue_id, "queue": g.queue()})
}

fn collection_group_fields(v: Value) -> ApiResult<CollectionGroupInput> {
    let i: CollectionGroupInput = input(v, &["id", "queue"])?;
    let mut errors = Vec::new();
    check_name(&mut errors, "name", &i.name);
    let q = &i.rabbitmq_queue_id;
    if q.is_empty()
        || q.len() > 100
        || !q
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        errors.push((
            "rabbitmq_queue_id",
            "1–100 characters of A–Z, a–z, 0–9, '-', '_' and '.'".into(),
        ));
    }
    finish(errors)?;
    Ok(i)
}

async fn list_collection_groups(
    _: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Response> {
    let q = query_of(q)?;
    super::list_page(
        &state,
        &q,
        &uri,
        |p| state.db.list_collection_groups_page(p),
        |g| collection_group_json(&g),
    )
    .await
}

async fn create_collection_group(
    _: Admin,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let i = collection_group_fields(parse_body(&body)?)?;
    let g = state
        .db
        .create_collection_group(i.name.trim(), &queue_id(&i.rabbitmq_queue_id)?)
        .await?;
    Ok(created(collection_group_json(&g)))
}

async fn get_collection_group(
    _: Authed,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    Ok(ok(collection_group_json(
        &state.db.collection_group(id_of(id)?).await?,
    )))
}

async fn put_collection_group(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    state.db.collection_group(id).await?;
    let i = collection_group_fields(parse_body(&body)?)?;
    let g = state
        .db
        .update_collection_group(id, i.name.trim(), &queue_id(&i.rabbitmq_queue_id)?)
        .await?;
    Ok(ok(collection_group_json(&g)))
}

async fn patch_collection_group(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    let current = collection_group_json(&state.db.collection_group(id).await?);
    let i = collection_group_fields(merge_patch(current, &body)?)?;
    let g = state
        .db
        .update_collection_group(id, i.name.trim(), &queue_id(&i.rabbitmq_queue_id)?)
        .await?;
    Ok(ok(collection_group_json(&g)))
}

async fn delete_collection_group(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    state.db.delete_collection_group(id_of(id)?).await?;
    Ok(no_content())
}

fn queue_id(q: &str) -> ApiResult<devicevault_core::QueueId> {
    devicevault_core::QueueId::parse(q)
        .map_err(|e| ApiError::fields(vec![("rabbitmq_queue_id", e.to_string())]))
}

// ---- device groups -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameInput {
    name: String,
}

fn named_json(n: &Named) -> Value {
    json!({"id": n.id, "name": n.name})
}

fn name_field(v: Value) -> ApiResult<String> {
    let i: NameInput = input(v, &["id"])?;
    let mut errors = Vec::new();
    check_name(&mut errors, "name", &i.name);
    finish(errors)?;
    Ok(i.name.trim().to_owned())
}

async fn list_device_groups(
    _: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Response> {
    let q = query_of(q)?;
    super::list_page(
        &state,
        &q,
        &uri,
        |p| state.db.list_device_groups(p),
        |g| named_json(&g),
    )
    .await
}

async fn create_device_group(
    _: Admin,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let name = name_field(parse_body(&body)?)?;
    Ok(created(named_json(
        &state.db.create_device_group(&name).await?,
    )))
}

async fn get_device_group(
    _: Authed,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    Ok(ok(named_json(&state.db.device_group(id_of(id)?).await?)))
}

async fn put_device_group(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    let current = named_json(&state.db.device_group(id).await?);
    let name = name_field(merge_patch(current, &body)?)?;
    Ok(ok(named_json(
        &state.db.update_device_group(id, &name).await?,
    )))
}

async fn patch_device_group(
    s: Admin,
    st: State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    put_device_group(s, st, id, body).await
}

async fn delete_device_group(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    state.db.delete_device_group(id_of(id)?).await?;
    Ok(no_content())
}

// ---- device types ----------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceTypeInput {
    name: String,
    #[serde(default)]
    manufacturer: Option<i64>,
    #[serde(default)]
    max_config_bytes: Option<i64>,
}

fn device_type_json(t: &DeviceType) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "manufacturer": t.manufacturer,
        "max_config_bytes": t.max_config_bytes,
    })
}

fn device_type_fields(v: Value) -> ApiResult<DeviceTypeInput> {
    let i: DeviceTypeInput = input(v, &["id"])?;
    let mut errors = Vec::new();
    check_name(&mut errors, "name", &i.name);
    if let Some(n) = i.max_config_bytes
        && !(1024..=1 << 30).contains(&n)
    {
        errors.push((
            "max_config_bytes",
            "between 1024 and 1073741824 bytes, or null for the default".into(),
        ));
    }
    finish(errors)?;
    Ok(i)
}

async fn list_device_types(
    _: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Response> {
    let q = query_of(q)?;
    super::list_page(
        &state,
        &q,
        &uri,
        |p| state.db.list_device_types(p),
        |t| device_type_json(&t),
    )
    .await
}

async fn create_device_type(
    _: Admin,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let i = device_type_fields(parse_body(&body)?)?;
    let t = state
        .db
        .create_device_type(i.name.trim(), i.manufacturer, i.max_config_bytes)
        .await?;
    Ok(created(device_type_json(&t)))
}

async fn get_device_type(
    _: Authed,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    Ok(ok(device_type_json(
        &state.db.device_type(id_of(id)?).await?,
    )))
}

async fn put_device_type(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    let current = device_type_json(&state.db.device_type(id).await?);
    let i = device_type_fields(merge_patch(current, &body)?)?;
    let t = state
        .db
        .update_device_type(id, i.name.trim(), i.manufacturer, i.max_config_bytes)
        .await?;
    Ok(ok(device_type_json(&t)))
}

async fn patch_device_type(
    s: Admin,
    st: State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    put_device_type(s, st, id, body).await
}

async fn delete_device_type(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    state.db.delete_device_type(id_of(id)?).await?;
    Ok(no_content())
}
