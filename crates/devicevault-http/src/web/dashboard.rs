//! The dashboard: what failed, what ran, how long it took, and the success
//! rate of the last 7 days as an SVG chart drawn here (no script needed).

use std::fmt::Write as _;

use axum::extract::State;
use axum::response::Response;
use devicevault_core::{Status, Timestamp};
use devicevault_db::dashboard::{Activity, DayOutcomes};

use super::html::{self, Nav, enc, esc, heading};
use super::session::Session;
use super::{WebResult, html_page};
use crate::Shared;

/// Seconds between automatic refreshes of the dashboard.
const REFRESH_SECS: u32 = 30;

fn ago_ts(hours: i64) -> Timestamp {
    Timestamp::from_datetime(Timestamp::now().as_datetime() - time::Duration::hours(hours))
}

pub(super) async fn page(
    Session(ctx): Session,
    State(state): State<Shared>,
) -> WebResult<Response> {
    let day = ago_ts(24);
    let now = Timestamp::now().as_datetime();
    let week_start = now.date() - time::Duration::days(6);
    let week_ts = Timestamp::from_datetime(week_start.midnight().assume_utc());
    let (stats, days, failed, recent) = tokio::try_join!(
        state.db.dashboard_stats(day, &ctx.scope),
        state.db.outcomes_per_day(week_ts, &ctx.scope),
        state.db.recent_activity(10, true, Some(day), &ctx.scope),
        state.db.recent_activity(15, false, None, &ctx.scope),
    )?;

    let mut b = heading(
        "Dashboard",
        &format!(
            r#"<span class="muted small" id="refreshed">Refreshes every {REFRESH_SECS} s</span>"#
        ),
    );
    b.insert_str(
        0,
        &format!(r#"<div data-refresh="{REFRESH_SECS}" id="dashboard">"#),
    );

    if stats.devices == 0 {
        b.push_str(&html::empty(
            "Welcome to DeviceVault.",
            if ctx.user.is_admin {
                r#"Three steps to the first backup: add a <a href="/admin/locations">backup location</a>, a <a href="/admin/credentials">credential</a>, then <a href="/devices/new">a device</a> — and press “Backup now”."#
            } else {
                "No devices yet: an administrator adds them."
            },
        ));
        b.push_str("</div>");
        return Ok(html_page(&ctx, "Dashboard", Nav::Dashboard, &b));
    }

    // Cards.
    let _ = write!(
        b,
        r#"<div class="cards">
<a class="card" href="/devices"><span class="card-label">Devices</span><span class="card-value">{devices}</span><span class="card-sub">{enabled} enabled</span></a>
<a class="card ok" href="/devices?status=stored"><span class="card-label">Stored, last 24 h</span><span class="card-value">{ok}</span><span class="card-sub">backups that succeeded</span></a>
<a class="card {bad_class}" href="/devices?status=failed"><span class="card-label">Failed, last 24 h</span><span class="card-value">{failed}</span><span class="card-sub">collections or stores</span></a>
<div class="card"><span class="card-label">Average duration</span><span class="card-value">{avg}</span><span class="card-sub">collection, last 24 h</span></div>
<a class="card" href="/devices?status=running"><span class="card-label">In progress</span><span class="card-value">{running}</span><span class="card-sub">jobs not finished</span></a>
</div>"#,
        devices = html::count(stats.devices),
        enabled = html::count(stats.enabled_devices),
        ok = html::count(stats.succeeded),
        failed = html::count(stats.failed),
        bad_class = if stats.failed > 0 { "bad" } else { "" },
        avg = stats
            .avg_duration_ms
            .map(html::duration_ms)
            .unwrap_or_else(|| "—".into()),
        running = html::count(stats.running),
    );

    b.push_str(r#"<div class="panels">"#);
    // The chart.
    b.push_str(r#"<section class="panel" aria-labelledby="rate-h"><h2 id="rate-h">Success rate, last 7 days</h2>"#);
    let week: Vec<DayOutcomes> = (0..7)
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
    b.push_str(&chart(&week));
    b.push_str("</section>");

    // Devices by type.
    b.push_str(
        r#"<section class="panel" aria-labelledby="types-h"><h2 id="types-h">Devices by type</h2>"#,
    );
    b.push_str(&by_type(&stats.by_type, stats.devices));
    b.push_str("</section></div>");

    // Failures first: what the morning check is for.
    b.push_str(
        r#"<section aria-labelledby="failed-h"><h2 id="failed-h">Failed in the last 24 hours</h2>"#,
    );
    if failed.is_empty() {
        b.push_str(r#"<p class="all-good">No failures in the last 24 hours.</p>"#);
    } else {
        b.push_str(&activity_table(&failed, true));
        if stats.failed > failed.len() as i64 {
            b.push_str(r#"<p><a href="/devices?status=failed">Every device whose last backup failed</a></p>"#);
        }
    }
    b.push_str("</section>");

    b.push_str(r#"<section aria-labelledby="recent-h"><h2 id="recent-h">Recent activity</h2>"#);
    if recent.is_empty() {
        b.push_str(&html::empty(
            "No backups yet.",
            r#"Open <a href="/devices">Devices</a> and press “Backup now”, or add a schedule."#,
        ));
    } else {
        b.push_str(&activity_table(&recent, false));
    }
    b.push_str("</section></div>");
    Ok(html_page(&ctx, "Dashboard", Nav::Dashboard, &b))
}

fn outcome(a: &Activity) -> (&'static str, &'static str) {
    match (a.collection, a.stored) {
        (Status::Failure, _) | (_, Some(Status::Failure)) => ("failed", "failed"),
        (Status::Success, Some(Status::Success)) => ("stored", "stored"),
        (Status::Success, None) => ("collected", "collected"),
    }
}

fn activity_table(rows: &[Activity], with_reason: bool) -> String {
    let mut h = String::from(
        r#"<div class="table-wrap"><table class="list"><thead><tr><th scope="col">When</th><th scope="col">Device</th><th scope="col">Status</th><th scope="col">Duration</th>"#,
    );
    if with_reason {
        h.push_str(r#"<th scope="col">Reason</th>"#);
    } else {
        h.push_str(r#"<th scope="col">Changed</th>"#);
    }
    h.push_str(r#"<th scope="col">Log</th></tr></thead><tbody>"#);
    for a in rows {
        let (state, _) = outcome(a);
        let _ = write!(
            h,
            r#"<tr><td class="nowrap">{} <span class="muted small">{}</span></td><td><a href="/devices/{}">{}</a></td><td>{}</td><td class="num">{}</td>"#,
            html::time(&a.timestamp),
            esc(&html::ago(&a.timestamp)),
            a.device_id,
            esc(&a.device_name),
            html::state_badge(state),
            html::duration_ms(a.duration_ms as f64),
        );
        if with_reason {
            let _ = write!(
                h,
                r#"<td class="reason">{}</td>"#,
                esc(a.reason.as_deref().unwrap_or("see the log"))
            );
        } else {
            let changed = match (a.stored, a.changed) {
                (Some(Status::Success), Some(true)) => match a.stored_id {
                    Some(id) => format!(r#"<a href="/backups/{id}" class="badge chg">changed</a>"#),
                    None => r#"<span class="badge chg">changed</span>"#.into(),
                },
                (Some(Status::Success), Some(false)) => {
                    r#"<span class="muted">unchanged</span>"#.into()
                }
                _ => r#"<span class="muted">—</span>"#.into(),
            };
            h.push_str(&format!("<td>{changed}</td>"));
        }
        let _ = write!(
            h,
            r#"<td><a href="/jobs/{}">Log</a></td></tr>"#,
            enc(&a.task_identifier)
        );
    }
    h.push_str("</tbody></table></div>");
    h
}

/// Bars of the daily success rate, with counts, as an accessible SVG.
pub fn chart(days: &[DayOutcomes]) -> String {
    const W: f64 = 440.0;
    const H: f64 = 220.0;
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 44.0;
    const LEFT: f64 = 38.0;
    let plot_h = H - TOP - BOTTOM;
    let slot = (W - LEFT) / days.len().max(1) as f64;
    let bar_w = (slot * 0.6).min(48.0);
    let mut summary = Vec::new();
    let mut h = String::new();
    for (i, d) in days.iter().enumerate() {
        let total = d.succeeded + d.failed;
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let label = weekday_label(&d.day);
        if total == 0 {
            let _ = write!(
                h,
                r#"<text x="{cx:.1}" y="{y:.1}" class="c-none" text-anchor="middle">none</text>"#,
                cx = x + bar_w / 2.0,
                y = TOP + plot_h - 6.0,
            );
            summary.push(format!("{label}: no backups"));
        } else {
            let rate = d.succeeded as f64 / total as f64;
            let bh = (plot_h * rate).max(if d.succeeded > 0 { 2.0 } else { 0.0 });
            let fail_h = plot_h - bh;
            let pct = (rate * 100.0).round();
            let _ = write!(
                h,
                r#"<g><title>{day}: {ok} stored, {ko} failed ({pct}%)</title><rect x="{x:.1}" y="{fy:.1}" width="{bar_w:.1}" height="{fail_h:.1}" class="c-fail"/><rect x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{bh:.1}" class="c-ok"/><text x="{cx:.1}" y="{ty:.1}" text-anchor="middle" class="c-pct">{pct}%</text></g>"#,
                day = esc(&d.day),
                ok = d.succeeded,
                ko = d.failed,
                fy = TOP,
                y = TOP + fail_h,
                cx = x + bar_w / 2.0,
                ty = TOP + plot_h + 14.0,
            );
            summary.push(format!(
                "{label}: {pct}% ({} stored, {} failed)",
                d.succeeded, d.failed
            ));
        }
        let _ = write!(
            h,
            r#"<text x="{cx:.1}" y="{y:.1}" text-anchor="middle" class="c-axis">{}</text>"#,
            esc(&label),
            cx = x + bar_w / 2.0,
            y = H - 8.0,
        );
    }
    let mut grid = String::new();
    for pct in [0, 50, 100] {
        let y = TOP + plot_h * (1.0 - f64::from(pct) / 100.0);
        let _ = write!(
            grid,
            r#"<line x1="{LEFT}" x2="{W}" y1="{y:.1}" y2="{y:.1}" class="c-grid"/><text x="{tx}" y="{ty:.1}" text-anchor="end" class="c-axis">{pct}%</text>"#,
            tx = LEFT - 6.0,
            ty = y + 4.0,
        );
    }
    format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="Success rate per day: {}" preserveAspectRatio="xMidYMid meet">{grid}{h}</svg><p class="legend"><span class="key ok"></span> stored <span class="key fail"></span> failed</p>"#,
        esc(&summary.join("; "))
    )
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

fn by_type(rows: &[(Option<String>, i64)], total: i64) -> String {
    if rows.is_empty() {
        return r#"<p class="muted">No devices.</p>"#.into();
    }
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let mut h = String::from(r#"<table class="bars"><tbody>"#);
    for (name, n) in rows.iter().take(12) {
        let w = (*n as f64 / max as f64 * 100.0).max(1.0);
        let _ = write!(
            h,
            r#"<tr><th scope="row">{}</th><td class="bar-cell"><svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" class="bar"><rect width="{w:.1}" height="10"/></svg></td><td class="num">{}</td></tr>"#,
            match name {
                Some(n) => esc(n).to_string(),
                None => r#"<span class="muted">no type</span>"#.into(),
            },
            html::count(*n),
        );
    }
    h.push_str("</tbody></table>");
    if rows.len() > 12 {
        let _ = write!(
            h,
            r#"<p class="muted small">and {} more types; {} devices in all</p>"#,
            rows.len() - 12,
            html::count(total)
        );
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let svg = chart(&days);
        assert!(svg.contains("75%"), "{svg}");
        assert!(svg.contains("no backups"), "{svg}");
        assert!(svg.contains("Fri 27"), "{svg}");
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains("Sat 28: no backups"), "{svg}");
    }
}
