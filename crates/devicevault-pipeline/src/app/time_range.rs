//! The one validator of a `since`/`until` pair, for every list filtered by
//! time (the audit log, the backup results): RFC 3339, a date (`until` a
//! date: to the end of that day), or a form's `datetime-local` value
//! (`2026-03-01T22:00`, no zone: UTC, as the pages say).

use std::time::Duration;

use devicevault_core::Timestamp;

use super::inventory::FieldErrors;

/// One time parameter; `end_of_day` for `until`.
pub fn time_param(s: &str, end_of_day: bool) -> Result<Timestamp, String> {
    if let Ok(t) = Timestamp::parse(s) {
        return Ok(t);
    }
    // `datetime-local` without seconds.
    if s.len() == 16
        && s.as_bytes().get(10) == Some(&b'T')
        && let Ok(t) = Timestamp::parse(&format!("{s}:00"))
    {
        return Ok(t);
    }
    let day = Timestamp::parse(&format!("{s}T00:00:00Z")).map_err(|_| {
        format!(
            "{s:?} is neither a date (2026-12-31) nor a time (2026-12-31T22:00, UTC, or RFC 3339)"
        )
    })?;
    Ok(if end_of_day {
        Timestamp::from_datetime(day.as_datetime() + Duration::from_secs(86_400))
    } else {
        day
    })
}

/// `since` (inclusive) and `until` (exclusive) from request parameters
/// (blank values are absent), their errors added to `errors` by field.
pub fn since_until(
    get: impl Fn(&str) -> Option<String>,
    errors: &mut FieldErrors,
) -> (Option<Timestamp>, Option<Timestamp>) {
    let mut time = |name: &'static str, end: bool| {
        get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .and_then(|v| match time_param(&v, end) {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.add(name, e);
                    None
                }
            })
    };
    let since = time("since", false);
    let until = time("until", true);
    if let (Some(a), Some(b)) = (since, until)
        && a >= b
    {
        errors.add("until", "must be after since");
    }
    (since, until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_time_without_zone_or_seconds_is_utc() {
        assert_eq!(
            time_param("2026-03-01T22:00", true).unwrap().to_string(),
            "2026-03-01T22:00:00.000Z"
        );
        assert_eq!(
            time_param("2026-03-01", true).unwrap().to_string(),
            "2026-03-02T00:00:00.000Z"
        );
        assert!(time_param("2026-03-01T22", false).is_err());
        assert!(time_param("last night", false).is_err());
    }
}
