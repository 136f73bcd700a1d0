//! `/admin/sign-in`: how people sign in (issue 20) — the directory, the
//! OpenID providers and the group mapping table as the configuration file
//! sets them (read-only: they change in `devicevault.toml`), and the
//! directory accounts with their last check. A directory user's own page
//! shows which rows of the table granted its rights ([`user_panel`]).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use devicevault_db::{GrantRecord, User};
use maud::{Markup, html};

use super::html::{Nav, heading};
use super::session::AdminSession;
use super::{WebResult, html_page};
use crate::Shared;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/admin/sign-in", get(page))
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

async fn page(AdminSession(ctx): AdminSession, State(state): State<Shared>) -> WebResult<Response> {
    let users: Vec<User> = state
        .db
        .list_users()
        .await?
        .into_iter()
        .filter(|u| !u.is_local())
        .collect();
    let identity = &state.identity;
    let body = html! {
        (heading("Sign-in", html! {}))
        p class="muted" {
            "Local accounts always sign in with their own password (keep one administrator as a break-glass account). "
            "What follows comes from the configuration file ("
            code { "[ldap]" } ", " code { "[[oidc]]" } ", " code { "[[group_mapping]]" } ") and changes there."
        }
        section class="panel" {
            h2 { "LDAP directory" }
            @match identity.ldap() {
                None => { p class="muted" { "Not configured." } }
                Some(ldap) => {
                    @let c = ldap.config();
                    table {
                        tbody {
                            tr { th { "URL" } td { code { (c.url) } } }
                            tr { th { "StartTLS" } td { (yes(c.starttls)) } }
                            tr { th { "Plaintext allowed" } td { (yes(c.allow_plaintext)) } }
                            tr { th { "Service account" } td { code { (c.bind_dn) } } }
                            tr { th { "Users under" } td { code { (c.user_base) } } " " code { (c.user_filter) } }
                            tr { th { "Groups under" } td {
                                @if let Some(b) = &c.group_base { code { (b) } " " code { (c.group_filter) } }
                                @else { "no group search" }
                                @if let Some(m) = &c.member_of_attribute { " · member-of attribute " code { (m) } }
                            } }
                            tr { th { "Accounts checked every" } td { (c.refresh_interval_secs) " s" } }
                        }
                    }
                }
            }
        }
        section class="panel" {
            h2 { "OpenID Connect providers" }
            @let providers: Vec<_> = identity.providers().collect();
            @if providers.is_empty() { p class="muted" { "None configured." } } @else {
                table {
                    thead { tr { th { "Name" } th { "Issuer" } th { "Client" } th { "Callback" } th { "Groups claim" } } }
                    tbody {
                        @for p in providers {
                            tr {
                                td { (p.name) }
                                td { code { (p.issuer_url) } }
                                td { code { (p.client_id) } }
                                td { code { (p.redirect_url) } }
                                td { code { (p.groups_claim) } }
                            }
                        }
                    }
                }
            }
        }
        section class="panel" {
            h2 { "Group mapping" }
            p class="small muted" {
                "Every row naming one of a user's groups applies: the highest role wins, device groups add up, "
                "view secrets if any row grants it. A user in no mapped group cannot sign in."
            }
            @if identity.mappings().is_empty() { p class="muted" { "No rows: nobody signs in through a directory or provider." } } @else {
                table id="group-mapping" {
                    thead { tr { th { "Directory group" } th { "Role" } th { "Device groups" } th { "View secrets" } } }
                    tbody {
                        @for m in identity.mappings() {
                            tr {
                                td { code { (m.group) } }
                                td { (m.role) }
                                td { @if m.device_groups.is_empty() { span class="muted" { "none" } } @else { (m.device_groups.join(", ")) } }
                                td { (yes(m.view_secrets)) }
                            }
                        }
                    }
                }
            }
        }
        section class="panel" {
            h2 { "Directory and single sign-on accounts" }
            @if users.is_empty() { p class="muted" { "None yet: accounts are created at their first sign-in." } } @else {
                table {
                    thead { tr { th { "User" } th { "Source" } th { "Role" } th { "Last confirmed" } th { "Disabled" } } }
                    tbody {
                        @for u in &users {
                            tr {
                                td { a href={ "/admin/users/" (u.id) } { (u.username) } }
                                td { code { (u.source) } }
                                td { (u.role) }
                                td { (u.directory_checked_at.as_deref().unwrap_or("never")) }
                                td { (u.disabled_at.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html_page(&ctx, StatusCode::OK, "Sign-in", Nav::Admin, body))
}

/// On a user's page: where the account comes from and, for a directory
/// account, the mapping rows that granted its rights.
pub(super) fn user_panel(user: &User, grant: Option<&GrantRecord>) -> Markup {
    html! {
        section class="panel" id="sign-in-source" {
            h2 { "Sign-in" }
            @if user.is_local() {
                p { "A local account: it signs in with its password here." }
            } @else {
                p {
                    "Signs in through " code { (user.source) } "; its role, device groups and secrets permission "
                    "come from its groups at each sign-in"
                    @if user.source == devicevault_db::SOURCE_LDAP { " and each directory check" }
                    " (changes made here are overwritten then). "
                    a href="/admin/sign-in" { "Sign-in settings" }
                }
                @if let Some(d) = &user.disabled_at { (super::html::notice("error", &format!("Disabled by its directory at {d}: it cannot sign in and none of its tokens work."))) }
                @if let Some(g) = grant {
                    p { "Granted by the mapping rows: "
                        @for (i, row) in g.granted_by.iter().enumerate() { @if i > 0 { ", " } code { (row) } }
                        @if g.granted_by.is_empty() { span class="muted" { "none" } }
                        " (as of " (g.updated_at) ")." }
                    p class="small muted" { "Its groups then: " (g.groups.join(", ")) }
                }
            }
        }
    }
}
