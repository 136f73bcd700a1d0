//! `/results`: backup results by time range, outcome and device — "what
//! failed last night" — filtered like `GET /api/backup-results/` (the same
//! validator, `app::backups::result_filter`), newest first. The
//! dashboard's cards link here with the filter they count.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use devicevault_db::{Listed, Outcome, Page, ResultRow};
use devicevault_pipeline::app::backups::{RESULT_PARAMS, result_filter};
use devicevault_pipeline::app::inventory::FieldErrors;
use maud::{Markup, html};

use super::html::{self, Control, Ctx, Nav, field, heading};
use super::session::Session;
use super::zone;
use super::{WebResult, html_page, query};
use crate::Shared;

const PAGE_SIZE: i64 = 50;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/results", get(page))
}

/// What the page shows.
struct ResultsView {
    /// The filter fields as typed.
    values: Vec<(&'static str, String)>,
    errors: FieldErrors,
    /// The name of the filtered device, when it is one the user may see.
    device_name: Option<String>,
    page: i64,
    listed: Listed<ResultRow>,
}

impl ResultsView {
    fn value(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// This list with other values for some fields.
    fn href(&self, changes: &[(&str, String)]) -> String {
        let mut params: Vec<(&str, String)> =
            self.values.iter().map(|(k, v)| (*k, v.clone())).collect();
        for (k, v) in changes {
            match params.iter_mut().find(|(n, _)| n == k) {
                Some(p) => p.1 = v.clone(),
                None => params.push((k, v.clone())),
            }
        }
        html::link("/results", &params)
    }
}

/// The link to the results matching a filter: what the dashboard's cards
/// open.
pub(super) fn results_href(outcome: Option<Outcome>, since: Option<&str>) -> String {
    html::link(
        "/results",
        &[
            (
                "outcome",
                outcome.map(|o| o.as_str().into()).unwrap_or_default(),
            ),
            ("since", since.unwrap_or_default().into()),
        ],
    )
}

async fn page(Session(ctx): Session, State(state): State<Shared>, uri: Uri) -> WebResult<Response> {
    let v = load(&state, &ctx, &query(&uri)).await?;
    let status = if v.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(html_page(
        &ctx,
        status,
        "Backup results",
        Nav::Results,
        render(&v),
    ))
}

async fn load(state: &Shared, ctx: &Ctx, q: &super::session::Form) -> WebResult<ResultsView> {
    let values: Vec<(&'static str, String)> = RESULT_PARAMS
        .iter()
        .map(|k| (*k, q.get(k).trim().to_owned()))
        .collect();
    let page = q.get("page").trim().parse::<i64>().unwrap_or(1).max(1);
    // A form's local times are the reader's zone's.
    let param = |k: &str| match k {
        "since" | "until" => zone::input_to_utc(q.get(k)),
        _ => q.get(k).to_owned(),
    };
    let (errors, listed, device_name) = match result_filter(|k| Some(param(k))) {
        Ok(filter) => {
            let listed = state
                .db
                .backup_results(
                    &filter,
                    &ctx.scope,
                    Page {
                        limit: PAGE_SIZE,
                        offset: (page - 1).saturating_mul(PAGE_SIZE),
                    },
                )
                .await?;
            let device_name = match filter.device {
                Some(d) if state.db.device_in_scope(&ctx.scope, d).await? => {
                    state.db.device(d).await.ok().map(|d| d.fields.name)
                }
                _ => None,
            };
            (FieldErrors::default(), listed, device_name)
        }
        Err(errors) => (
            errors,
            Listed {
                rows: Vec::new(),
                total: 0,
            },
            None,
        ),
    };
    Ok(ResultsView {
        values,
        errors,
        device_name,
        page,
        listed,
    })
}

fn render(v: &ResultsView) -> Markup {
    // Written out rather than through `html::field`: `step="any"` lets a
    // card's time to the millisecond through the browser's validation.
    let time = |name: &'static str, label: &str| {
        let id = format!("f-{name}");
        let errs: Vec<String> = v.errors.of(name).map(html::sentence).collect();
        html! {
            div class=(if errs.is_empty() { "field" } else { "field has-error" }) {
                label for=(id) { (label) }
                input type="datetime-local" step="any" id=(id) name=(name) value=(zone::utc_to_input(v.value(name)))
                    aria-describedby=[(!errs.is_empty()).then(|| format!("{id}-err"))]
                    aria-invalid=[(!errs.is_empty()).then_some("true")];
                @if !errs.is_empty() { p class="field-error" id={ (id) "-err" } { (errs.join(" ")) } }
            }
        }
    };
    let outcomes: Vec<(String, String)> = Outcome::ALL
        .iter()
        .map(|o| (o.as_str().to_owned(), label(*o).to_owned()))
        .collect();
    let filtered = v.values.iter().any(|(_, val)| !val.is_empty());
    let device = v.value("device");
    let tz = zone::current().name();
    html! {
        (heading("Backup results", html! {}))
        p class="muted" {
            "Each collection and what became of it, newest first. Times are in " (tz) "; "
            "“From” is inclusive, “To” exclusive (a date alone runs to the end of that day)."
        }
        form method="get" action="/results" class="filters" role="search" aria-label="Filter the results" {
            (time("since", &format!("From ({tz})")))
            (time("until", &format!("To ({tz})")))
            (field("outcome", "Outcome", html! {}, Control::Select {
                options: &outcomes, selected: v.value("outcome"), none: Some("Any"), class: None,
            }, &v.errors))
            @if !device.is_empty() {
                input type="hidden" name="device" value=(device);
            }
            div class="filter-buttons" {
                button type="submit" { "Filter" }
                @if filtered { " " a href="/results" class="button subtle" { "Clear" } }
            }
        }
        @if !device.is_empty() {
            p class="filter-chip" {
                "Device: "
                @match &v.device_name {
                    Some(name) => a href={ "/devices/" (device) } { (name) },
                    None => span class="mono" { (device) },
                }
                " · " a href=(v.href(&[("device", String::new()), ("page", String::new())])) { "every device" }
            }
        }
        @for (f, m) in &v.errors.0 {
            @if *f == "device" { p class="field-error" { "Device: " (m) } }
        }
        @if v.listed.total == 0 {
            (html::empty(if filtered { "No result matches these filters." } else { "No backups yet." }, html! {}))
        } @else {
            div class="table-wrap" {
                table class="list results" {
                    thead { tr {
                        th scope="col" { "When" } th scope="col" { "Device" } th scope="col" { "Outcome" }
                        th scope="col" { "Duration" } th scope="col" { "Reason or change" } th scope="col" { "Log" }
                    } }
                    tbody {
                        @for x in &v.listed.rows {
                            @let r = &x.result;
                            tr data-result=[x.collected.then_some(r.id)] {
                                td class="nowrap" { (html::time(&r.timestamp)) }
                                td { a href={ "/devices/" (r.device_id) } { (x.device_name) } }
                                td { (html::state_badge(x.outcome.as_str())) }
                                td class="num" {
                                    @if x.collected { (html::duration_ms(r.collection_duration_ms as f64)) }
                                    @else { span class="muted" title="The job failed before any collection" { "not collected" } }
                                }
                                td class="reason" {
                                    @match (x.outcome, x.changed, x.stored_id) {
                                        (Outcome::Failed, _, _) => (x.reason.as_deref().unwrap_or("see the log")),
                                        (Outcome::Stored, Some(true), Some(id)) => a href={ "/backups/" (id) } class="badge chg" { "changed" },
                                        (Outcome::Stored, Some(false), _) => span class="muted" { "unchanged" },
                                        _ => span class="muted" { "—" },
                                    }
                                }
                                td { a href={ "/jobs/" (html::enc(&r.task_identifier)) } { "Log" } }
                            }
                        }
                    }
                }
            }
            div class="list-foot" {
                (html::pagination(v.page, PAGE_SIZE, v.listed.total, |p| {
                    v.href(&[("page", if p > 1 { p.to_string() } else { String::new() })])
                }))
            }
        }
    }
}

fn label(o: Outcome) -> &'static str {
    match o {
        Outcome::Stored => "Stored",
        Outcome::Failed => "Failed",
        Outcome::Pending => "Collected, not stored yet",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use devicevault_core::Status;
    use devicevault_db::DeviceBackupResult;

    fn row(id: i64, outcome: Outcome, reason: Option<&str>) -> ResultRow {
        ResultRow {
            result: DeviceBackupResult {
                id,
                task_id: "t".into(),
                task_identifier: format!("backup_now:{id}"),
                device_id: 4,
                status: if outcome == Outcome::Failed {
                    Status::Failure
                } else {
                    Status::Success
                },
                timestamp: "2026-03-02T01:30:00.000Z".into(),
                log: "[]".into(),
                collection_duration_ms: 1200,
            },
            device_name: "r1 <edge>".into(),
            outcome,
            stored_id: (outcome == Outcome::Stored).then_some(id + 100),
            changed: Some(true),
            reason: reason.map(Into::into),
            collected: true,
        }
    }

    fn view(
        values: &[(&'static str, &str)],
        errors: FieldErrors,
        rows: Vec<ResultRow>,
    ) -> ResultsView {
        ResultsView {
            values: RESULT_PARAMS
                .iter()
                .map(|k| {
                    let v = values.iter().find(|(n, _)| n == k).map_or("", |(_, v)| *v);
                    (*k, v.to_owned())
                })
                .collect(),
            errors,
            device_name: Some("r1 <edge>".into()),
            page: 1,
            listed: Listed {
                total: rows.len() as i64,
                rows,
            },
        }
    }

    #[test]
    fn the_results_page_keeps_its_filters_and_shows_why_a_backup_failed() {
        let v = view(
            &[
                ("outcome", "failed"),
                ("since", "2026-03-01T22:00:00.000Z"),
                ("until", "2026-03-02T06:00"),
                ("device", "4"),
            ],
            FieldErrors::default(),
            vec![
                row(1, Outcome::Failed, Some("auth <failed>")),
                row(2, Outcome::Stored, None),
                ResultRow {
                    collected: false,
                    ..row(3, Outcome::Failed, Some("not collected after 3 dispatches"))
                },
            ],
        );
        let h = render(&v).into_string();
        // A job that failed before any collection is a failure like the others.
        assert!(
            h.contains("not collected after 3 dispatches")
                && h.contains(r#"href="/jobs/backup_now%3A3""#),
            "{h}"
        );
        assert!(
            h.contains(r#"<tr data-result="1">"#) && !h.contains(r#"data-result="3""#),
            "{h}"
        );
        assert!(h.contains("not collected</span>"), "{h}");
        assert!(
            h.contains(r#"type="datetime-local" step="any" id="f-since" name="since" value="2026-03-01T22:00:00.000""#),
            "{h}"
        );
        assert!(
            h.contains(r#"name="until" value="2026-03-02T06:00""#),
            "{h}"
        );
        assert!(
            h.contains(r#"<option value="failed" selected>Failed</option>"#),
            "{h}"
        );
        assert!(
            h.contains(r#"<input type="hidden" name="device" value="4">"#),
            "{h}"
        );
        assert!(
            h.contains("auth &lt;failed&gt;") && !h.contains("auth <failed>"),
            "{h}"
        );
        assert!(h.contains("r1 &lt;edge&gt;"), "{h}");
        assert!(h.contains(r#"href="/backups/102""#), "{h}");
        assert!(h.contains(r#"href="/jobs/backup_now%3A1""#), "{h}");
        // Clearing the device keeps the other filters.
        assert!(
            h.contains(r#"href="/results?outcome=failed&amp;since=2026-03-01T22%3A00%3A00.000Z&amp;until=2026-03-02T06%3A00">every device"#),
            "{h}"
        );
    }

    #[test]
    fn a_bad_filter_is_named_next_to_its_field() {
        let mut errors = FieldErrors::default();
        errors.add("since", "\"last night\" is neither a date nor a time");
        let v = view(&[("since", "last night")], errors, Vec::new());
        let h = render(&v).into_string();
        assert!(h.contains(r#"id="f-since-err""#), "{h}");
        assert!(h.contains(r#"value="last night""#), "{h}");
        assert!(h.contains("No result matches these filters."), "{h}");
    }

    #[test]
    fn a_cards_link_carries_its_filter() {
        assert_eq!(
            results_href(Some(Outcome::Failed), Some("2026-03-01T06:00:00.000Z")),
            "/results?outcome=failed&since=2026-03-01T06%3A00%3A00.000Z"
        );
    }
}
