//! `/admin/audit`: the audit log for administrators, filtered like `GET
//! /api/audit/` (the same validator), newest first.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use devicevault_db::{AuditRecord, Listed, Page};
use devicevault_pipeline::app::audit::{self, FILTER_PARAMS};
use devicevault_pipeline::app::inventory::FieldErrors;
use maud::{Markup, html};

use super::admin_page;
use crate::Shared;
use crate::web::WebResult;
use crate::web::html::{self, Control, Ctx, Input, field, heading};
use crate::web::query;
use crate::web::session::{AdminSession, Form};

const PAGE_SIZE: i64 = 100;

/// What the page shows.
pub(super) struct AuditView {
    /// The filter fields as typed.
    values: Vec<(&'static str, String)>,
    errors: FieldErrors,
    page: i64,
    listed: Listed<AuditRecord>,
}

impl AuditView {
    fn value(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn href(&self, page: i64) -> String {
        let mut params: Vec<(&str, String)> =
            self.values.iter().map(|(k, v)| (*k, v.clone())).collect();
        params.push((
            "page",
            if page > 1 {
                page.to_string()
            } else {
                String::new()
            },
        ));
        html::link("/admin/audit", &params)
    }
}

pub(super) async fn page(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
    uri: Uri,
) -> WebResult<Response> {
    let q = query(&uri);
    let view = load(&state, &q).await?;
    let status = if view.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(admin_page(
        &ctx,
        "audit",
        status,
        "Audit log",
        render(&ctx, &view),
    ))
}

async fn load(state: &Shared, q: &Form) -> WebResult<AuditView> {
    let values: Vec<(&'static str, String)> = FILTER_PARAMS
        .iter()
        .map(|k| (*k, q.get(k).trim().to_owned()))
        .collect();
    let page = q.get("page").trim().parse::<i64>().unwrap_or(1).max(1);
    let (errors, listed) = match audit::filter(|k| Some(q.get(k).to_owned())) {
        Ok(filter) => {
            let listed = state
                .db
                .audit_list(
                    &filter,
                    Page {
                        limit: PAGE_SIZE,
                        offset: (page - 1).saturating_mul(PAGE_SIZE),
                    },
                )
                .await?;
            (FieldErrors::default(), listed)
        }
        Err(errors) => (
            errors,
            Listed {
                rows: Vec::new(),
                total: 0,
            },
        ),
    };
    Ok(AuditView {
        values,
        errors,
        page,
        listed,
    })
}

/// A link to the object of a row, where it has a page.
fn object_href(r: &AuditRecord) -> Option<String> {
    let id = r.entry.object_id.as_deref()?;
    match r.entry.object_type.as_deref()? {
        "devices" => Some(format!("/devices/{id}")),
        "stored-backups" => Some(format!("/backups/{id}")),
        "users" => Some(format!("/admin/users/{id}")),
        _ => None,
    }
}

pub(super) fn render(_ctx: &Ctx, v: &AuditView) -> Markup {
    let text = |name: &'static str, label: &str, kind: &'static str, placeholder| {
        field(
            name,
            label,
            html! {},
            Control::Input(
                Input {
                    kind,
                    placeholder,
                    ..Input::TEXT
                },
                v.value(name),
            ),
            &v.errors,
        )
    };
    let filtered = v.values.iter().any(|(_, val)| !val.is_empty());
    html! {
        (heading("Audit log", html! {}))
        p class="muted" {
            "Every change made through the API, the web UI or the command line, every sign-in, "
            "and every read of a configuration. Each row carries the SHA-256 of the one before: "
            code { "devicevault audit verify" } " checks the chain."
        }
        form method="get" action="/admin/audit" class="filters" role="search" aria-label="Filter the audit log" {
            (text("actor", "Who", "search", Some("user name")))
            (text("action", "Action", "search", Some("devices. or devices.update")))
            (text("object_type", "Object type", "search", Some("devices")))
            (text("object_id", "Object id", "search", None))
            (text("since", "From", "date", None))
            (text("until", "To", "date", None))
            div class="filter-buttons" {
                button type="submit" { "Filter" }
                @if filtered { " " a href="/admin/audit" class="button subtle" { "Clear" } }
            }
        }
        @if v.listed.total == 0 {
            (html::empty(if filtered { "No entry matches these filters." } else { "The audit log is empty." }, html! {}))
        } @else {
            div class="table-wrap" {
                table class="list audit" {
                    thead { tr {
                        th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Via" }
                        th scope="col" { "From" } th scope="col" { "Action" } th scope="col" { "Object" }
                        th scope="col" { "Fields" } th scope="col" { "Outcome" }
                    } }
                    tbody {
                        @for r in &v.listed.rows {
                            @let e = &r.entry;
                            tr data-audit=(r.id) {
                                td class="nowrap" title=(r.at) { (html::time(&r.at)) }
                                td { (e.actor) }
                                td class="muted" { (e.via) }
                                td class="mono" { (e.address.as_deref().unwrap_or("")) }
                                td class="mono" { (e.action) }
                                td {
                                    @let label = match (&e.object_type, &e.object_id) {
                                        (Some(t), Some(id)) => format!("{t} {id}"),
                                        (Some(t), None) => t.clone(),
                                        _ => String::new(),
                                    };
                                    @if let Some(h) = object_href(r) { a href=(h) { (label) } } @else { (label) }
                                }
                                td class="mono small" { @if e.fields != "{}" { (e.fields) } }
                                td {
                                    @match e.outcome.as_str() {
                                        "ok" => span class="badge ok" { "ok" },
                                        o => span class="badge bad" { (o) },
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div class="list-foot" {
                (html::pagination(v.page, PAGE_SIZE, v.listed.total, |p| v.href(p)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use devicevault_db::NewAudit;

    fn row(id: i64, action: &str, fields: &str, outcome: &str) -> AuditRecord {
        AuditRecord {
            id,
            at: "2026-03-05T04:05:06.000Z".into(),
            entry: NewAudit {
                actor: "<alice>".into(),
                via: "web".into(),
                address: Some("192.0.2.7".into()),
                action: action.into(),
                object_type: Some("devices".into()),
                object_id: Some("12".into()),
                fields: fields.into(),
                outcome: outcome.into(),
            },
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn rows_show_who_what_and_link_their_object_escaped() {
        let v = AuditView {
            values: vec![("actor", "<alice>".into())],
            errors: FieldErrors::default(),
            page: 1,
            listed: Listed {
                rows: vec![
                    row(2, "devices.update", r#"{"name":"<r1>"}"#, "ok"),
                    row(1, "devices.delete", "{}", "denied"),
                ],
                total: 2,
            },
        };
        let page = render(&crate::web::html::test_ctx(true), &v).into_string();
        assert!(
            page.contains("&lt;alice&gt;") && !page.contains("<alice>"),
            "{page}"
        );
        assert!(
            page.contains(r#"<a href="/devices/12">devices 12</a>"#),
            "{page}"
        );
        assert!(page.contains("devices.update") && page.contains("&lt;r1&gt;"));
        assert!(page.contains(r#"class="badge bad">denied<"#), "{page}");
        assert!(page.contains("Clear"), "a filtered view can be cleared");
    }

    #[test]
    fn a_bad_filter_is_shown_on_its_field_and_nothing_is_listed() {
        let mut errors = FieldErrors::default();
        errors.add("since", "\"soon\" is neither a date nor a time");
        let v = AuditView {
            values: vec![("since", "soon".into())],
            errors,
            page: 1,
            listed: Listed {
                rows: Vec::new(),
                total: 0,
            },
        };
        let page = render(&crate::web::html::test_ctx(true), &v).into_string();
        assert!(
            page.contains("has-error") && page.contains("No entry matches"),
            "{page}"
        );
    }
}
