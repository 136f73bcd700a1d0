//! The dashboard: what failed, what ran, how long it took, and the success
//! rate of the last 7 days as an SVG chart drawn here (no script needed).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use devicevault_core::{Status, Timestamp};
use devicevault_db::dashboard::{Activity, DashboardStats, DayOutcomes};
use devicevault_db::{Outcome, Page, ResultFilter, ResultRow, Scope};
use maud::{Markup, html};

use super::html::{self, Ctx, Nav, heading};
use super::session::Session;
use super::{WebResult, html_page};
use crate::Shared;

/// Seconds between automatic refreshes of the dashboard.
const REFRESH_SECS: u32 = 30;

/// What the dashboard shows.
struct Dashboard {
    stats: DashboardStats,
    /// The last 7 days, oldest first, days without backups included.
    week: Vec<DayOutcomes>,
    /// Failures of the last 24 hours, newest first.
    failed: Vec<Activity>,
    /// The cut-off of the cards' "last 24 h", as their links carry it.
    since: String,
    recent: Vec<Activity>,
}

impl Dashboard {
    async fn load(state: &Shared, ctx: &Ctx) -> WebResult<Self> {
        let now = Timestamp::now().as_datetime();
        let day = Timestamp::from_datetime(now - time::Duration::hours(24));
        let week_start = now.date() - time::Duration::days(6);
        let week_ts = Timestamp::from_datetime(week_start.midnight().assume_utc());
        let failed_since = ResultFilter {
            outcome: Some(Outcome::Failed),
            since: Some(day),
            ..ResultFilter::default()
        };
        let newest_failed = Page {
            limit: 10,
            offset: 0,
        };
        let everything = ResultFilter::default();
        let (stats, days, failed, recent) = tokio::try_join!(
            state.db.dashboard_stats(day, &ctx.scope),
            state.db.outcomes_per_day(week_ts, &ctx.scope),
            state
                .db
                .result_rows(&failed_since, &ctx.scope, newest_failed),
            state.db.result_rows(
                &everything,
                &ctx.scope,
                Page {
                    limit: 15,
                    offset: 0
                }
            ),
        )?;
        let failed = failed.iter().map(activity).collect();
        let recent = recent.iter().map(activity).collect();
        let week = (0..7)
            .map(|i| {
                let d = week_start + time::Duration::days(i);
                let key = format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
                days.iter()
                    .find(|x| x.day == key)
                    .cloned()
                    .unwrap_or(DayOutcomes {
                        day: key,
                        succeeded: 0,
                        failed: 0,
                    })
            })
            .collect();
        Ok(Self {
            stats,
            week,
            failed,
            since: day.to_string(),
            recent,
        })
    }
}

/// A result as a row of the activity tables.
fn activity(r: &ResultRow) -> Activity {
    let stored = match (r.outcome, r.result.status) {
        (Outcome::Stored, _) => Some(Status::Success),
        (Outcome::Failed, Status::Success) => Some(Status::Failure),
        _ => None,
    };
    Activity {
        task_identifier: r.result.task_identifier.clone(),
        device_id: r.result.device_id,
        device_name: r.device_name.clone(),
        timestamp: r.result.timestamp.clone(),
        collection: r.result.status,
        duration_ms: r.collected.then_some(r.result.collection_duration_ms),
        stored_id: r.stored_id,
        stored,
        changed: r.changed,
        reason: r.reason.clone(),
    }
}

pub(super) async fn page(
    Session(ctx): Session,
    State(state): State<Shared>,
) -> WebResult<Response> {
    let d = Dashboard::load(&state, &ctx).await?;
    Ok(html_page(
        &ctx,
        StatusCode::OK,
        "Dashboard",
        Nav::Dashboard,
        render(&ctx.scope, &d),
    ))
}

fn render(scope: &Scope, d: &Dashboard) -> Markup {
    let admin = matches!(scope, Scope::Admin);
    let s = &d.stats;
    let stored_href = super::results::results_href(Some(Outcome::Stored), Some(&d.since));
    let failed_href = super::results::results_href(Some(Outcome::Failed), Some(&d.since));
    let card = |href: Option<&str>, class: &str, label: &str, value: String, sub: String| {
        html! {
            @if let Some(href) = href {
                a class={ "card" (class) } href=(href) {
                    span class="card-label" { (label) } span class="card-value" { (value) } span class="card-sub" { (sub) }
                }
            } @else {
                div class={ "card" (class) } {
                    span class="card-label" { (label) } span class="card-value" { (value) } span class="card-sub" { (sub) }
                }
            }
        }
    };
    html! {
        div data-refresh=(REFRESH_SECS) id="dashboard" {
            (heading("Dashboard", html! {
                span class="muted small" id="refreshed" { "Refreshes every " (REFRESH_SECS) " s" }
            }))
            @if s.devices == 0 {
                @if admin {
                    (html::empty("Welcome to DeviceVault.", html! {
                        "Three steps to the first backup: add a " a href="/admin/locations" { "backup location" }
                        ", a " a href="/admin/credentials" { "credential" } ", then " a href="/devices/new" { "a device" }
                        " — and press “Backup now”."
                    }))
                } @else {
                    (html::no_devices_for(scope))
                }
            } @else {
                div class="cards" {
                    (card(Some("/devices"), "", "Devices", html::count(s.devices), format!("{} enabled", html::count(s.enabled_devices))))
                    // These two count the lists they open: the same filter.
                    (card(Some(&stored_href), " ok", "Stored, last 24 h", html::count(s.succeeded), "backups that succeeded".into()))
                    (card(Some(&failed_href), if s.failed > 0 { " bad" } else { " " }, "Failed, last 24 h", html::count(s.failed), "collections or stores".into()))
                    (card(None, "", "Average duration", s.avg_duration_ms.map(html::duration_ms).unwrap_or_else(|| "—".into()), "collection, last 24 h".into()))
                    (card(Some("/devices?status=running"), "", "In progress", html::count(s.running), "jobs not finished".into()))
                    (card(Some("/devices?stale=yes"), if s.stale > 0 { " bad" } else { " " }, "Stale", html::count(s.stale), "no good backup for too long".into()))
                }
                div class="panels" {
                    section class="panel" aria-labelledby="rate-h" {
                        h2 id="rate-h" { "Success rate, last 7 days" }
                        (chart(&d.week))
                    }
                    section class="panel" aria-labelledby="types-h" {
                        h2 id="types-h" { "Devices by type" }
                        (by_type(&s.by_type, s.devices))
                    }
                }
                // Failures first: what the morning check is for.
                section aria-labelledby="failed-h" {
                    h2 id="failed-h" { "Failed in the last 24 hours" }
                    @if d.failed.is_empty() {
                        p class="all-good" { "No failures in the last 24 hours." }
                    } @else {
                        (activity_table(&d.failed, true))
                        @if s.failed > d.failed.len() as i64 {
                            p { a href=(failed_href) { "All " (html::count(s.failed)) " failures of the last 24 hours" } }
                        }
                    }
                }
                section aria-labelledby="recent-h" {
                    h2 id="recent-h" { "Recent activity" }
                    @if d.recent.is_empty() {
                        (html::empty("No backups yet.", html! {
                            "Open " a href="/devices" { "Devices" } " and press “Backup now”, or add a schedule."
                        }))
                    } @else {
                        (activity_table(&d.recent, false))
                    }
                }
            }
        }
    }
}

fn outcome(a: &Activity) -> &'static str {
    match (a.collection, a.stored) {
        (Status::Failure, _) | (_, Some(Status::Failure)) => "failed",
        (Status::Success, Some(Status::Success)) => "stored",
        (Status::Success, None) => "collected",
    }
}

fn activity_table(rows: &[Activity], with_reason: bool) -> Markup {
    html! {
        div class="table-wrap" {
            table class="list" {
                thead { tr {
                    th scope="col" { "When" } th scope="col" { "Device" } th scope="col" { "Status" } th scope="col" { "Duration" }
                    th scope="col" { (if with_reason { "Reason" } else { "Changed" }) }
                    th scope="col" { "Log" }
                } }
                tbody {
                    @for a in rows {
                        tr {
                            td class="nowrap" { (html::time(&a.timestamp)) " " span class="muted small" { (html::ago(&a.timestamp)) } }
                            td { a href={ "/devices/" (a.device_id) } { (a.device_name) } }
                            td { (html::state_badge(outcome(a))) }
                            td class="num" { (a.duration_ms.map(|ms| html::duration_ms(ms as f64)).unwrap_or_else(|| "—".into())) }
                            @if with_reason {
                                td class="reason" { (a.reason.as_deref().unwrap_or("see the log")) }
                            } @else {
                                td {
                                    @match (a.stored, a.changed, a.stored_id) {
                                        (Some(Status::Success), Some(true), Some(id)) => a href={ "/backups/" (id) } class="badge chg" { "changed" },
                                        (Some(Status::Success), Some(true), None) => span class="badge chg" { "changed" },
                                        (Some(Status::Success), Some(false), _) => span class="muted" { "unchanged" },
                                        _ => span class="muted" { "—" },
                                    }
                                }
                            }
                            td { a href={ "/jobs/" (html::enc(&a.task_identifier)) } { "Log" } }
                        }
                    }
                }
            }
        }
    }
}

/// A coordinate of the chart.
fn f1(v: f64) -> String {
    format!("{v:.1}")
}

/// Bars of the daily success rate, with counts, as an accessible SVG.
fn chart(days: &[DayOutcomes]) -> Markup {
    const W: f64 = 440.0;
    const H: f64 = 220.0;
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 44.0;
    const LEFT: f64 = 38.0;
    let plot_h = H - TOP - BOTTOM;
    let slot = (W - LEFT) / days.len().max(1) as f64;
    let bar_w = (slot * 0.6).min(48.0);
    let summary: Vec<String> = days
        .iter()
        .map(|d| {
            let label = weekday_label(&d.day);
            match d.succeeded + d.failed {
                0 => format!("{label}: no backups"),
                total => format!(
                    "{label}: {}% ({} stored, {} failed)",
                    (d.succeeded as f64 / total as f64 * 100.0).round(),
                    d.succeeded,
                    d.failed
                ),
            }
        })
        .collect();
    html! {
        svg class="chart" viewBox={ "0 0 " (W) " " (H) } role="img"
            aria-label={ "Success rate per day: " (summary.join("; ")) } preserveAspectRatio="xMidYMid meet" {
            @for pct in [0, 50, 100] {
                @let y = TOP + plot_h * (1.0 - f64::from(pct) / 100.0);
                line x1=(LEFT) x2=(W) y1=(f1(y)) y2=(f1(y)) class="c-grid" {}
                text x=(LEFT - 6.0) y=(f1(y + 4.0)) text-anchor="end" class="c-axis" { (pct) "%" }
            }
            @for (i, d) in days.iter().enumerate() {
                @let total = d.succeeded + d.failed;
                @let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
                @let cx = f1(x + bar_w / 2.0);
                @if total == 0 {
                    text x=(cx) y=(f1(TOP + plot_h - 6.0)) class="c-none" text-anchor="middle" { "none" }
                } @else {
                    @let rate = d.succeeded as f64 / total as f64;
                    @let bh = (plot_h * rate).max(if d.succeeded > 0 { 2.0 } else { 0.0 });
                    @let fail_h = plot_h - bh;
                    @let pct = (rate * 100.0).round();
                    g {
                        title { (d.day) ": " (d.succeeded) " stored, " (d.failed) " failed (" (pct) "%)" }
                        rect x=(f1(x)) y=(f1(TOP)) width=(f1(bar_w)) height=(f1(fail_h)) class="c-fail" {}
                        rect x=(f1(x)) y=(f1(TOP + fail_h)) width=(f1(bar_w)) height=(f1(bh)) class="c-ok" {}
                        text x=(cx) y=(f1(TOP + plot_h + 14.0)) text-anchor="middle" class="c-pct" { (pct) "%" }
                    }
                }
                text x=(cx) y=(f1(H - 8.0)) text-anchor="middle" class="c-axis" { (weekday_label(&d.day)) }
            }
        }
        p class="legend" { span class="key ok" {} " stored " span class="key fail" {} " failed" }
    }
}

/// `Mon 23` from `2026-11-23`.
fn weekday_label(day: &str) -> String {
    let parsed = time::Date::parse(
        day,
        time::macros::format_description!("[year]-[month]-[day]"),
    );
    match parsed {
        Ok(d) => {
            let wd = d.weekday().to_string();
            format!("{} {}", &wd[..3], d.day())
        }
        Err(_) => day.to_owned(),
    }
}

fn by_type(rows: &[(Option<String>, i64)], total: i64) -> Markup {
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    html! {
        @if rows.is_empty() {
            p class="muted" { "No devices." }
        } @else {
            table class="bars" { tbody {
                @for (name, n) in rows.iter().take(12) {
                    tr {
                        th scope="row" {
                            @if let Some(name) = name { (name) } @else { span class="muted" { "no type" } }
                        }
                        td class="bar-cell" {
                            svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" class="bar" {
                                rect width=(f1((*n as f64 / max as f64 * 100.0).max(1.0))) height="10" {}
                            }
                        }
                        td class="num" { (html::count(*n)) }
                    }
                }
            } }
            @if rows.len() > 12 {
                p class="muted small" { "and " (rows.len() - 12) " more types; " (html::count(total)) " devices in all" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(devices: i64) -> DashboardStats {
        DashboardStats {
            devices,
            enabled_devices: devices,
            stale: 2,
            by_type: vec![(Some("<ISR & co>".into()), devices), (None, 1)],
            succeeded: 3,
            failed: 1,
            avg_duration_ms: Some(1500.0),
            running: 0,
        }
    }

    #[test]
    fn the_chart_has_one_bar_per_day_with_its_rate() {
        let days = vec![
            DayOutcomes {
                day: "2026-11-27".into(),
                succeeded: 3,
                failed: 1,
            },
            DayOutcomes {
                day: "2026-11-28".into(),
                succeeded: 0,
                failed: 0,
            },
        ];
        let svg = chart(&days).into_string();
        assert!(svg.contains("75%"), "{svg}");
        assert!(svg.contains("Fri 27"), "{svg}");
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains("Sat 28: no backups"), "{svg}");
        assert!(svg.contains(r#"<rect x="#), "{svg}");
    }

    #[test]
    fn an_empty_installation_says_what_to_do_first_to_an_administrator_only() {
        let d = Dashboard {
            stats: stats(0),
            week: Vec::new(),
            failed: Vec::new(),
            since: "2026-03-01T06:00:00.000Z".into(),
            recent: Vec::new(),
        };
        let admin = render(&Scope::Admin, &d).into_string();
        assert!(admin.contains("Welcome to DeviceVault.") && admin.contains("/devices/new"));
        let reader = render(&Scope::All, &d).into_string();
        assert!(
            reader.contains("An administrator adds devices") && !reader.contains("/devices/new")
        );
        // A reader restricted to no group is told why, not "no devices".
        let nowhere = render(&Scope::Groups(Vec::new()), &d).into_string();
        assert!(
            nowhere.contains("No device groups yet.") && nowhere.contains("ask an administrator"),
            "{nowhere}"
        );
        let empty_groups = render(&Scope::Groups(vec![3]), &d).into_string();
        assert!(
            empty_groups.contains("No devices in your device groups yet."),
            "{empty_groups}"
        );
    }

    #[test]
    fn the_cards_count_and_names_are_escaped() {
        let d = Dashboard {
            stats: stats(1200),
            week: Vec::new(),
            failed: Vec::new(),
            since: "2026-03-01T06:00:00.000Z".into(),
            recent: Vec::new(),
        };
        let h = render(&Scope::Admin, &d).into_string();
        assert!(
            h.contains(r#"<span class="card-value">1,200</span><span class="card-sub">1,200 enabled</span>"#),
            "{h}"
        );
        assert!(
            h.contains("&lt;ISR &amp; co&gt;") && !h.contains("<ISR"),
            "{h}"
        );
        assert!(h.contains(r#"class="card bad""#), "{h}");
        assert!(h.contains("No failures in the last 24 hours."));
        // The cards open the results they count.
        assert!(
            h.contains(r#"<a class="card bad" href="/results?outcome=failed&amp;since=2026-03-01T06%3A00%3A00.000Z">"#),
            "{h}"
        );
        assert!(
            h.contains(r#"<a class="card ok" href="/results?outcome=stored&amp;since=2026-03-01T06%3A00%3A00.000Z">"#),
            "{h}"
        );
    }
}
