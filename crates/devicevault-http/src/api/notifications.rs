//! Notifications: channels (where), rules (which events, about which
//! devices), and the deliveries of the outbox with their states. Admins
//! only: channels hold credentials, and deliveries name any device.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use devicevault_db::{DeliveryFilter, notifications::delivery_state};
use devicevault_pipeline::app::notifications::{
    self as app_notifications, ChannelInput, ChannelView, RuleInput,
};
use serde_json::Value;

use super::types::{ChannelOut, ErrorBody, NotificationOut, Paginated, RuleOut, TestOut};
use super::{
    Admin, ApiError, ApiResult, Authed, Operator, PageQuery, Shared, id_of, int_param, merge_patch,
    parse_body, query_of,
};

type IdPath = Result<Path<i64>, PathRejection>;
type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/api/notification-channels/",
            get(list_channels).post(create_channel),
        )
        .route(
            "/api/notification-channels/{id}/",
            get(get_channel)
                .put(put_channel)
                .patch(patch_channel)
                .delete(delete_channel),
        )
        .route("/api/notification-channels/{id}/test/", post(test_channel))
        .route(
            "/api/notification-rules/",
            get(list_rules).post(create_rule),
        )
        .route(
            "/api/notification-rules/{id}/",
            get(get_rule)
                .put(put_rule)
                .patch(patch_rule)
                .delete(delete_rule),
        )
        .route("/api/notifications/", get(list_notifications))
        .route("/api/notifications/{id}/", get(get_notification))
}

/// The body as an input, ignoring the read-only fields a GET shows.
fn input<T: serde::de::DeserializeOwned>(v: Value, read_only: &[&str]) -> ApiResult<T> {
    let v = match v {
        Value::Object(mut m) => {
            for k in read_only {
                m.remove(*k);
            }
            Value::Object(m)
        }
        other => other,
    };
    serde_json::from_value(v)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))
}

const CHANNEL_READ_ONLY: [&str; 3] = ["id", "has_secret", "created_at"];
const RULE_READ_ONLY: [&str; 2] = ["id", "created_at"];

fn channel_out(state: &Shared, c: &devicevault_db::NotificationChannel) -> ChannelOut {
    ChannelView::of(state, c).into()
}

// ---- channels ------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/notification-channels/", tag = "notifications", params(PageQuery),
    responses((status = 200, body = Paginated<ChannelOut>), (status = 400, body = ErrorBody)))]
async fn list_channels(
    _: Operator,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<ChannelOut>>> {
    let paging = super::Paging::from_query(&query_of(q)?)?;
    let listed = state.db.channels(paging.db()).await?;
    Ok(Json(super::paginated(
        &uri,
        state.public_url.as_deref(),
        paging,
        listed,
        |c| channel_out(&state, &c),
    )))
}

#[utoipa::path(post, path = "/api/notification-channels/", tag = "notifications",
    request_body = ChannelInput,
    responses((status = 201, body = ChannelOut), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn create_channel(_: Admin, State(state): State<Shared>, body: Bytes) -> ApiResult<Response> {
    let input: ChannelInput = input(parse_body(&body)?, &CHANNEL_READ_ONLY)?;
    let fields = input.validate(&state, None)??;
    let id = state.db.create_channel(&fields).await?;
    let c = state.db.channel(id).await?;
    Ok((StatusCode::CREATED, Json(channel_out(&state, &c))).into_response())
}

#[utoipa::path(get, path = "/api/notification-channels/{id}/", tag = "notifications",
    params(("id" = i64, Path)),
    responses((status = 200, body = ChannelOut), (status = 404, body = ErrorBody)))]
async fn get_channel(
    _: Operator,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<ChannelOut>> {
    let c = state.db.channel(id_of(id)?).await?;
    Ok(Json(channel_out(&state, &c)))
}

async fn update_channel(state: &Shared, id: i64, input: &ChannelInput) -> ApiResult<ChannelOut> {
    let current = state.db.channel(id).await?;
    let fields = input.validate(state, Some(&current))??;
    state.db.update_channel(id, &fields).await?;
    Ok(channel_out(state, &state.db.channel(id).await?))
}

#[utoipa::path(put, path = "/api/notification-channels/{id}/", tag = "notifications",
    params(("id" = i64, Path)), request_body = ChannelInput,
    responses((status = 200, body = ChannelOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn put_channel(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<ChannelOut>> {
    let id = id_of(id)?;
    let input: ChannelInput = input(parse_body(&body)?, &CHANNEL_READ_ONLY)?;
    Ok(Json(update_channel(&state, id, &input).await?))
}

#[utoipa::path(patch, path = "/api/notification-channels/{id}/", tag = "notifications",
    params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = ChannelOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn patch_channel(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<ChannelOut>> {
    let id = id_of(id)?;
    let view = ChannelView::of(&state, &state.db.channel(id).await?);
    // The stored URL and secret are kept unless the patch names them.
    let url = if view.kind == "webhook" {
        view.url
    } else {
        None
    };
    let current = serde_json::json!({
        "name": view.name,
        "kind": view.kind,
        "to": view.to,
        "url": url,
    });
    let input: ChannelInput = input(merge_patch(current, &body)?, &CHANNEL_READ_ONLY)?;
    Ok(Json(update_channel(&state, id, &input).await?))
}

#[utoipa::path(delete, path = "/api/notification-channels/{id}/", tag = "notifications",
    params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn delete_channel(_: Admin, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    state
        .db
        .delete_channel(id_of(id)?)
        .await
        .map_err(|e| match e {
            devicevault_db::DbError::Conflict(_) => {
                ApiError::conflict("a rule sends to this channel: delete or change the rule first")
            }
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/notification-channels/{id}/test/", tag = "notifications",
    params(("id" = i64, Path)),
    responses((status = 200, body = TestOut, description = "what sending a test notification now did"),
              (status = 404, body = ErrorBody)))]
async fn test_channel(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<TestOut>> {
    let outcome = app_notifications::send_test(&state, id_of(id)?).await?;
    Ok(Json(TestOut {
        delivered: outcome.delivered,
        error: outcome.error,
    }))
}

// ---- rules ---------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/notification-rules/", tag = "notifications", params(PageQuery),
    responses((status = 200, body = Paginated<RuleOut>), (status = 400, body = ErrorBody)))]
async fn list_rules(
    _: Operator,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<RuleOut>>> {
    let paging = super::Paging::from_query(&query_of(q)?)?;
    let listed = state.db.rules(paging.db()).await?;
    Ok(Json(super::paginated(
        &uri,
        state.public_url.as_deref(),
        paging,
        listed,
        |r| RuleOut::from(&r),
    )))
}

#[utoipa::path(post, path = "/api/notification-rules/", tag = "notifications",
    request_body = RuleInput,
    responses((status = 201, body = RuleOut), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn create_rule(
    Operator(auth): Operator,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let input: RuleInput = input(parse_body(&body)?, &RULE_READ_ONLY)?;
    app_notifications::require_rule_change(&state, &auth.user, &auth.scope, None, Some(&input))
        .await??;
    let fields = input.validate(&state).await??;
    let id = state.db.create_rule(&fields).await?;
    let r = state.db.rule(id).await?;
    Ok((StatusCode::CREATED, Json(RuleOut::from(&r))).into_response())
}

#[utoipa::path(get, path = "/api/notification-rules/{id}/", tag = "notifications",
    params(("id" = i64, Path)),
    responses((status = 200, body = RuleOut), (status = 404, body = ErrorBody)))]
async fn get_rule(
    _: Operator,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<RuleOut>> {
    Ok(Json(RuleOut::from(&state.db.rule(id_of(id)?).await?)))
}

async fn update_rule(
    state: &Shared,
    auth: &Authed,
    id: i64,
    input: &RuleInput,
) -> ApiResult<RuleOut> {
    app_notifications::require_rule_change(state, &auth.user, &auth.scope, Some(id), Some(input))
        .await??;
    let fields = input.validate(state).await??;
    state.db.update_rule(id, &fields).await?;
    Ok(RuleOut::from(&state.db.rule(id).await?))
}

#[utoipa::path(put, path = "/api/notification-rules/{id}/", tag = "notifications",
    params(("id" = i64, Path)), request_body = RuleInput,
    responses((status = 200, body = RuleOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn put_rule(
    Operator(auth): Operator,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<RuleOut>> {
    let id = id_of(id)?;
    let input: RuleInput = input(parse_body(&body)?, &RULE_READ_ONLY)?;
    Ok(Json(update_rule(&state, &auth, id, &input).await?))
}

#[utoipa::path(patch, path = "/api/notification-rules/{id}/", tag = "notifications",
    params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = RuleOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn patch_rule(
    Operator(auth): Operator,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<RuleOut>> {
    let id = id_of(id)?;
    let current = serde_json::to_value(RuleInput::of(&state.db.rule(id).await?))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let input: RuleInput = input(merge_patch(current, &body)?, &RULE_READ_ONLY)?;
    Ok(Json(update_rule(&state, &auth, id, &input).await?))
}

#[utoipa::path(delete, path = "/api/notification-rules/{id}/", tag = "notifications",
    params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody)))]
async fn delete_rule(
    Operator(auth): Operator,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    app_notifications::require_rule_change(&state, &auth.user, &auth.scope, Some(id), None)
        .await??;
    state.db.delete_rule(id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- deliveries ----------------------------------------------------------------------

/// Filters of the delivery list.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct NotificationQuery {
    #[param(minimum = 1)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<i64>,
    /// Only the deliveries of this rule.
    rule: Option<i64>,
    /// Only the deliveries to this channel.
    channel: Option<i64>,
    /// `pending`, `delivering`, `delivered` or `dead`.
    #[param(pattern = "^(pending|delivering|delivered|dead)$")]
    state: Option<String>,
}

#[utoipa::path(get, path = "/api/notifications/", tag = "notifications", params(NotificationQuery),
    responses((status = 200, body = Paginated<NotificationOut>), (status = 400, body = ErrorBody)))]
async fn list_notifications(
    _: Operator,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<NotificationOut>>> {
    let q = query_of(q)?;
    let paging = super::Paging::from_query(&q)?;
    let wanted = q.get("state").map(|s| s.trim()).filter(|s| !s.is_empty());
    if let Some(s) = wanted
        && !delivery_state::ALL.contains(&s)
    {
        return Err(ApiError::fields(vec![(
            "state",
            "must be pending, delivering, delivered or dead".into(),
        )]));
    }
    let filter = DeliveryFilter {
        rule: int_param(&q, "rule")?,
        channel: int_param(&q, "channel")?,
        state: wanted.map(str::to_owned),
    };
    let listed = state.db.deliveries(&filter, paging.db()).await?;
    Ok(Json(super::paginated(
        &uri,
        state.public_url.as_deref(),
        paging,
        listed,
        |d| NotificationOut::from(&d),
    )))
}

#[utoipa::path(get, path = "/api/notifications/{id}/", tag = "notifications",
    params(("id" = i64, Path)),
    responses((status = 200, body = NotificationOut), (status = 404, body = ErrorBody)))]
async fn get_notification(
    _: Operator,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<NotificationOut>> {
    Ok(Json(NotificationOut::from(
        &state.db.delivery(id_of(id)?).await?,
    )))
}

/// The operations of this module, for the OpenAPI document.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(
    list_channels,
    create_channel,
    get_channel,
    put_channel,
    patch_channel,
    delete_channel,
    test_channel,
    list_rules,
    create_rule,
    get_rule,
    put_rule,
    patch_rule,
    delete_rule,
    list_notifications,
    get_notification
))]
pub(super) struct Doc;
