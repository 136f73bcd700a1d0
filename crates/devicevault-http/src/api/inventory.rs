//! Inventory routes: devices, backup locations, credentials, collection
//! groups, device groups and device types. Lists are paginated; PUT
//! replaces the writable fields, PATCH changes only the fields it names.
//! Every body is checked by the application layer's one validator of its
//! input ([`devicevault_pipeline::app::inventory`]); this module only
//! parses and renders.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use devicevault_db::dashboard::{DeviceQuery, DeviceSort, LastStatus};
use devicevault_db::{BackupLocation, DbError, DeviceFilter, NamedKind};
use devicevault_pipeline::app::inventory::{
    CollectionGroupInput, CredentialInput, DeviceGroupInput, DeviceInput, DeviceTypeInput,
    LocationInput, NamedInput, device_name_taken,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::types::{
    CollectionGroupOut, CredentialOut, DeviceGroupOut, DeviceOut, DeviceTypeOut, ErrorBody,
    LocationOut, NamedOut, Paginated, PurgedOut,
};
use devicevault_pipeline::app::rights::{self, Right};

use super::{
    Admin, ApiError, ApiResult, Authed, Operator, PageQuery, Shared, bool_param, id_of, int_param,
    merge_patch, parse_body, query_of,
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
        .route("/api/devices/{id}/restore/", post(restore_device))
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
                .put(update_credential)
                .patch(update_credential)
                .delete(delete_credential),
        )
        .route(
            "/api/collection-groups/",
            get(list_collection_groups).post(create_collection_group),
        )
        .route(
            "/api/collection-groups/{id}/",
            get(get_collection_group)
                .put(update_collection_group)
                .patch(update_collection_group)
                .delete(delete_collection_group),
        )
        .route(
            "/api/device-groups/",
            get(list_device_groups).post(create_device_group),
        )
        .route(
            "/api/device-groups/{id}/",
            get(get_device_group)
                .put(update_device_group)
                .patch(update_device_group)
                .delete(delete_device_group),
        )
        .route(
            "/api/manufacturers/",
            get(list_manufacturers).post(create_manufacturer),
        )
        .route(
            "/api/manufacturers/{id}/",
            get(get_manufacturer)
                .put(update_manufacturer)
                .patch(update_manufacturer)
                .delete(delete_manufacturer),
        )
        .route(
            "/api/device-types/",
            get(list_device_types).post(create_device_type),
        )
        .route(
            "/api/device-types/{id}/",
            get(get_device_type)
                .put(update_device_type)
                .patch(update_device_type)
                .delete(delete_device_type),
        )
}

fn created<T: Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Read-only fields a client may send back from a GET; they are ignored.
fn input<T: DeserializeOwned>(mut v: Value, read_only: &[&str]) -> ApiResult<T> {
    if let Value::Object(m) = &mut v {
        for k in read_only {
            m.remove(*k);
        }
    }
    serde_json::from_value(v)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))
}

// ---- devices -------------------------------------------------------------------

const DEVICE_READ_ONLY: &[&str] = &[
    "id",
    "created_at",
    "archived",
    "archived_at",
    "last_success_at",
    "last_change_at",
    "failing_since",
    "stale_since",
    "last_status",
    "last_backup_at",
];

/// The query of the device list.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct DeviceListQuery {
    /// Part of the name, case-insensitive.
    name: Option<String>,
    enabled: Option<bool>,
    device_group: Option<i64>,
    device_type: Option<i64>,
    /// Archived devices instead of live ones (administrators).
    archived: Option<bool>,
    /// Only stale devices (`true`: no successful backup for longer than
    /// their threshold), or only the others (`false`).
    stale: Option<bool>,
    /// Only devices whose newest job stands so.
    #[param(pattern = "^(failed|running|stored|never)$")]
    last_status: Option<String>,
    /// The order: `name` (the default), `address`, `driver`, `type`,
    /// `group`, `enabled`, `status`, `last_backup`, `last_success` or
    /// `last_change`; a leading `-` reverses it. Ties go by name; devices
    /// with no such time come last either way.
    ordering: Option<String>,
    /// From 1.
    #[param(minimum = 1)]
    page: Option<i64>,
    /// 1–1000, default 50.
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<i64>,
}

#[utoipa::path(get, path = "/api/devices/", tag = "devices", params(DeviceListQuery),
    responses((status = 200, body = Paginated<DeviceOut>), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn list_devices(
    auth: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<DeviceOut>>> {
    let q = query_of(q)?;
    let archived = bool_param(&q, "archived")?.unwrap_or(false);
    if archived && !auth.user.is_admin() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            "archived devices are listed for administrators only",
        ));
    }
    let last_status = match q.get("last_status").map(String::as_str) {
        None | Some("") => None,
        Some(s) => Some(LastStatus::parse(s).ok_or_else(|| {
            ApiError::fields(vec![(
                "last_status",
                format!("{s:?} is not failed, running, stored or never"),
            )])
        })?),
    };
    let (sort, descending) = match q.get("ordering").map(String::as_str) {
        None | Some("") => (DeviceSort::Name, false),
        Some(o) => {
            let (key, descending) = match o.strip_prefix('-') {
                Some(key) => (key, true),
                None => (o, false),
            };
            let sort = DeviceSort::parse(key).ok_or_else(|| {
                let known: Vec<_> = DeviceSort::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::fields(vec![(
                    "ordering",
                    format!(
                        "{o:?} is none of {}, with or without a leading -",
                        known.join(", ")
                    ),
                )])
            })?;
            (sort, descending)
        }
    };
    let query = DeviceQuery {
        filter: DeviceFilter {
            name: q.get("name").filter(|s| !s.is_empty()).cloned(),
            device_group: int_param(&q, "device_group")?,
            device_type: int_param(&q, "device_type")?,
            enabled: bool_param(&q, "enabled")?,
            archived,
            stale: bool_param(&q, "stale")?,
        },
        last_status,
        sort,
        descending,
    };
    let list = |p| state.db.device_rows(&query, &auth.scope, p);
    super::list_page(&state, &q, &uri, list, |r| DeviceOut::from(&r.device)).await
}

/// Validates a device body and stores it as device `id` (or a new one).
/// The user must be allowed to put it where the body says.
async fn save_device(
    state: &Shared,
    auth: &Authed,
    id: Option<i64>,
    input: DeviceInput,
) -> ApiResult<DeviceOut> {
    let fields = input.validate(state).await??;
    rights::require_device_change(
        &state.db,
        &auth.user,
        &auth.scope,
        id,
        Some(fields.device_group),
    )
    .await??;
    let saved = match id {
        None => state.db.create_device(&fields).await,
        Some(id) => state.db.update_device(id, &fields).await,
    };
    match saved {
        Ok(d) => Ok(DeviceOut::from(&d)),
        Err(DbError::Conflict(_)) => Err(device_name_taken(&fields.name).into()),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(post, path = "/api/devices/", tag = "devices", request_body = DeviceInput,
    responses((status = 201, body = DeviceOut), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn create_device(
    Operator(auth): Operator,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body)?;
    Ok(created(save_device(&state, &auth, None, input).await?))
}

#[utoipa::path(get, path = "/api/devices/{id}/", tag = "devices", params(("id" = i64, Path)),
    responses((status = 200, body = DeviceOut), (status = 404, body = ErrorBody)))]
async fn get_device(
    auth: Authed,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<DeviceOut>> {
    let id = id_of(id)?;
    auth.check_device(&state, id).await?;
    Ok(Json(DeviceOut::from(&state.db.device(id).await?)))
}

/// A device that exists and is not archived (an archived one is read-only
/// until restored).
async fn live_device(state: &Shared, id: i64) -> ApiResult<devicevault_db::Device> {
    let d = state.db.device(id).await?;
    if d.archived_at.is_some() {
        return Err(ApiError::conflict(format!(
            "device {id} is archived; restore it first (POST /api/devices/{id}/restore/)"
        )));
    }
    Ok(d)
}

#[utoipa::path(put, path = "/api/devices/{id}/", tag = "devices", params(("id" = i64, Path)),
    request_body = DeviceInput,
    responses((status = 200, body = DeviceOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn put_device(
    Operator(auth): Operator,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<DeviceOut>> {
    let id = id_of(id)?;
    auth.check_device(&state, id).await?;
    live_device(&state, id).await?;
    let input = input(parse_body(&body)?, DEVICE_READ_ONLY)?;
    Ok(Json(save_device(&state, &auth, Some(id), input).await?))
}

#[utoipa::path(patch, path = "/api/devices/{id}/", tag = "devices", params(("id" = i64, Path)),
    request_body = Object,
    responses((status = 200, body = DeviceOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn patch_device(
    Operator(auth): Operator,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<DeviceOut>> {
    let id = id_of(id)?;
    auth.check_device(&state, id).await?;
    let current = DeviceInput::of(&live_device(&state, id).await?.fields);
    let current =
        serde_json::to_value(current).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let input = input(merge_patch(current, &body)?, DEVICE_READ_ONLY)?;
    Ok(Json(save_device(&state, &auth, Some(id), input).await?))
}

/// `?purge=true` destroys the device's records.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct DeleteQuery {
    purge: Option<bool>,
}

/// `DELETE` archives (the history stays); `?purge=true` destroys the
/// device and every record of its history.
#[utoipa::path(delete, path = "/api/devices/{id}/", tag = "devices",
    params(("id" = i64, Path), DeleteQuery),
    responses((status = 204, description = "archived"), (status = 200, body = PurgedOut),
              (status = 404, body = ErrorBody)))]
async fn delete_device(
    Operator(auth): Operator,
    State(state): State<Shared>,
    id: IdPath,
    q: QueryMap,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    let q = query_of(q)?;
    if bool_param(&q, "purge")?.unwrap_or(false) {
        rights::require(&auth.user, Right::Administer)?;
        let d = state.db.device(id).await?;
        let purged = state.db.purge_device(id).await?;
        tracing::warn!(
            admin = %auth.user.username, device_id = id, device = %d.fields.name,
            stored_backups = purged.stored_backups, results = purged.results, jobs = purged.jobs,
            "device purged with its history"
        );
        return Ok(Json(PurgedOut {
            purged: id,
            stored_backups: purged.stored_backups,
            results: purged.results,
            jobs: purged.jobs,
        })
        .into_response());
    }
    auth.check_device(&state, id).await?;
    rights::require_device_change(&state.db, &auth.user, &auth.scope, Some(id), None).await??;
    let d = state.db.archive_device(id).await?;
    tracing::info!(user = %auth.user.username, device_id = id, device = %d.fields.name, "device archived");
    Ok(no_content())
}

#[utoipa::path(post, path = "/api/devices/{id}/restore/", tag = "devices",
    params(("id" = i64, Path)),
    responses((status = 200, body = DeviceOut), (status = 404, body = ErrorBody)))]
async fn restore_device(
    Admin(admin): Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<DeviceOut>> {
    let id = id_of(id)?;
    let d = state.db.restore_device(id).await?;
    tracing::info!(admin = %admin.user.username, device_id = id, device = %d.fields.name, "device restored");
    Ok(Json(DeviceOut::from(&d)))
}

// ---- backup locations ------------------------------------------------------------

#[utoipa::path(get, path = "/api/backup-locations/", tag = "inventory", params(PageQuery),
    responses((status = 200, body = Paginated<LocationOut>), (status = 400, body = ErrorBody)))]
async fn list_locations(
    _: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<LocationOut>>> {
    let q = query_of(q)?;
    let list = |p| state.db.list_locations(p);
    super::list_page(&state, &q, &uri, list, |l| LocationOut::from(&l)).await
}

async fn save_location(
    state: &Shared,
    current: Option<&BackupLocation>,
    v: Value,
) -> ApiResult<LocationOut> {
    let input: LocationInput = input(v, &["id"])?;
    let f = input.validate(state, current)?;
    let l = match current {
        None => state.db.create_location(&f.name, f.kind, &f.config).await?,
        Some(current) => {
            state
                .db
                .update_location(current.id, &f.name, f.kind, &f.config)
                .await?
        }
    };
    Ok(LocationOut::from(&l))
}

#[utoipa::path(post, path = "/api/backup-locations/", tag = "inventory",
    request_body = LocationInput,
    responses((status = 201, body = LocationOut), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn create_location(
    _: Admin,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    Ok(created(
        save_location(&state, None, parse_body(&body)?).await?,
    ))
}

#[utoipa::path(get, path = "/api/backup-locations/{id}/", tag = "inventory",
    params(("id" = i64, Path)),
    responses((status = 200, body = LocationOut), (status = 404, body = ErrorBody)))]
async fn get_location(
    _: Authed,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<LocationOut>> {
    Ok(Json(LocationOut::from(
        &state.db.location(id_of(id)?).await?,
    )))
}

#[utoipa::path(put, path = "/api/backup-locations/{id}/", tag = "inventory",
    params(("id" = i64, Path)), request_body = LocationInput,
    responses((status = 200, body = LocationOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn put_location(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<LocationOut>> {
    let current = state.db.location(id_of(id)?).await?;
    Ok(Json(
        save_location(&state, Some(&current), parse_body(&body)?).await?,
    ))
}

#[utoipa::path(patch, path = "/api/backup-locations/{id}/", tag = "inventory",
    params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = LocationOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn patch_location(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<LocationOut>> {
    let location = state.db.location(id_of(id)?).await?;
    let current = serde_json::to_value(LocationOut::from(&location))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(
        save_location(&state, Some(&location), merge_patch(current, &body)?).await?,
    ))
}

#[utoipa::path(delete, path = "/api/backup-locations/{id}/", tag = "inventory",
    params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "devices or stored backups refer to it")))]
async fn delete_location(_: Admin, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    state.db.delete_location(id_of(id)?).await?;
    Ok(no_content())
}

// ---- credentials -------------------------------------------------------------------

/// A credential body: secrets are write-only; a field left out keeps its
/// value, `"enable_secret": null` removes the enable secret. A credential
/// has a `password` or a `private_key` (OpenSSH or PEM text, with its
/// `passphrase` if encrypted); setting one replaces the other. A key that
/// cannot be opened is a 400 on `private_key`, a missing or wrong
/// passphrase one on `passphrase`. An `api_key` is what HTTPS drivers send
/// as `{api_key}` (FortiOS's REST API token, a PAN-OS key); a credential may
/// have only that (`"password": null` removes the password then), and
/// `"api_key": null` removes it. Responses say `has_api_key`, never the key.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
struct CredentialBody {
    name: Option<String>,
    username: Option<String>,
    password: Option<String>,
    enable_secret: Option<String>,
    private_key: Option<String>,
    passphrase: Option<String>,
    api_key: Option<String>,
}

#[utoipa::path(get, path = "/api/credentials/", tag = "inventory", params(PageQuery),
    responses((status = 200, body = Paginated<CredentialOut>), (status = 400, body = ErrorBody)))]
async fn list_credentials(
    _: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<CredentialOut>>> {
    let q = query_of(q)?;
    let list = |p| state.db.list_credentials(p);
    super::list_page(&state, &q, &uri, list, |c| CredentialOut::from(&c)).await
}

#[utoipa::path(post, path = "/api/credentials/", tag = "inventory", request_body = CredentialBody,
    responses((status = 201, body = CredentialOut), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn create_credential(
    _: Admin,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let c = CredentialInput::from_json(&parse_body(&body)?)?.apply(&state, None)?;
    let c = state.db.insert_credential(&c).await?;
    Ok(created(CredentialOut::from(&c)))
}

#[utoipa::path(get, path = "/api/credentials/{id}/", tag = "inventory",
    params(("id" = i64, Path)),
    responses((status = 200, body = CredentialOut), (status = 404, body = ErrorBody)))]
async fn get_credential(
    _: Authed,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<CredentialOut>> {
    Ok(Json(CredentialOut::from(
        &state.db.credential(id_of(id)?).await?,
    )))
}

/// PUT and PATCH alike: the fields sent change, the others keep.
#[utoipa::path(patch, path = "/api/credentials/{id}/", tag = "inventory",
    params(("id" = i64, Path)), request_body = CredentialBody,
    responses((status = 200, body = CredentialOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_credential(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<CredentialOut>> {
    let id = id_of(id)?;
    let current = state.db.credential(id).await?;
    let c = CredentialInput::from_json(&parse_body(&body)?)?.apply(&state, Some(current))?;
    Ok(Json(CredentialOut::from(
        &state.db.update_credential(id, &c).await?,
    )))
}

#[utoipa::path(delete, path = "/api/credentials/{id}/", tag = "inventory",
    params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn delete_credential(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    state.db.delete_credential(id_of(id)?).await?;
    Ok(no_content())
}

// ---- collection groups -------------------------------------------------------------

#[utoipa::path(get, path = "/api/collection-groups/", tag = "inventory", params(PageQuery),
    responses((status = 200, body = Paginated<CollectionGroupOut>), (status = 400, body = ErrorBody)))]
async fn list_collection_groups(
    _: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<CollectionGroupOut>>> {
    let q = query_of(q)?;
    let list = |p| state.db.list_collection_groups_page(p);
    super::list_page(&state, &q, &uri, list, |g| CollectionGroupOut::from(&g)).await
}

#[utoipa::path(post, path = "/api/collection-groups/", tag = "inventory",
    request_body = CollectionGroupInput,
    responses((status = 201, body = CollectionGroupOut), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn create_collection_group(
    _: Admin,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let i: CollectionGroupInput = input(parse_body(&body)?, &["id", "queue"])?;
    let g = i.validate()?;
    let g = state
        .db
        .create_collection_group_limited(&g.name, &g.queue, g.max_sessions)
        .await?;
    Ok(created(CollectionGroupOut::from(&g)))
}

#[utoipa::path(get, path = "/api/collection-groups/{id}/", tag = "inventory",
    params(("id" = i64, Path)),
    responses((status = 200, body = CollectionGroupOut), (status = 404, body = ErrorBody)))]
async fn get_collection_group(
    _: Authed,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<CollectionGroupOut>> {
    Ok(Json(CollectionGroupOut::from(
        &state.db.collection_group(id_of(id)?).await?,
    )))
}

/// PUT and PATCH alike: the fields sent change, the others keep.
#[utoipa::path(patch, path = "/api/collection-groups/{id}/", tag = "inventory",
    params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = CollectionGroupOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_collection_group(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<CollectionGroupOut>> {
    let id = id_of(id)?;
    let current = serde_json::to_value(CollectionGroupOut::from(
        &state.db.collection_group(id).await?,
    ))
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let i: CollectionGroupInput = input(merge_patch(current, &body)?, &["id", "queue"])?;
    let g = i.validate()?;
    Ok(Json(CollectionGroupOut::from(
        &state
            .db
            .update_collection_group(id, &g.name, &g.queue, g.max_sessions)
            .await?,
    )))
}

#[utoipa::path(delete, path = "/api/collection-groups/{id}/", tag = "inventory",
    params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn delete_collection_group(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    state.db.delete_collection_group(id_of(id)?).await?;
    Ok(no_content())
}

// ---- manufacturers: a name each ---------------------------------------------------------

async fn list_named(
    state: &Shared,
    kind: NamedKind,
    q: QueryMap,
    uri: &Uri,
) -> ApiResult<Json<Paginated<NamedOut>>> {
    let q = query_of(q)?;
    let list = |p| state.db.list_named(kind, p);
    super::list_page(state, &q, uri, list, |g| NamedOut::from(&g)).await
}

async fn create_named(state: &Shared, kind: NamedKind, body: &[u8]) -> ApiResult<Response> {
    let i: NamedInput = input(parse_body(body)?, &["id"])?;
    let name = i.validate()?;
    Ok(created(NamedOut::from(
        &state.db.create_named(kind, &name).await?,
    )))
}

async fn get_named(state: &Shared, kind: NamedKind, id: IdPath) -> ApiResult<Json<NamedOut>> {
    Ok(Json(NamedOut::from(
        &state.db.named(kind, id_of(id)?).await?,
    )))
}

/// PUT and PATCH alike: the fields sent change, the others keep.
async fn update_named(
    state: &Shared,
    kind: NamedKind,
    id: IdPath,
    body: &[u8],
) -> ApiResult<Json<NamedOut>> {
    let id = id_of(id)?;
    let current = serde_json::to_value(NamedOut::from(&state.db.named(kind, id).await?))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let i: NamedInput = input(merge_patch(current, body)?, &["id"])?;
    let name = i.validate()?;
    Ok(Json(NamedOut::from(
        &state.db.update_named(kind, id, &name).await?,
    )))
}

async fn delete_named(state: &Shared, kind: NamedKind, id: IdPath) -> ApiResult<Response> {
    state.db.delete_named(kind, id_of(id)?).await?;
    Ok(no_content())
}

/// The five handlers of a kind that is only a unique name (manufacturers),
/// declared once: a kind differs only in its paths, its handlers' names
/// (the OpenAPI operation ids) and what deleting it leaves.
macro_rules! named_kind_handlers {
    (
        $kind:expr, $collection:tt, $item:tt, on_delete = $on_delete:tt,
        $list:ident, $create:ident, $get:ident, $update:ident, $delete:ident $(,)?
    ) => {
        #[utoipa::path(get, path = $collection, tag = "inventory", params(PageQuery),
            responses((status = 200, body = Paginated<NamedOut>), (status = 400, body = ErrorBody)))]
        async fn $list(
            _: Authed,
            State(state): State<Shared>,
            q: QueryMap,
            uri: Uri,
        ) -> ApiResult<Json<Paginated<NamedOut>>> {
            list_named(&state, $kind, q, &uri).await
        }

        #[utoipa::path(post, path = $collection, tag = "inventory", request_body = NamedInput,
            responses((status = 201, body = NamedOut), (status = 400, body = ErrorBody),
                      (status = 409, body = ErrorBody)))]
        async fn $create(_: Admin, State(state): State<Shared>, body: Bytes) -> ApiResult<Response> {
            create_named(&state, $kind, &body).await
        }

        #[utoipa::path(get, path = $item, tag = "inventory", params(("id" = i64, Path)),
            responses((status = 200, body = NamedOut), (status = 404, body = ErrorBody)))]
        async fn $get(_: Authed, State(state): State<Shared>, id: IdPath) -> ApiResult<Json<NamedOut>> {
            get_named(&state, $kind, id).await
        }

        /// PUT and PATCH alike: the fields sent change, the others keep.
        #[utoipa::path(patch, path = $item, tag = "inventory",
            params(("id" = i64, Path)), request_body = NamedInput,
            responses((status = 200, body = NamedOut), (status = 400, body = ErrorBody),
                      (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
        async fn $update(
            _: Admin,
            State(state): State<Shared>,
            id: IdPath,
            body: Bytes,
        ) -> ApiResult<Json<NamedOut>> {
            update_named(&state, $kind, id, &body).await
        }

        #[doc = $on_delete]
        #[utoipa::path(delete, path = $item, tag = "inventory", params(("id" = i64, Path)),
            responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody)))]
        async fn $delete(_: Admin, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
            delete_named(&state, $kind, id).await
        }
    };
}

// ---- device groups: a name and a staleness threshold ----------------------------------

#[utoipa::path(get, path = "/api/device-groups/", tag = "inventory", params(PageQuery),
    responses((status = 200, body = Paginated<DeviceGroupOut>), (status = 400, body = ErrorBody)))]
async fn list_device_groups(
    _: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<DeviceGroupOut>>> {
    let q = query_of(q)?;
    let list = |p| state.db.list_device_groups(p);
    super::list_page(&state, &q, &uri, list, |g| DeviceGroupOut::from(&g)).await
}

/// Validates a device group body and stores it as group `id` (or a new one).
async fn save_device_group(
    state: &Shared,
    id: Option<i64>,
    body: Value,
) -> ApiResult<DeviceGroupOut> {
    let i: DeviceGroupInput = input(body, &["id"])?;
    let (name, hours) = i.validate()?;
    Ok(DeviceGroupOut::from(
        &state.db.save_device_group(id, &name, hours).await?,
    ))
}

#[utoipa::path(post, path = "/api/device-groups/", tag = "inventory",
    request_body = DeviceGroupInput,
    responses((status = 201, body = DeviceGroupOut), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn create_device_group(
    _: Admin,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    Ok(created(
        save_device_group(&state, None, parse_body(&body)?).await?,
    ))
}

#[utoipa::path(get, path = "/api/device-groups/{id}/", tag = "inventory",
    params(("id" = i64, Path)),
    responses((status = 200, body = DeviceGroupOut), (status = 404, body = ErrorBody)))]
async fn get_device_group(
    _: Authed,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<DeviceGroupOut>> {
    Ok(Json(DeviceGroupOut::from(
        &state.db.device_group(id_of(id)?).await?,
    )))
}

/// PUT and PATCH alike: the fields sent change, the others keep.
#[utoipa::path(patch, path = "/api/device-groups/{id}/", tag = "inventory",
    params(("id" = i64, Path)), request_body = DeviceGroupInput,
    responses((status = 200, body = DeviceGroupOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_device_group(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<DeviceGroupOut>> {
    let id = id_of(id)?;
    let current = serde_json::to_value(DeviceGroupOut::from(&state.db.device_group(id).await?))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(
        save_device_group(&state, Some(id), merge_patch(current, &body)?).await?,
    ))
}

/// Its devices stay, without a group; schedules lose it as a target.
#[utoipa::path(delete, path = "/api/device-groups/{id}/", tag = "inventory",
    params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody)))]
async fn delete_device_group(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    state.db.delete_device_group(id_of(id)?).await?;
    Ok(no_content())
}

named_kind_handlers!(
    NamedKind::Manufacturer,
    "/api/manufacturers/",
    "/api/manufacturers/{id}/",
    on_delete = "Its device types stay, without a manufacturer.",
    list_manufacturers,
    create_manufacturer,
    get_manufacturer,
    update_manufacturer,
    delete_manufacturer,
);

// ---- device types ----------------------------------------------------------------------

#[utoipa::path(get, path = "/api/device-types/", tag = "inventory", params(PageQuery),
    responses((status = 200, body = Paginated<DeviceTypeOut>), (status = 400, body = ErrorBody)))]
async fn list_device_types(
    _: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<DeviceTypeOut>>> {
    let q = query_of(q)?;
    let list = |p| state.db.list_device_types(p);
    super::list_page(&state, &q, &uri, list, |t| DeviceTypeOut::from(&t)).await
}

async fn save_device_type(state: &Shared, id: Option<i64>, v: Value) -> ApiResult<DeviceTypeOut> {
    let i: DeviceTypeInput = input(v, &["id"])?;
    let t = i.validate(state).await??;
    let t = match id {
        None => state.db.insert_device_type(&t).await?,
        Some(id) => state.db.write_device_type(id, &t).await?,
    };
    Ok(DeviceTypeOut::from(&t))
}

#[utoipa::path(post, path = "/api/device-types/", tag = "inventory",
    request_body = DeviceTypeInput,
    responses((status = 201, body = DeviceTypeOut), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn create_device_type(
    _: Admin,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    Ok(created(
        save_device_type(&state, None, parse_body(&body)?).await?,
    ))
}

#[utoipa::path(get, path = "/api/device-types/{id}/", tag = "inventory",
    params(("id" = i64, Path)),
    responses((status = 200, body = DeviceTypeOut), (status = 404, body = ErrorBody)))]
async fn get_device_type(
    _: Authed,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<DeviceTypeOut>> {
    Ok(Json(DeviceTypeOut::from(
        &state.db.device_type(id_of(id)?).await?,
    )))
}

/// PUT and PATCH alike: the fields sent change, the others keep.
#[utoipa::path(patch, path = "/api/device-types/{id}/", tag = "inventory",
    params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = DeviceTypeOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_device_type(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<DeviceTypeOut>> {
    let id = id_of(id)?;
    let current = serde_json::to_value(DeviceTypeOut::from(&state.db.device_type(id).await?))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(
        save_device_type(&state, Some(id), merge_patch(current, &body)?).await?,
    ))
}

#[utoipa::path(delete, path = "/api/device-types/{id}/", tag = "inventory",
    params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody)))]
async fn delete_device_type(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    state.db.delete_device_type(id_of(id)?).await?;
    Ok(no_content())
}

/// The operations of this module, for the OpenAPI document.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    paths(
        list_devices,
        create_device,
        get_device,
        put_device,
        patch_device,
        delete_device,
        restore_device,
        list_locations,
        create_location,
        get_location,
        put_location,
        patch_location,
        delete_location,
        list_credentials,
        create_credential,
        get_credential,
        update_credential,
        delete_credential,
        list_collection_groups,
        create_collection_group,
        get_collection_group,
        update_collection_group,
        delete_collection_group,
        list_device_groups,
        create_device_group,
        get_device_group,
        update_device_group,
        delete_device_group,
        list_manufacturers,
        create_manufacturer,
        get_manufacturer,
        update_manufacturer,
        delete_manufacturer,
        list_device_types,
        create_device_type,
        get_device_type,
        update_device_type,
        delete_device_type
    ),
    components(schemas(CredentialBody))
)]
pub(super) struct Doc;
