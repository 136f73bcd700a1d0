//! The import page (issue 15): paste a source, choose its format, read
//! the dry run's report line by line, then apply it. Administrators only;
//! plain forms with their CSRF field, no script needed. The work is
//! `app::import`'s, as for the API and the command line. A form carries
//! at most 1 MB (the web's form limit): larger files go through
//! `devicevault import` or the API.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use devicevault_pipeline::app::import::{
    self, Action, Format, ImportError, ImportOptions, ImportReport,
};
use devicevault_pipeline::app::inventory::FieldErrors;
use maud::{Markup, html};

use super::super::html::{self, Control, Ctx, checkbox, field, heading};
use super::super::session::{OperatorPosted, OperatorSession};
use super::super::{WebResult, form_status};
use super::admin_page;
use crate::Shared;

/// What the form holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ImportForm {
    pub format: String,
    pub content: String,
    /// `field=value` lines.
    pub defaults: String,
    pub strict: bool,
    pub sync: bool,
}

impl Default for ImportForm {
    fn default() -> Self {
        Self {
            format: "oxidized".into(),
            content: String::new(),
            defaults: String::new(),
            strict: false,
            sync: false,
        }
    }
}

impl ImportForm {
    /// The options, or the form's errors by field.
    fn options(&self, apply: bool) -> Result<(Format, ImportOptions), FieldErrors> {
        let mut e = FieldErrors::default();
        let format = match self.format.parse::<Format>() {
            Ok(Format::Netbox) | Err(_) => {
                e.add("format", "oxidized, rancid or csv");
                Format::Oxidized
            }
            Ok(f) => f,
        };
        let mut options = ImportOptions {
            apply,
            strict: self.strict,
            sync: self.sync,
            ..ImportOptions::default()
        };
        for line in self.defaults.lines().filter(|l| !l.trim().is_empty()) {
            match line.split_once('=') {
                Some((k, v)) => {
                    options
                        .defaults
                        .insert(k.trim().to_owned(), v.trim().to_owned());
                }
                None => e.add("defaults", format!("{line:?}: one field=value per line")),
            }
        }
        if self.content.trim().is_empty() {
            e.add("content", "paste the file's text");
        }
        e.or((format, options))
    }
}

/// What the page shows.
pub(super) struct ImportPage {
    pub form: ImportForm,
    pub errors: FieldErrors,
    pub report: Option<ImportReport>,
}

impl ImportPage {
    fn into_response(self, ctx: &Ctx) -> Response {
        admin_page(
            ctx,
            "import",
            form_status(&self.errors),
            "Import devices",
            render(ctx, &self),
        )
    }
}

fn action_label(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Unchanged => "unchanged",
        Action::Skipped => "skipped",
        Action::Error => "error",
        Action::Archive => "archive",
    }
}

/// The report: counts, notes, one row per line.
fn report(r: &ImportReport) -> Markup {
    let c = &r.counts;
    html! {
        section class="panel" aria-labelledby="report-h" {
            h2 id="report-h" {
                @if r.applied { "Applied" } @else { "Dry run: nothing changed yet" }
            }
            p {
                (c.create) " to create, " (c.update) " to update, " (c.unchanged) " unchanged, "
                (c.skipped) " skipped, " (c.error) " with errors, " (c.archive) " to archive."
            }
            @for n in &r.notes { (html::notice("info", n)) }
            @if !r.new_credentials.is_empty() {
                p { "New credentials: " (r.new_credentials.join(", ")) }
            }
            div class="table-wrap" {
                table class="list" {
                    thead { tr {
                        th scope="col" { "Line" } th scope="col" { "Device" }
                        th scope="col" { "Action" } th scope="col" { "Details" }
                    } }
                    tbody {
                        @for l in &r.lines {
                            tr class={ "import-" (action_label(l.action)) } {
                                td { @if let Some(n) = l.line { (n) } @else { "–" } }
                                td { (l.name.as_deref().unwrap_or("")) }
                                td { (action_label(l.action)) }
                                td {
                                    @for ch in &l.changes {
                                        span class="mono" { (ch.field) ": " (ch.from) " → " (ch.to) } br;
                                    }
                                    @if let Some(reason) = &l.reason { (reason) }
                                }
                            }
                        }
                    }
                }
            }
            @if r.lines_left_out > 0 {
                p class="muted" { (r.lines_left_out) " more lines are counted above but not listed." }
            }
        }
    }
}

/// The page (pure: the unit tests render it from a struct).
pub(super) fn render(ctx: &Ctx, p: &ImportPage) -> Markup {
    let formats: Vec<(String, String)> = [
        (
            "oxidized",
            "Oxidized router.db (name:model[:username:password])",
        ),
        ("rancid", "RANCID router.db (name;type;state)"),
        (
            "csv",
            "CSV with a header of device fields (what export writes)",
        ),
    ]
    .iter()
    .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
    .collect();
    let f = &p.form;
    let fields = html! {
        (field("format", "Format", html! {}, Control::Select {
            options: &formats, selected: &f.format, none: None, class: None }, &p.errors))
        // Shown by the script, which reads the file into the text area; the
        // form itself is never a file upload.
        div class="field" hidden {
            label for="f-file" { "Read a file" }
            input type="file" id="f-file" data-fills="f-content" accept=".db,.csv,.txt,text/plain,text/csv";
        }
        (field("content", "The file's text", html! {
            "Paste the file (at most 1 MB here; larger files with " code { "devicevault import" } " or the API). "
            "Models and types become drivers through the mapping table; an unknown one is an error of its line."
        }, Control::TextArea(&f.content), &p.errors))
        (field("defaults", "Defaults for new devices", html! {
            "One " code { "field=value" } " per line, by name, e.g. " code { "backup_location=main" } ", "
            code { "credential=lab" } ", " code { "collection_group=dmz" } "."
        }, Control::TextArea(&f.defaults), &p.errors))
        (checkbox("strict", "Strict: apply nothing when a line has an error", f.strict))
        (checkbox("sync", "Sync: archive the devices the source does not name", f.sync))
    };
    let hidden = |apply: bool| {
        html! {
            input type="hidden" name="format" value=(f.format);
            input type="hidden" name="content" value=(f.content);
            input type="hidden" name="defaults" value=(f.defaults);
            @if f.strict { input type="hidden" name="strict" value="on"; }
            @if f.sync { input type="hidden" name="sync" value="on"; }
            @if apply { input type="hidden" name="apply" value="on"; }
        }
    };
    html! {
        (heading("Import devices", html! {
            a class="button subtle" href="/admin/import/export.csv" { "Export CSV" }
        }))
        section class="panel form-panel" aria-labelledby="form-h" {
            h2 id="form-h" { "Source" }
            form method="post" action="/admin/import" class="form" novalidate {
                (ctx.csrf_field())
                (html::error_summary(&p.errors))
                (fields)
                div class="buttons" {
                    button type="submit" class="primary" { "Dry run" }
                }
            }
        }
        @if let Some(r) = &p.report {
            (report(r))
            @if !r.applied {
                form method="post" action="/admin/import" class="inline" {
                    (ctx.csrf_field())
                    (hidden(true))
                    button type="submit" class="primary" { "Apply these changes" }
                }
            }
        }
    }
}

pub(super) async fn page(OperatorSession(ctx): OperatorSession) -> WebResult<Response> {
    Ok(ImportPage {
        form: ImportForm::default(),
        errors: FieldErrors::default(),
        report: None,
    }
    .into_response(&ctx))
}

pub(super) async fn run(State(state): State<Shared>, p: OperatorPosted) -> WebResult<Response> {
    let form = ImportForm {
        format: p.form.get("format").to_owned(),
        content: p.form.get("content").to_owned(),
        defaults: p.form.get("defaults").to_owned(),
        strict: p.form.get("strict") == "on",
        sync: p.form.get("sync") == "on",
    };
    let apply = p.form.get("apply") == "on";
    let (format, options) = match form.options(apply) {
        Ok(o) => o,
        Err(errors) => {
            return Ok(ImportPage {
                form,
                errors,
                report: None,
            }
            .into_response(&p.ctx));
        }
    };
    let outcome = match import::parse_source(format, form.content.as_bytes(), &options) {
        Ok(parsed) => {
            import::run(
                state.import_context_for(&p.ctx.user, &p.ctx.scope),
                format,
                parsed,
                &options,
            )
            .await
        }
        Err(e) => Err(e),
    };
    let mut errors = FieldErrors::default();
    let report = match outcome {
        Ok(r) => Some(r),
        Err(ImportError::Db(e)) => return Err(e.into()),
        Err(ImportError::Denied(e)) => return Err(super::super::WebError::from(e).with_ctx(p.ctx)),
        Err(e @ ImportError::TooLarge { .. }) => {
            errors.add("content", e.to_string());
            None
        }
        Err(ImportError::Source(m)) => {
            let field = if m.starts_with("default") {
                "defaults"
            } else {
                "content"
            };
            errors.add(field, m);
            None
        }
    };
    if let Some(r) = &report {
        tracing::info!(
            user = %p.ctx.user.username,
            format = format.as_str(),
            applied = r.applied,
            create = r.counts.create,
            update = r.counts.update,
            archive = r.counts.archive,
            error = r.counts.error,
            "device import from the web UI"
        );
    }
    Ok(ImportPage {
        form,
        errors,
        report,
    }
    .into_response(&p.ctx))
}

/// The inventory as CSV, the devices the signed-in operator or
/// administrator reaches.
pub(super) async fn export(
    OperatorSession(ctx): OperatorSession,
    State(state): State<Shared>,
) -> WebResult<Response> {
    let csv = import::export_csv(&state.db, &ctx.scope).await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"devicevault-devices.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use devicevault_pipeline::app::import::{Counts, FieldChange, ReportLine};

    fn dry_run() -> ImportReport {
        ImportReport {
            format: Format::Oxidized,
            applied: false,
            counts: Counts {
                create: 1,
                update: 1,
                error: 1,
                ..Counts::default()
            },
            lines: vec![
                ReportLine {
                    line: Some(2),
                    name: Some("core1".into()),
                    action: Action::Create,
                    changes: vec![],
                    reason: None,
                },
                ReportLine {
                    line: Some(3),
                    name: Some("edge<1>".into()),
                    action: Action::Update,
                    changes: vec![FieldChange {
                        field: "address".into(),
                        from: "192.0.2.1".into(),
                        to: "192.0.2.9".into(),
                    }],
                    reason: None,
                },
                ReportLine {
                    line: Some(5),
                    name: Some("odd".into()),
                    action: Action::Error,
                    changes: vec![],
                    reason: Some("unknown model \"ciscoish\"".into()),
                },
            ],
            lines_left_out: 0,
            new_credentials: vec!["import-backup".into()],
            notes: vec![],
        }
    }

    #[test]
    fn the_dry_run_lists_each_line_and_offers_to_apply_it() {
        let ctx = html::test_ctx(true);
        let page = ImportPage {
            form: ImportForm {
                content: "core1:ios\n".into(),
                ..ImportForm::default()
            },
            errors: FieldErrors::default(),
            report: Some(dry_run()),
        };
        let out = render(&ctx, &page).into_string();
        assert!(out.contains("Dry run: nothing changed yet"), "{out}");
        assert!(out.contains("edge&lt;1&gt;"), "escaped");
        assert!(out.contains("192.0.2.1 → 192.0.2.9"));
        assert!(out.contains("unknown model"));
        assert!(out.contains("import-backup"));
        assert!(out.contains("name=\"csrf\""));
        assert!(out.contains("Apply these changes"));
        assert!(out.contains("name=\"apply\" value=\"on\""));
        assert!(
            out.contains("value=\"core1:ios\n\""),
            "the content travels with the apply"
        );
        assert!(
            out.contains("data-fills=\"f-content\""),
            "a file can fill the text area"
        );
    }

    #[test]
    fn an_applied_run_offers_no_second_apply_and_errors_sit_by_their_field() {
        let ctx = html::test_ctx(true);
        let mut r = dry_run();
        r.applied = true;
        let mut errors = FieldErrors::default();
        errors.add("content", "line 1: no header row");
        let out = render(
            &ctx,
            &ImportPage {
                form: ImportForm::default(),
                errors,
                report: Some(r),
            },
        )
        .into_string();
        assert!(!out.contains("Apply these changes"));
        assert!(out.contains("f-content-err"), "{out}");
    }

    #[test]
    fn the_form_refuses_netbox_and_malformed_defaults() {
        let e = ImportForm {
            format: "netbox".into(),
            content: "x".into(),
            defaults: "credential".into(),
            ..ImportForm::default()
        }
        .options(false)
        .unwrap_err();
        assert_eq!(e.of("format").count(), 1);
        assert_eq!(e.of("defaults").count(), 1);
    }
}
