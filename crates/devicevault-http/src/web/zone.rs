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

/// A form's `datetime-local` value (no zone: `2026-03-01T22:00`, with
/// optional seconds) read in the current zone, as an RFC 3339 UTC time;
/// any other value (a date, a time with its zone, garbage for the
/// validator to name) unchanged.
pub fn input_to_utc(value: &str) -> String {
    let v = value.trim();
    let naive = [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(v, f).ok());
    match naive.and_then(|n| n.and_local_timezone(current()).earliest()) {
        Some(local) => local
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string(),
        None => v.to_owned(),
    }
}

/// An RFC 3339 time as a `datetime-local` value in the current zone (the
/// input shows nothing for a value with a zone); anything else as it is.
pub fn utc_to_input(value: &str) -> String {
    match Timestamp::parse(value.trim()) {
        Ok(t) if value.as_bytes().get(10) == Some(&b'T') => {
            let millis = i64::try_from(t.unix_millis()).unwrap_or_default();
            let utc = DateTime::from_timestamp_millis(millis).unwrap_or_default();
            utc.with_timezone(&current())
                .format("%Y-%m-%dT%H:%M:%S%.3f")
                .to_string()
        }
        _ => value.to_owned(),
    }
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
    }

    #[tokio::test]
    async fn a_forms_local_times_are_read_and_shown_in_the_readers_zone() {
        let tokyo = parse("Asia/Tokyo").unwrap();
        let (utc, back, date, utc_kept) = scope(tokyo, async {
            (
                input_to_utc("2030-03-02T07:00"),
                utc_to_input("2030-03-01T22:00:00.000Z"),
                input_to_utc("2030-03-02"),
                input_to_utc("2030-03-01T22:00:00Z"),
            )
        })
        .await;
        assert_eq!(utc, "2030-03-01T22:00:00.000Z");
        assert_eq!(back, "2030-03-02T07:00:00.000");
        assert_eq!(date, "2030-03-02", "a date is left to the validator");
        assert_eq!(utc_kept, "2030-03-01T22:00:00Z");
        // Outside a request: UTC.
        assert_eq!(
            input_to_utc("2030-03-02T07:00:30"),
            "2030-03-02T07:00:30.000Z"
        );
        assert!(names().any(|n| n == "America/New_York"));
    }
}
