//! A signed-in user's own account (`/account`: password, API tokens,
//! "sign out everywhere"), and the administrators' list of every token
//! (`/admin/tokens`). The rules are the application's (`app::tokens`): a named
//! token has a name and an expiry, its secret is shown once; a password
//! change or "sign out everywhere" ends every other session and token.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use devicevault_db::{TokenInfo, TokenKind, User};

use super::html::{self, Ctx, Errors, Nav, esc, field, notice, select, text_input};
use super::session::{AdminSession, Posted, Session};
use super::{WebError, WebResult, html_page, query};
use crate::Shared;
use devicevault_pipeline::app::auth;
use devicevault_pipeline::app::login::LoginError;
use devicevault_pipeline::app::tokens::{
    DEFAULT_TOKEN_DAYS, check_token_name, expiry_in_days, make_named_token,
};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(create_own_token))
        .route("/account/tokens/{id}/delete", post(revoke_own_token))
        .route("/account/sign-out-everywhere", post(sign_out_everywhere))
        .route("/admin/tokens", get(all_tokens))
}

/// Fixed messages shown after a redirect.
fn flash(code: &str) -> Option<&'static str> {
    Some(match code {
        "password" => "Password changed. Every other session and token of yours has ended.",
        "revoked" => "Token revoked.",
        "everywhere" => "Signed out everywhere else: every other session and token has ended.",
        _ => return None,
    })
}

/// What a token is, for people.
pub(super) fn kind_label(t: &TokenInfo) -> &'static str {
    match t.kind {
        TokenKind::Login => "API login",
        TokenKind::Named => "API token",
        TokenKind::Session => "web session",
    }
}

/// A table of tokens; `revoke` gives each one's revoke action, if any.
pub(super) fn tokens_table(
    ctx: &Ctx,
    tokens: &[TokenInfo],
    show_user: bool,
    revoke: impl Fn(&TokenInfo) -> Option<String>,
) -> String {
    if tokens.is_empty() {
        return r#"<p class="muted">None.</p>"#.into();
    }
    let mut b = String::from(r#"<div class="table-wrap"><table class="list"><thead><tr>"#);
    if show_user {
        b.push_str(r#"<th scope="col">User</th>"#);
    }
    b.push_str(r#"<th scope="col">Kind</th><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead><tbody>"#);
    for t in tokens {
        b.push_str("<tr>");
        if show_user {
            let _ = write!(
                b,
                r#"<td><a href="/admin/users/{}">{}</a></td>"#,
                t.user_id,
                esc(&t.username)
            );
        }
        let current = t.kind == TokenKind::Session && t.id == ctx.session_id;
        let expires = match (&t.expires_at, t.kind) {
            (Some(e), _) => html::time(e),
            (None, TokenKind::Login) => "when idle".into(),
            (None, _) => "never".into(),
        };
        let _ = write!(
            b,
            r#"<td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            kind_label(t),
            if current {
                r#" <span class="muted small">(this one)</span>"#
            } else {
                ""
            },
            t.name
                .as_deref()
                .map(|n| esc(n).to_string())
                .unwrap_or_default(),
            html::time(&t.created_at),
            t.last_used_at
                .as_deref()
                .map(html::time)
                .unwrap_or_default(),
            expires,
            match revoke(t) {
                Some(action) if !current => html::post_button(
                    ctx,
                    &action,
                    "Revoke",
                    "small subtle",
                    Some("Revoke this token? Clients using it will be refused."),
                    &[],
                ),
                _ => String::new(),
            },
        );
    }
    b.push_str("</tbody></table></div>");
    b
}

/// The form that makes a named token.
pub(super) fn new_token_form(ctx: &Ctx, action: &str, name: &str, errors: &Errors) -> String {
    let mut f = format!(
        r#"<form method="post" action="{}" class="form panel"><h2>New API token</h2>{}"#,
        esc(action),
        ctx.csrf_field()
    );
    f.push_str(r#"<div class="grid">"#);
    f.push_str(&field(
        "name",
        "Name",
        "What uses it, e.g. “nightly export script”.",
        &text_input(name, r#"required autocomplete="off""#),
        errors,
    ));
    let options: Vec<(String, String)> = [
        ("30", "30 days"),
        ("90", "90 days"),
        ("365", "1 year"),
        ("never", "never (until revoked)"),
    ]
    .into_iter()
    .map(|(v, l)| (v.to_owned(), l.to_owned()))
    .collect();
    f.push_str(&field(
        "expires_in_days",
        "Expires after",
        "",
        &select(&options, &DEFAULT_TOKEN_DAYS.to_string(), None),
        errors,
    ));
    f.push_str(r#"</div><div class="buttons"><button type="submit" class="primary">Create token</button></div></form>"#);
    f
}

/// Reads the new-token form: the name and the expiry.
pub(super) fn token_form_input(
    form: &super::session::Form,
    errors: &mut Errors,
) -> (String, Option<devicevault_core::Timestamp>) {
    let name = form.get("name").to_owned();
    if let Err(e) = check_token_name(&name) {
        errors.add("name", e);
    }
    let days = match form.get("expires_in_days") {
        "never" => None,
        d => match d.parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add("expires_in_days", "Pick how long the token lives.");
                None
            }
        },
    };
    let expires = expiry_in_days(days).unwrap_or_else(|e| {
        errors.add("expires_in_days", e);
        None
    });
    (name.trim().to_owned(), expires)
}

/// The notice that shows a new token's secret, once.
pub(super) fn new_token_notice(owner: &str, secret: &str) -> String {
    format!(
        r#"<div class="notice ok" role="status"><p>New API token for {} — copy it now, it is not shown again:</p><p><code class="token" id="new-token">{}</code></p><p class="small">Send it as <code>Authorization: Token …</code>.</p></div>"#,
        esc(owner),
        esc(secret)
    )
}

async fn account_view(
    ctx: &Ctx,
    state: &Shared,
    errors: &Errors,
    flash_html: &str,
    new_token: Option<&str>,
    token_name: &str,
) -> WebResult<Response> {
    let me: &User = &ctx.user;
    let tokens = state.db.list_tokens(Some(me.id)).await?;
    let mut b = html::heading("Your account", "");
    b.push_str(flash_html);
    if let Some(t) = new_token {
        b.push_str(&new_token_notice(&me.username, t));
    }
    let _ = write!(
        b,
        r#"<p>Signed in as <strong>{}</strong>, {}{}.</p>"#,
        esc(&me.username),
        if me.is_admin {
            "an administrator"
        } else {
            "a reader"
        },
        if me.sees_secrets() {
            ", shown configurations with their secrets"
        } else {
            ", shown configurations with their secrets masked"
        }
    );
    // Password.
    let mut f = format!(
        r#"<form method="post" action="/account/password" class="form panel"><h2>Change your password</h2>{}{}"#,
        ctx.csrf_field(),
        errors.summary()
    );
    f.push_str(r#"<div class="grid">"#);
    f.push_str(&field(
        "current_password",
        "Current password",
        "",
        r#"<input type="password" {attrs} autocomplete="current-password" required>"#,
        errors,
    ));
    f.push_str(&field(
        "password",
        "New password",
        &format!(
            "At least {} characters. Every other session and API token of yours ends; this session stays.",
            auth::MIN_PASSWORD_CHARS
        ),
        r#"<input type="password" {attrs} autocomplete="new-password" required>"#,
        errors,
    ));
    f.push_str(&field(
        "password_confirm",
        "New password again",
        "",
        r#"<input type="password" {attrs} autocomplete="new-password" required>"#,
        errors,
    ));
    f.push_str(r#"</div><div class="buttons"><button type="submit" class="primary">Change password</button></div></form>"#);
    b.push_str(&f);
    // Tokens.
    b.push_str(r#"<section class="panel"><h2>Your API tokens and sessions</h2>"#);
    b.push_str(&tokens_table(ctx, &tokens, false, |t| {
        Some(format!("/account/tokens/{}/delete", t.id))
    }));
    b.push_str(r#"<div class="buttons">"#);
    b.push_str(&html::post_button(
        ctx,
        "/account/sign-out-everywhere",
        "Sign out everywhere else",
        "",
        Some("End every other session and API token of yours?"),
        &[],
    ));
    b.push_str("</div></section>");
    b.push_str(&new_token_form(ctx, "/account/tokens", token_name, errors));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, html_page(ctx, "Your account", Nav::None, &b)).into_response())
}

async fn account(
    Session(ctx): Session,
    State(state): State<Shared>,
    uri: axum::http::Uri,
) -> WebResult<Response> {
    let f = flash(query(&uri).get("flash"))
        .map(|m| notice("ok", m))
        .unwrap_or_default();
    account_view(&ctx, &state, &Errors::default(), &f, None, "").await
}

async fn change_password(
    State(state): State<Shared>,
    parts: axum::http::request::Parts,
    p: Posted,
) -> WebResult<Response> {
    let ctx = &p.ctx;
    let mut e = Errors::default();
    let password = p.form.get("password").to_owned();
    if let Err(m) = auth::check_new_password(&password) {
        e.add(
            "password",
            format!("{}{}.", &m[..1].to_uppercase(), &m[1..]),
        );
    } else if password != p.form.get("password_confirm") {
        e.add("password_confirm", "The two passwords differ.");
    }
    if e.is_empty() {
        let addr = crate::http_server::client_addr(&parts).ip();
        match state
            .login
            .check(
                &state.db,
                &ctx.user.username,
                p.form.get("current_password"),
                addr,
                "web password change",
            )
            .await
        {
            Ok(_) => {}
            Err(LoginError::Invalid) => e.add("current_password", "This is not your password."),
            Err(LoginError::Db(err)) => return Err(WebError::from(err).with_ctx(ctx.clone())),
            Err(other) => e.add("current_password", other.to_string()),
        }
    }
    if !e.is_empty() {
        return account_view(ctx, &state, &e, "", None, "").await;
    }
    let hash = hash(password).await?;
    let revoked = state
        .db
        .change_password(ctx.user.id, &hash, Some(ctx.session_id))
        .await?;
    tracing::info!(user = %ctx.user.username, revoked, "password changed by its owner");
    Ok(Redirect::to("/account?flash=password").into_response())
}

/// Hashes a new password off the async threads.
pub(super) async fn hash(password: String) -> WebResult<String> {
    let failed = |e: String| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "Hashing failed", e);
    tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(e.to_string()))
}

async fn create_own_token(State(state): State<Shared>, p: Posted) -> WebResult<Response> {
    let mut e = Errors::default();
    let (name, expires) = token_form_input(&p.form, &mut e);
    if !e.is_empty() {
        return account_view(&p.ctx, &state, &e, "", None, &name).await;
    }
    let (t, secret) = make_named_token(&state, p.ctx.user.id, &name, expires).await?;
    tracing::info!(user = %p.ctx.user.username, token = t.id, name = %name, "API token created from the web UI");
    // Shown once, in this response only (never in a URL).
    account_view(&p.ctx, &state, &Errors::default(), "", Some(&secret), "").await
}

async fn revoke_own_token(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: Posted,
) -> WebResult<Response> {
    state
        .db
        .delete_token(Some(p.ctx.user.id), id)
        .await
        .map_err(|e| WebError::from(e).with_ctx(p.ctx.clone()))?;
    Ok(Redirect::to("/account?flash=revoked").into_response())
}

async fn sign_out_everywhere(State(state): State<Shared>, p: Posted) -> WebResult<Response> {
    let revoked = state
        .db
        .revoke_user_tokens(p.ctx.user.id, Some(p.ctx.session_id))
        .await?;
    tracing::info!(user = %p.ctx.user.username, revoked, "signed out everywhere from the web UI");
    Ok(Redirect::to("/account?flash=everywhere").into_response())
}

async fn all_tokens(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
) -> WebResult<Response> {
    let tokens = state.db.list_tokens(None).await?;
    let mut b = html::heading("Tokens and sessions", "");
    b.push_str(r#"<p class="muted">Every API token, API login and web session of every user. Revoking one refuses its client at once; to make a token, open the user's page.</p>"#);
    b.push_str(&tokens_table(&ctx, &tokens, true, |t| {
        Some(format!("/admin/users/{}/tokens/{}/delete", t.user_id, t.id))
    }));
    Ok(super::admin::tokens_page(&ctx, &b))
}
