//! One time zone per reader: every timestamp of a page is shown in it, with
//! its abbreviation, and its UTC instant in the tooltip.
//!
//! The zone is a display preference kept in the `dv_tz` cookie, like the
//! theme: set by the script to the browser's zone on the first visit (then
//! the page is loaded again, so no page mixes two zones), or chosen on the
//! account page, which the script then leaves alone. Without a valid
//! cookie (no script, an unknown name) every time is UTC, labelled so.

use std::str::FromStr as _;

use axum::http::HeaderMap;
use chrono::DateTime;
use chrono_tz::Tz;
use devicevault_core::Timestamp;

/// The cookie holding the reader's IANA time zone name.
pub const COOKIE: &str = "dv_tz";
/// Set when the zone was chosen on the account page rather than detected.
pub const CHOSEN_COOKIE: &str = "dv_tz_chosen";

tokio::task_local! {
    static ZONE: Tz;
}

/// The zone a request's cookie names, or UTC.
pub fn of(headers: &HeaderMap) -> Tz {
    super::session::cookie(headers, COOKIE)
        .and_then(parse)
        .unwrap_or(Tz::UTC)
}

/// An IANA zone name (`Europe/Paris`), or `None` if there is no such zone.
pub fn parse(name: &str) -> Option<Tz> {
    // A cookie written with encodeURIComponent has its slash escaped.
    Tz::from_str(&name.trim().replace("%2F", "/")).ok()
}

/// Runs `f` (a request's handling) with `zone` as the zone of its pages.
pub async fn scope<F: std::future::Future>(zone: Tz, f: F) -> F::Output {
    ZONE.scope(zone, f).await
}

/// The zone of the page being rendered (UTC outside a request).
pub fn current() -> Tz {
    ZONE.try_with(|z| *z).unwrap_or(Tz::UTC)
}

/// `at` in the current zone, to the minute or the second, with the zone's
/// abbreviation: `2026-12-06 18:03 CET`.
pub fn format(at: &Timestamp, seconds: bool) -> String {
    let millis = i64::try_from(at.unix_millis()).unwrap_or_default();
    let utc = DateTime::from_timestamp_millis(millis).unwrap_or_default();
    let local = utc.with_timezone(&current());
    let pattern = if seconds {
        "%Y-%m-%d %H:%M:%S %Z"
    } else {
        "%Y-%m-%d %H:%M %Z"
    };
    local.format(pattern).to_string()
}

/// Every zone a reader may choose, by name.
pub fn names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn times_are_shown_in_the_zone_of_the_request_with_its_abbreviation() {
        let winter = Timestamp::parse("2030-01-15T23:30:05.000Z").unwrap();
        let summer = Timestamp::parse("2030-07-15T23:30:05.000Z").unwrap();
        assert_eq!(format(&winter, false), "2030-01-15 23:30 UTC");
        let paris = parse("Europe/Paris").unwrap();
        let (w, s) = scope(paris, async {
            (format(&winter, true), format(&summer, false))
        })
        .await;
        // The next day there, and the summer offset.
        assert_eq!(w, "2030-01-16 00:30:05 CET");
        assert_eq!(s, "2030-07-16 01:30 CEST");
        assert_eq!(parse("Mars/Olympus"), None);
        assert_eq!(parse("Asia%2FTokyo"), parse("Asia/Tokyo"));
        assert!(names().any(|n| n == "America/New_York"));
    }
}
