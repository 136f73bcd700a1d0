//! Why a delivery failed, and whether trying again can help.

use std::time::Duration;

use devicevault_core::{Retry, RetryClass};

/// A failed delivery. Messages name the server (`host:port`, or a webhook
/// URL's scheme and authority only) and never carry a credential or a
/// message body.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The channel cannot work as configured. Permanent.
    #[error("channel configuration: {0} (permanent: fix the channel)")]
    Config(String),
    /// The connection could not be opened (refused, unreachable, name not
    /// resolved). Transient.
    #[error("connecting to {target}: {reason} (transient)")]
    Connect { target: String, reason: String },
    /// The TLS handshake failed. Permanent when the certificate is not
    /// trusted or does not match; transient otherwise.
    #[error("TLS with {target}: {reason} ({})", word(*retry))]
    Tls {
        target: String,
        reason: String,
        retry: Retry,
    },
    /// The server did not answer within the bound. Transient.
    #[error("{target} did not answer within {} ms (transient)", after.as_millis())]
    Timeout { target: String, after: Duration },
    /// The SMTP server refused with a negative reply: 4yz is transient,
    /// 5yz permanent (RFC 5321 §4.2.1), which covers rejected recipients
    /// (550) and failed authentication (535).
    #[error("the SMTP server {target} replied {code} {message} ({})", word(smtp_retry(*code)))]
    SmtpReply {
        target: String,
        code: u16,
        message: String,
    },
    /// The SMTP conversation broke down otherwise (connection lost,
    /// unparsable reply).
    #[error("SMTP with {target}: {reason} ({})", word(*retry))]
    Smtp {
        target: String,
        reason: String,
        retry: Retry,
    },
    /// The receiver answered with a status other than 2xx: 5xx, 408 and
    /// 429 are transient, every other status (4xx, redirects) permanent.
    #[error("{target} answered HTTP {status}{} ({})",
        if excerpt.is_empty() { String::new() } else { format!(": {excerpt}") },
        word(http_retry(*status)))]
    HttpStatus {
        target: String,
        status: u16,
        /// From a `Retry-After: <seconds>` header.
        retry_after: Option<Duration>,
        /// The start of the response body (receivers such as Slack put
        /// their error code there), one line, control characters removed.
        excerpt: String,
    },
    /// The HTTP exchange broke down (connection reset, malformed
    /// response). Transient.
    #[error("HTTP with {target}: {reason} (transient)")]
    Http { target: String, reason: String },
}

fn word(r: Retry) -> &'static str {
    match r {
        Retry::Transient => "transient",
        Retry::Permanent => "permanent",
    }
}

fn smtp_retry(code: u16) -> Retry {
    if (400..500).contains(&code) {
        Retry::Transient
    } else {
        Retry::Permanent
    }
}

fn http_retry(status: u16) -> Retry {
    match status {
        408 | 429 | 500..=599 => Retry::Transient,
        _ => Retry::Permanent,
    }
}

impl RetryClass for DeliveryError {
    fn retry(&self) -> Retry {
        match self {
            DeliveryError::Config(_) => Retry::Permanent,
            DeliveryError::Connect { .. }
            | DeliveryError::Timeout { .. }
            | DeliveryError::Http { .. } => Retry::Transient,
            DeliveryError::Tls { retry, .. } | DeliveryError::Smtp { retry, .. } => *retry,
            DeliveryError::SmtpReply { code, .. } => smtp_retry(*code),
            DeliveryError::HttpStatus { status, .. } => http_retry(*status),
        }
    }
}

impl DeliveryError {
    /// How long the receiver asked us to wait (HTTP `Retry-After`), for
    /// [`crate::RetryPolicy::after_failure`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DeliveryError::HttpStatus { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// At most `max` characters of the first line of `s`, without control
/// characters: what a peer said, safe to put in a message.
#[cfg_attr(not(feature = "delivery"), allow(dead_code))]
pub(crate) fn excerpt(s: &str, max: usize) -> String {
    let line = s.trim().lines().next().unwrap_or("");
    let mut out: String = line.chars().filter(|c| !c.is_control()).take(max).collect();
    if line.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16) -> DeliveryError {
        DeliveryError::SmtpReply {
            target: "mx:25".into(),
            code,
            message: "x".into(),
        }
    }

    fn status(status: u16) -> DeliveryError {
        DeliveryError::HttpStatus {
            target: "https://h/…".into(),
            status,
            retry_after: None,
            excerpt: String::new(),
        }
    }

    #[test]
    fn smtp_replies_follow_rfc_5321_classes() {
        for c in [421, 450, 451, 452, 454] {
            assert!(reply(c).is_transient(), "{c}");
        }
        for c in [535, 550, 551, 552, 553, 554] {
            assert_eq!(reply(c).retry(), Retry::Permanent, "{c}");
        }
        assert!(reply(550).to_string().contains("permanent"));
        assert!(reply(451).to_string().contains("transient"));
    }

    #[test]
    fn http_statuses_are_transient_only_where_a_retry_can_help() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(status(s).is_transient(), "{s}");
        }
        for s in [301, 400, 401, 403, 404, 410, 413, 422] {
            assert_eq!(status(s).retry(), Retry::Permanent, "{s}");
        }
    }

    #[test]
    fn excerpts_are_one_bounded_line() {
        assert_eq!(excerpt("invalid_payload\nmore", 50), "invalid_payload");
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(excerpt("a\u{1b}[31mb", 10), "a[31mb");
    }
}
