//! Timestamps on the wire: RFC 3339 in UTC with milliseconds, e.g.
//! `2026-01-12T12:34:56.789Z`, as in the seed's examples.

use std::fmt;

use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset, format_description::well_known::Rfc3339};

/// Why a string is not a timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {value:?}: expected RFC 3339, e.g. 2026-01-12T12:34:56.789Z")]
pub struct TimestampError {
    pub value: String,
}

/// A point in time, written as RFC 3339 UTC with millisecond precision.
///
/// Parsing is lenient about what other producers send: any RFC 3339 offset,
/// and Python's offset-less `datetime.isoformat()` (taken as UTC).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Wraps a point in time, converted to UTC and truncated to milliseconds.
    pub fn from_datetime(t: OffsetDateTime) -> Self {
        let t = t.to_offset(UtcOffset::UTC);
        let ms = t.millisecond();
        Self(t.replace_millisecond(ms).unwrap_or(t))
    }

    /// The current time. (Reading the clock is the one side effect here.)
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// Parses RFC 3339 or an offset-less ISO 8601 date-time (taken as UTC).
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
            return Ok(Self::from_datetime(t));
        }
        let naive = time::macros::format_description!(
            version = 2,
            "[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        PrimitiveDateTime::parse(s, naive)
            .map(|t| Self::from_datetime(t.assume_utc()))
            .map_err(|_| TimestampError {
                value: s.to_owned(),
            })
    }

    /// The wrapped time, in UTC.
    pub fn as_datetime(&self) -> OffsetDateTime {
        self.0
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> i128 {
        self.0.unix_timestamp_nanos() / 1_000_000
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_seed_format() {
        let s = "2026-01-12T12:34:56.789Z";
        assert_eq!(Timestamp::parse(s).unwrap().to_string(), s);
    }

    #[test]
    fn accepts_offsets_and_python_isoformat() {
        let a = Timestamp::parse("2026-01-12T13:34:56.789+01:00").unwrap();
        let b = Timestamp::parse("2026-01-12T12:34:56.789123").unwrap();
        assert_eq!(a.to_string(), "2026-01-12T12:34:56.789Z");
        assert_eq!(b.to_string(), "2026-01-12T12:34:56.789Z");
        assert!(Timestamp::parse("yesterday").is_err());
    }
}
