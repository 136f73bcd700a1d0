//! A location's retention page (issue 17): its settings, the dry run of
//! what a pass would remove now, and "run now". Administrators only.

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use devicevault_core::Timestamp;
use devicevault_db::BackupLocation;
use devicevault_pipeline::app::inventory::FieldErrors;
use devicevault_pipeline::app::retention::{self as app_retention, RetentionForm, RetentionReport};
use maud::{Markup, html};

use super::super::html::{self, Control, Ctx, crumbs, field, form_panel, heading, post_button};
use super::super::session::{AdminPosted, AdminSession};
use super::super::{WebResult, form_status, query};
use super::admin_page;
use crate::Shared;

/// What the page shows.
pub(super) struct RetentionPage {
    pub location: BackupLocation,
    pub form: RetentionForm,
    pub report: RetentionReport,
    pub errors: FieldErrors,
    pub flash: Option<&'static str>,
}

impl RetentionPage {
    async fn load(state: &Shared, id: i64) -> WebResult<Self> {
        let location = state.db.location(id).await?;
        let retention = state.db.location_retention(id).await?;
        let report = app_retention::dry_run(state, id, Timestamp::now()).await?;
        Ok(Self {
            location,
            form: RetentionForm::of(retention),
            report,
            errors: FieldErrors::default(),
            flash: None,
        })
    }

    fn into_response(self, ctx: &Ctx) -> Response {
        admin_page(
            ctx,
            "locations",
            form_status(&self.errors),
            &format!("Retention of {}", self.location.name),
            render(ctx, &self),
        )
    }
}

fn flash(code: &str) -> Option<&'static str> {
    Some(match code {
        "saved" => "Retention saved.",
        "pruned" => {
            "Pruned: the versions listed are gone from the index; fs files follow after the grace period."
        }
        _ => return None,
    })
}

/// The page (pure: the unit tests render it from a struct).
pub(super) fn render(ctx: &Ctx, p: &RetentionPage) -> Markup {
    let base = format!("/admin/locations/{}/retention", p.location.id);
    let r = &p.report;
    let number = |name, label, hint: &str, value| {
        field(
            name,
            label,
            html! { (hint) },
            Control::Input(
                html::Input {
                    inputmode: Some("numeric"),
                    ..html::Input::TEXT
                },
                value,
            ),
            &p.errors,
        )
    };
    html! {
        (crumbs(&[("/admin/locations", "Backup locations"),
                  (&format!("/admin/locations/{}", p.location.id), &p.location.name)]))
        (heading(&format!("Retention of {}", p.location.name), html! {}))
        (html::flash(p.flash))
        (form_panel(ctx, &base, "What this location keeps", &p.errors, html! {
            p class="small muted" {
                "Each device keeps its newest successful version whatever is set here, and every version a notification still has to send. "
                "With both limits, a version goes only when both allow it. Empty keeps everything. "
                @if p.location.location_type == devicevault_core::StorageBackendKind::Git {
                    "This is a Git location: pruning removes versions from the index only; the repository's history is kept whole."
                } @else {
                    "This is an fs location: the files of pruned versions are deleted after a grace period."
                }
            }
            div class="grid" {
                (number("keep_last", "Keep the last versions", "How many newest versions of each device.", p.form.keep_last.as_str()))
                (number("keep_days", "Keep versions younger than (days)", "Versions younger than this are kept.", p.form.keep_days.as_str()))
            }
        }, "Save", None))
        section class="panel" aria-labelledby="dry-h" {
            h2 id="dry-h" { "What a pass would remove now" }
            @if r.versions == 0 {
                p class="muted" { "No versions." }
            } @else {
                p { (html::count(r.versions)) " versions, " (html::bytes(r.bytes)) ":" }
                div class="table-wrap" {
                    table class="list" {
                        thead { tr { th scope="col" { "Device" } th scope="col" { "Versions" } th scope="col" { "Size" } } }
                        tbody {
                            @for d in &r.devices {
                                tr {
                                    td { a href={ "/devices/" (d.device_id) } { (d.device_name) } }
                                    td { (html::count(d.count)) }
                                    td { (html::bytes(d.bytes)) }
                                }
                            }
                        }
                    }
                }
            }
            p class="small muted" {
                "Everywhere: " (html::count(r.failed_results)) " failed collection results, "
                (html::count(r.failed_stored)) " failed stores and "
                (html::count(r.finished_jobs)) " finished jobs past their periods."
            }
            div class="buttons" {
                (post_button(ctx, &format!("{base}/run"), "Prune now", "danger",
                    Some("Remove these versions now?"), &[]))
            }
        }
    }
}

pub(super) async fn page(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
    Path(id): Path<i64>,
    uri: Uri,
) -> WebResult<Response> {
    let mut page = RetentionPage::load(&state, id).await?;
    page.flash = flash(query(&uri).get("flash"));
    Ok(page.into_response(&ctx))
}

pub(super) async fn save(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    state.db.location(id).await?;
    let form = RetentionForm {
        keep_last: p.form.get("keep_last").into(),
        keep_days: p.form.get("keep_days").into(),
    };
    match form.validate() {
        Ok(r) => {
            state.db.set_location_retention(id, r).await?;
            Ok(
                Redirect::to(&format!("/admin/locations/{id}/retention?flash=saved"))
                    .into_response(),
            )
        }
        Err(errors) => {
            let mut page = RetentionPage::load(&state, id).await?;
            page.form = form;
            page.errors = errors;
            Ok(page.into_response(&p.ctx))
        }
    }
}

pub(super) async fn run(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    _: AdminPosted,
) -> WebResult<Response> {
    let report = app_retention::run_now(&state, id, Timestamp::now()).await?;
    tracing::info!(
        location_id = id,
        versions = report.versions,
        "retention run from the web UI"
    );
    Ok(Redirect::to(&format!("/admin/locations/{id}/retention?flash=pruned")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use devicevault_pipeline::app::retention::DevicePrune;

    fn page(kind: devicevault_core::StorageBackendKind, errors: FieldErrors) -> RetentionPage {
        RetentionPage {
            location: BackupLocation {
                id: 7,
                name: "archive <main>".into(),
                location_type: kind,
                config: serde_json::Map::new(),
            },
            form: RetentionForm {
                keep_last: "3".into(),
                keep_days: String::new(),
            },
            report: RetentionReport {
                location_id: 7,
                keep_last: Some(3),
                keep_days: None,
                dry_run: true,
                at: "2026-03-11T00:00:00.000Z".into(),
                versions: 2,
                bytes: 2048,
                devices: vec![DevicePrune {
                    device_id: 4,
                    device_name: "core-sw1".into(),
                    count: 2,
                    bytes: 2048,
                    stored_backup_ids: vec![10, 11],
                }],
                failed_results: 1,
                failed_stored: 0,
                finished_jobs: 5,
            },
            errors,
            flash: None,
        }
    }

    #[test]
    fn the_page_shows_the_settings_the_dry_run_and_the_run_button() {
        let ctx = html::test_ctx(true);
        let out = render(
            &ctx,
            &page(
                devicevault_core::StorageBackendKind::Fs,
                FieldErrors::default(),
            ),
        )
        .into_string();
        assert!(out.contains("archive &lt;main&gt;"), "escaped name");
        assert!(out.contains("core-sw1") && out.contains("/devices/4"));
        assert!(out.contains("action=\"/admin/locations/7/retention/run\""));
        assert!(out.contains("value=\"3\""));
        assert!(out.contains("files of pruned versions are deleted"));
        let git = render(
            &ctx,
            &page(
                devicevault_core::StorageBackendKind::Git,
                FieldErrors::default(),
            ),
        )
        .into_string();
        assert!(git.contains("history is kept whole"));
    }

    #[test]
    fn a_refused_value_is_shown_next_to_its_field() {
        let ctx = html::test_ctx(true);
        let mut e = FieldErrors::default();
        e.add("keep_days", "must be between 1 and 36500 days");
        let out = render(&ctx, &page(devicevault_core::StorageBackendKind::Fs, e)).into_string();
        assert!(out.contains("f-keep_days-err"), "{out}");
    }
}
