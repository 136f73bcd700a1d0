//! The compliance page: each rule with how many devices (of those the user
//! may see) are compliant, not compliant and unknown, and the states of
//! the devices (by default the non-compliant ones), each linking to the
//! device and to the version evaluated. The filters are the API's
//! (`rule`, `state`, `device_group`), validated by the application's
//! [`app_compliance::list_filter`].

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use devicevault_db::compliance::state;
use devicevault_db::{ComplianceState, Listed, Page, RuleSummary};
use devicevault_pipeline::app::compliance as app_compliance;
use devicevault_pipeline::app::inventory::FieldErrors;
use maud::{Markup, html};

use super::html::{self, Control, Ctx, Nav, field, heading};
use super::session::{Form, Session};
use super::{WebResult, html_page, query};
use crate::Shared;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/compliance", get(page))
}

const PAGE_SIZE: i64 = 50;

/// What the compliance page shows.
struct CompliancePage {
    form: Form,
    page: i64,
    is_admin: bool,
    rules: Vec<RuleSummary>,
    groups: Vec<(String, String)>,
    errors: FieldErrors,
    states: Listed<ComplianceState>,
}

impl CompliancePage {
    async fn load(state: &Shared, ctx: &Ctx, mut form: Form) -> WebResult<Self> {
        let db = &state.db;
        let page = form.get("page").parse::<i64>().unwrap_or(1).max(1);
        if form.get("state").is_empty() && !form.0.iter().any(|(k, _)| k == "state") {
            // The devices someone must act on, unless asked otherwise.
            form.0.push(("state".into(), state::NON_COMPLIANT.into()));
        }
        let groups = db
            .list_device_groups(Page {
                limit: 10_000,
                offset: 0,
            })
            .await?
            .rows
            .into_iter()
            .map(|g| (g.id.to_string(), g.name))
            .collect();
        let rules = db.compliance_summary(&ctx.scope).await?;
        let param = |name: &str| {
            let v = form.get(name);
            (!v.is_empty()).then(|| v.to_owned())
        };
        let (errors, states) = match app_compliance::list_filter(param) {
            Ok(filter) => {
                let states = db
                    .list_compliance(
                        &ctx.scope,
                        &filter,
                        Page {
                            limit: PAGE_SIZE,
                            offset: (page - 1).saturating_mul(PAGE_SIZE),
                        },
                    )
                    .await?;
                (FieldErrors::default(), states)
            }
            Err(e) => (
                e,
                Listed {
                    rows: vec![],
                    total: 0,
                },
            ),
        };
        Ok(Self {
            form,
            page,
            is_admin: ctx.user.is_admin(),
            rules,
            groups,
            errors,
            states,
        })
    }
}

async fn page(Session(ctx): Session, State(state): State<Shared>, uri: Uri) -> WebResult<Response> {
    let p = CompliancePage::load(&state, &ctx, query(&uri)).await?;
    let status = if p.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(html_page(
        &ctx,
        status,
        "Compliance",
        Nav::Compliance,
        render(&p),
    ))
}

fn href(rule: Option<i64>, st: &str, group: &str, page: Option<i64>) -> String {
    html::link(
        "/compliance",
        &[
            ("rule", rule.map(|r| r.to_string()).unwrap_or_default()),
            ("state", st.to_owned()),
            ("device_group", group.to_owned()),
            ("page", page.map(|p| p.to_string()).unwrap_or_default()),
        ],
    )
}

fn state_badge(st: &str) -> Markup {
    let (class, label) = match st {
        state::COMPLIANT => ("ok", "compliant"),
        state::NON_COMPLIANT => ("bad", "not compliant"),
        _ => ("none", "unknown"),
    };
    html! { span class={ "badge " (class) } { (label) } }
}

fn expectation_text(r: &RuleSummary) -> String {
    let f = &r.rule.fields;
    let verb = if f.expectation == devicevault_db::compliance::expectation::MUST_CONTAIN {
        "must contain"
    } else {
        "must not contain"
    };
    let what = if f.regex {
        format!("/{}/", f.pattern)
    } else {
        format!("“{}”", f.pattern)
    };
    match &f.block {
        Some(b) => format!("{verb} {what} in each block /{b}/"),
        None => format!("{verb} {what}"),
    }
}

fn render(p: &CompliancePage) -> Markup {
    let f = &p.form;
    let rule: Option<i64> = f.get("rule").parse().ok();
    let group = f.get("device_group");
    let admin_link = html! {
        @if p.is_admin { a class="button" href="/admin/compliance-rules" { "Manage rules" } }
    };
    let rule_options: Vec<(String, String)> = p
        .rules
        .iter()
        .map(|r| (r.rule.id.to_string(), r.rule.fields.name.clone()))
        .collect();
    let state_options: Vec<(String, String)> = [
        (state::NON_COMPLIANT, "not compliant"),
        (state::COMPLIANT, "compliant"),
        (state::UNKNOWN, "unknown"),
    ]
    .iter()
    .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
    .collect();
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
        (heading("Compliance", admin_link))
        @if p.rules.is_empty() {
            (html::empty("No compliance rule yet.", html! {
                "A rule is a saved search with an expectation (a line that must, or must not, be there), evaluated on each device's latest configuration."
            }))
        } @else {
            table class="list compliance-rules" {
                thead { tr { th { "Rule" } th { "Expectation" } th { "Compliant" } th { "Not compliant" } th { "Unknown" } } }
                tbody {
                    @for r in &p.rules {
                        tr {
                            td {
                                a href=(href(Some(r.rule.id), "", "", None)) { (r.rule.fields.name) }
                                @if !r.rule.fields.enabled { " " span class="tag" { "disabled" } }
                            }
                            td { (expectation_text(r)) }
                            td { a href=(href(Some(r.rule.id), state::COMPLIANT, "", None)) { (html::count(r.compliant)) } }
                            td { a href=(href(Some(r.rule.id), state::NON_COMPLIANT, "", None)) { (html::count(r.non_compliant)) } }
                            td { a href=(href(Some(r.rule.id), state::UNKNOWN, "", None)) { (html::count(r.unknown)) } }
                        }
                    }
                }
            }
            form method="get" action="/compliance" class="filters" aria-label="Filter the states" {
                (select("rule", "Rule", &rule_options, "Any rule"))
                (select("state", "State", &state_options, "Any state"))
                (select("device_group", "Group", &p.groups, "Any group"))
                div class="filter-buttons" { button type="submit" class="primary" { "Show" } }
            }
            @if !p.errors.is_empty() { (html::error_summary(&p.errors)) }
            @if p.states.rows.is_empty() {
                (html::empty("No device in this state.", html! { "Try another rule, state or group." }))
            } @else {
                table class="list compliance-states" {
                    thead { tr { th { "Device" } th { "Rule" } th { "State" } th { "Why" } th { "Version" } th { "Since" } } }
                    tbody {
                        @for s in &p.states.rows {
                            tr {
                                td { a href={ "/devices/" (s.device_id) } { (s.device_name) } }
                                td { (s.rule_name) }
                                td { (state_badge(&s.state)) }
                                td { (s.detail) }
                                td {
                                    @if let Some(b) = s.stored_backup_id {
                                        a href={ "/backups/" (b) } { "version " (b) }
                                    } @else { span class="muted" { "none" } }
                                }
                                td { (html::time(&s.changed_at)) }
                            }
                        }
                    }
                }
                (html::pagination(p.page, PAGE_SIZE, p.states.total, |page| href(rule, f.get("state"), group, Some(page))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use devicevault_db::{ComplianceRule, ComplianceRuleFields};

    fn summary() -> RuleSummary {
        RuleSummary {
            rule: ComplianceRule {
                id: 3,
                fields: ComplianceRuleFields {
                    name: "no <public> community".into(),
                    pattern: "snmp-server community public".into(),
                    regex: false,
                    ignore_case: false,
                    expectation: "must_not_contain".into(),
                    block: None,
                    device_groups: vec![],
                    enabled: true,
                },
                version: 1,
                created_at: "2026-01-01T00:00:00.000000Z".into(),
                updated_at: "2026-01-01T00:00:00.000000Z".into(),
            },
            compliant: 7,
            non_compliant: 1,
            unknown: 2,
        }
    }

    fn page_with(form: &str, admin: bool) -> CompliancePage {
        CompliancePage {
            form: Form::parse(form.as_bytes()),
            page: 1,
            is_admin: admin,
            rules: vec![summary()],
            groups: vec![("1".into(), "core".into())],
            errors: FieldErrors::default(),
            states: Listed {
                rows: vec![ComplianceState {
                    rule_id: 3,
                    rule_name: "no <public> community".into(),
                    device_id: 7,
                    device_name: "r<1>".into(),
                    device_group_id: Some(1),
                    state: state::NON_COMPLIANT.into(),
                    stored_backup_id: Some(42),
                    detail: "1 matching line: 12".into(),
                    evaluated_at: "2026-01-12T12:00:00.000000Z".into(),
                    changed_at: "2026-01-12T12:00:00.000000Z".into(),
                }],
                total: 1,
            },
        }
    }

    #[test]
    fn each_rule_shows_its_counts_and_each_device_links_to_it_and_its_version() {
        let html = render(&page_with("state=non_compliant", false)).into_string();
        assert!(html.contains("no &lt;public&gt; community"), "{html}");
        assert!(
            !html.contains("r<1>") && html.contains("r&lt;1&gt;"),
            "{html}"
        );
        assert!(html.contains(r#"href="/devices/7""#), "{html}");
        assert!(html.contains(r#"href="/backups/42""#), "{html}");
        assert!(html.contains("1 matching line: 12"), "{html}");
        assert!(
            html.contains(r#"href="/compliance?rule=3&amp;state=non_compliant""#),
            "{html}"
        );
        assert!(html.contains(">7<") && html.contains(">2<"), "{html}");
        assert!(html.contains("not compliant"), "{html}");
        assert!(
            !html.contains("Manage rules"),
            "readers do not manage rules"
        );
        let html = render(&page_with("", true)).into_string();
        assert!(html.contains(r#"href="/admin/compliance-rules""#), "{html}");
    }

    #[test]
    fn no_rule_says_what_a_rule_is() {
        let mut p = page_with("", false);
        p.rules.clear();
        let html = render(&p).into_string();
        assert!(html.contains("No compliance rule yet."), "{html}");
    }
}
