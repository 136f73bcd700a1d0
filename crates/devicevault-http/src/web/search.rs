//! The fleet search page: a GET form (so every search is a link) with the
//! API's parameters, and the selected devices with their matching lines,
//! each linking to the version at that line. The search itself is the
//! application's ([`devicevault_pipeline::app::search`]), as for the API.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use devicevault_db::Page;
use devicevault_pipeline::app::inventory::FieldErrors;
use devicevault_pipeline::app::search::{self as app_search, DeviceMatches, SearchOutcome};
use maud::{Markup, html};

use super::html::{self, Control, Ctx, Input, Nav, field, heading, notice};
use super::session::{Form, Session};
use super::{WebError, WebResult, html_page, query};
use crate::Shared;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/search", get(page))
}

const PAGE_SIZE: i64 = 50;

const ALL: Page = Page {
    limit: 10_000,
    offset: 0,
};

type Options = Vec<(String, String)>;

/// What the search page shows.
struct SearchPage {
    /// The parameters as sent, to fill the form again.
    form: Form,
    page: i64,
    groups: Options,
    types: Options,
    drivers: Options,
    /// Backup locations, for administrators (who administer them).
    locations: Option<Options>,
    errors: FieldErrors,
    /// `None` before anything was asked.
    outcome: Option<SearchOutcome>,
}

impl SearchPage {
    async fn load(state: &Shared, ctx: &Ctx, form: Form) -> WebResult<Self> {
        let db = &state.db;
        let (groups, types) =
            tokio::try_join!(db.list_device_groups(ALL), db.list_device_types(ALL))?;
        let locations = if ctx.user.is_admin() {
            let l = db.list_locations(ALL).await?;
            Some(
                l.rows
                    .into_iter()
                    .map(|l| (l.id.to_string(), l.name))
                    .collect(),
            )
        } else {
            None
        };
        let mut drivers: Options = state
            .drivers
            .iter()
            .map(|d| (d.name.clone(), d.name.clone()))
            .collect();
        drivers.sort();
        let page = form.get("page").parse::<i64>().unwrap_or(1).max(1);
        let mut errors = FieldErrors::default();
        let mut outcome = None;
        if !form.get("q").is_empty() {
            let devices = app_search::Page {
                offset: usize::try_from((page - 1).saturating_mul(PAGE_SIZE)).unwrap_or(usize::MAX),
                limit: PAGE_SIZE as usize,
            };
            let param = |name: &str| {
                let v = form.get(name);
                (!v.is_empty()).then(|| v.to_owned())
            };
            match app_search::validate(param, devices) {
                Ok(request) => {
                    let found = app_search::search(&state.app, &ctx.user, &ctx.scope, request)
                        .await
                        .map_err(|e| {
                            WebError::new(
                                StatusCode::UNPROCESSABLE_ENTITY,
                                "Search failed",
                                e.to_string(),
                            )
                            .with_ctx(ctx.clone())
                        })?;
                    outcome = Some(found);
                }
                Err(e) => errors = e,
            }
        }
        Ok(Self {
            form,
            page,
            groups: groups
                .rows
                .into_iter()
                .map(|g| (g.id.to_string(), g.name))
                .collect(),
            types: types
                .rows
                .into_iter()
                .map(|t| (t.id.to_string(), t.name))
                .collect(),
            drivers,
            locations,
            errors,
            outcome,
        })
    }
}

async fn page(Session(ctx): Session, State(state): State<Shared>, uri: Uri) -> WebResult<Response> {
    let p = SearchPage::load(&state, &ctx, query(&uri)).await?;
    let status = if p.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(html_page(&ctx, status, "Search", Nav::Search, render(&p)))
}

/// The link of another page of the same search.
fn page_href(form: &Form, page: i64) -> String {
    let mut params: Vec<(&str, String)> = app_search::SEARCH_PARAMS
        .iter()
        .map(|&k| (k, form.get(k).to_owned()))
        .collect();
    params.push(("page", page.to_string()));
    html::link("/search", &params)
}

fn render(p: &SearchPage) -> Markup {
    let f = &p.form;
    let select = |name, label, options, any| {
        field(
            name,
            label,
            html! {},
            Control::Select {
                options,
                selected: f.get(name),
                none: Some(any),
                class: None,
            },
            &p.errors,
        )
    };
    html! {
        (heading("Search the fleet", html! {}))
        form method="get" action="/search" class="filters search-form" role="search" aria-label="Search configurations" {
            (field("q", "Find lines containing", html! {
                "Literal text, or a regular expression (Rust syntax) with the box below ticked."
            }, Control::Input(Input {
                kind: "search", required: true, placeholder: Some("e.g. snmp-server community"), maxlength: Some(1024),
                ..Input::TEXT
            }, f.get("q")), &p.errors))
            (html::checkbox("regex", "Regular expression", f.checked("regex")))
            (html::checkbox("ignore_case", "Ignore case", f.checked("ignore_case")))
            (html::checkbox("negate", "Devices that do not contain it", f.checked("negate")))
            (field("context", "Context lines", html! {}, Control::Input(Input {
                kind: "number", inputmode: Some("numeric"), ..Input::TEXT
            }, f.get("context")), &p.errors))
            (field("as_of", "As of", html! { "Each device's version at this time (e.g. 2026-01-12T09:00:00Z); empty: the latest." },
                Control::Input(Input { placeholder: Some("latest"), ..Input::TEXT }, f.get("as_of")), &p.errors))
            (select("device_group", "Group", &p.groups, "Any group"))
            (select("device_type", "Type", &p.types, "Any type"))
            (select("driver", "Driver", &p.drivers, "Any driver"))
            @if let Some(locations) = &p.locations { (select("location", "Backup location", locations, "Any location")) }
            div class="filter-buttons" { button type="submit" class="primary" { "Search" } }
        }
        @if !p.errors.is_empty() { (html::error_summary(&p.errors)) }
        @if let Some(o) = &p.outcome { (results(p, o)) }
    }
}

fn results(p: &SearchPage, o: &SearchOutcome) -> Markup {
    let r = &o.results;
    let negate = p.form.checked("negate");
    html! {
        @if o.masked {
            (notice("info", "Secrets (enable secrets, SNMP communities, keys) are masked for your account and are not searched."))
        }
        @if r.unsearchable_devices > 0 {
            (notice("info", &format!(
                "{} device(s) were not searched: their secrets cannot be masked for your account.",
                r.unsearchable_devices
            )))
        }
        @if o.unreadable_devices > 0 {
            (notice("error", &format!(
                "{} device(s) were not searched: their stored version could not be read.",
                o.unreadable_devices
            )))
        }
        p class="muted" {
            (html::count(r.total_devices as i64)) " of " (html::count(r.searched_devices as i64)) " devices "
            (if negate { "do not contain it." } else { "contain it." })
        }
        @if r.results.is_empty() {
            (html::empty("No device matches.", html! { "Try another pattern or fewer filters." }))
        } @else {
            div class="search-results" {
                @for d in &r.results { (device_result(d, negate)) }
            }
            (html::pagination(p.page, PAGE_SIZE, r.total_devices as i64, |page| page_href(&p.form, page)))
        }
    }
}

/// One device: its name (to its history), the version searched, and the
/// matching lines, each a link to that line of the version.
fn device_result(d: &DeviceMatches, negate: bool) -> Markup {
    let version = format!("/backups/{}", d.stored_backup_id);
    html! {
        section class="search-device" {
            h2 {
                a href={ "/devices/" (d.device_id) } { (d.device_name) }
                " " span class="muted small" {
                    a href=(version) { "version of " (html::seconds_time(&d.stored_at.to_string())) }
                    @if !negate { " · " (html::count(d.total_matches as i64)) " matching line" @if d.total_matches != 1 { "s" } }
                }
            }
            @if !d.matches.is_empty() {
                pre class="code search-lines" {
                    @for m in &d.matches {
                        @let first = m.line_number as usize - m.context_before.len();
                        @for (i, l) in m.context_before.iter().enumerate() {
                            span class="ctx" data-n=(first + i) { (l) } "\n"
                        }
                        a class="hit" href={ (version) "#L" (m.line_number) } data-n=(m.line_number) { (m.line) } "\n"
                        @for (i, l) in m.context_after.iter().enumerate() {
                            span class="ctx" data-n=(m.line_number as usize + 1 + i) { (l) } "\n"
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use devicevault_core::Timestamp;
    use devicevault_pipeline::app::search::{Match, SearchResults};

    fn page_with(outcome: SearchOutcome, form: &str) -> SearchPage {
        SearchPage {
            form: Form::parse(form.as_bytes()),
            page: 1,
            groups: vec![("1".into(), "core".into())],
            types: vec![],
            drivers: vec![("cisco_ios".into(), "cisco_ios".into())],
            locations: None,
            errors: FieldErrors::default(),
            outcome: Some(outcome),
        }
    }

    fn outcome() -> SearchOutcome {
        SearchOutcome {
            results: SearchResults {
                total_devices: 1,
                searched_devices: 3,
                unsearchable_devices: 0,
                results: vec![DeviceMatches {
                    device_id: 7,
                    device_name: "r<1>".into(),
                    stored_backup_id: 42,
                    stored_at: Timestamp::parse("2026-01-12T12:34:56.789Z").unwrap(),
                    matches: vec![Match {
                        line_number: 5,
                        line: "snmp-server community <removed> RO".into(),
                        context_before: vec!["!".into()],
                        context_after: vec![],
                    }],
                    total_matches: 1,
                }],
            },
            masked: true,
            unreadable_devices: 0,
        }
    }

    #[test]
    fn a_match_links_to_its_line_in_the_version_and_is_escaped() {
        let html = render(&page_with(outcome(), "q=snmp-server&driver=cisco_ios")).into_string();
        assert!(html.contains(r##"href="/backups/42#L5""##), "{html}");
        assert!(html.contains(r#"href="/devices/7""#), "{html}");
        assert!(
            html.contains("r&lt;1&gt;") && !html.contains("r<1>"),
            "{html}"
        );
        assert!(
            html.contains(r#"data-n="4""#),
            "the context line is numbered: {html}"
        );
        assert!(html.contains("are masked for your account"), "{html}");
        assert!(html.contains("1 of 3 devices contain it."), "{html}");
        assert!(
            html.contains(r#"<option value="cisco_ios" selected>"#),
            "the form keeps the filters: {html}"
        );
    }

    #[test]
    fn other_pages_keep_the_search() {
        let form = Form::parse(b"q=a+b&regex=on&page=3");
        let href = page_href(&form, 2);
        assert!(href.starts_with("/search?q=a"), "{href}");
        assert!(
            href.contains("regex=on") && href.ends_with("page=2"),
            "{href}"
        );
    }
}
