//! The generic webhook: one JSON document per event, signed.
//!
//! # Payload
//!
//! ```json
//! {
//!   "idempotency_key": "devicevault-event-42",
//!   "id": 42,
//!   "kind": "config_changed",
//!   "occurred_at": "2026-03-01T10:00:00.000Z",
//!   "device_id": 7,
//!   "device_name": "r1",
//!   "stored_backup_id": 120,
//!   "previous_stored_backup_id": 118,
//!   "reason": null,
//!   "diff": {"unified": "--- r1 #118\n+++ r1 #120\n@@ …", "added": 1, "removed": 1, "lines_omitted": 0},
//!   "author": null,
//!   "stale_since": null,
//!   "stale_threshold_secs": null,
//!   "summary": "config changed: r1",
//!   "links": {
//!     "device": "https://dv.example.com/devices/7",
//!     "compare": "https://dv.example.com/devices/7/compare?a=118&b=120"
//!   }
//! }
//! ```
//!
//! The fields are those of [`Event`] (all present, `null` when they do not
//! apply), plus `idempotency_key`, `summary` and `links` (each link `null`
//! without a public URL). `diff.unified` has secrets masked and is cut to
//! [`crate::RenderLimits::diff_bytes`]; `lines_omitted` says how much is
//! missing. Fields may be added; none is renamed or removed.
//!
//! # Headers
//!
//! - `Content-Type: application/json`
//! - `X-DeviceVault-Event: config_changed`
//! - `Idempotency-Key: devicevault-event-42` — the same on every attempt:
//!   delivery is at least once, so a receiver drops a key it has seen.
//! - `X-DeviceVault-Signature: t=1772359200,v1=5257a869…` — `t` is the
//!   Unix time of the attempt, `v1` the hex HMAC-SHA256, keyed with the
//!   channel's secret, of `"<t>.<body>"` (the exact bytes received). A
//!   receiver recomputes it, compares in constant time, and refuses a `t`
//!   too far from its clock, which stops replays of captured requests.
//!   [`verify_signature`] does all three. Several `v1` entries may appear
//!   (any one matching is enough), so a secret can be rotated.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::event::Event;
use crate::render::{MessageContext, summary};

/// Carries `t=<unix>,v1=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-DeviceVault-Signature";
/// Carries the event kind, e.g. `config_changed`.
pub const EVENT_HEADER: &str = "X-DeviceVault-Event";
/// Carries `devicevault-event-<id>`.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// How far a signature's timestamp may be from the receiver's clock.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

type HmacSha256 = Hmac<Sha256>;

#[derive(Serialize)]
struct Payload<'a> {
    idempotency_key: String,
    #[serde(flatten)]
    event: &'a Event,
    summary: String,
    links: Links,
}

#[derive(Serialize)]
struct Links {
    device: Option<String>,
    compare: Option<String>,
}

/// The JSON body for one event (see the module docs for its shape).
pub fn webhook_body(event: &Event, ctx: &MessageContext) -> Vec<u8> {
    let mut cut = event.clone();
    cut.diff = event
        .diff
        .as_ref()
        .map(|d| d.cut(usize::MAX, ctx.limits.diff_bytes));
    let p = Payload {
        idempotency_key: event.idempotency_key(),
        event: &cut,
        summary: summary(event),
        links: Links {
            device: ctx.device_url(event),
            compare: ctx.compare_url(event),
        },
    };
    serde_json::to_vec(&p).unwrap_or_default()
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC accepts any key");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// HMAC-SHA256 of `message` under `key`, in hex: the primitive of the
/// webhook signature, also what signs the audit log's checkpoints.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key");
    m.update(message);
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `X-DeviceVault-Signature` value for `body` sent at `timestamp`
/// (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("malformed signature header: {0}")]
    Malformed(&'static str),
    #[error("signature timestamp is {age_secs} s away from now, more than the tolerance")]
    OutsideTolerance { age_secs: u64 },
    #[error("no signature matches the body")]
    Mismatch,
}

/// Checks a `X-DeviceVault-Signature` header against the raw `body` as
/// received: the timestamp within `tolerance` of `now` (Unix seconds), and
/// some `v1` equal, in constant time, to the HMAC-SHA256 of
/// `"<t>.<body>"` under `secret`.
pub fn verify_signature(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed("expected key=value pairs"))?;
        match k {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed("more than one t"));
                }
                timestamp = Some(
                    v.parse::<i64>()
                        .map_err(|_| SignatureError::Malformed("t is not a number"))?,
                );
            }
            "v1" => candidates.push(v),
            // Other schemes may be added later; they are not ours to check.
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed("no t"))?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed("no v1"));
    }
    let age = now.abs_diff(t);
    if age > tolerance.as_secs() {
        return Err(SignatureError::OutsideTolerance { age_secs: age });
    }
    let expected = mac(secret, t, body);
    for c in candidates {
        if let Some(tag) = unhex(c)
            && expected.clone().verify_slice(&tag).is_ok()
        {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use devicevault_core::Timestamp;

    const SECRET: &[u8] = b"whsec_0123456789abcdef";

    #[test]
    fn a_signature_verifies_and_any_change_breaks_it() {
        let body = br#"{"id":1}"#;
        let h = sign(SECRET, 1_772_359_200, body);
        assert!(h.starts_with("t=1772359200,v1="), "{h}");
        assert_eq!(h.len(), "t=1772359200,v1=".len() + 64);
        let ok =
            |h: &str, body: &[u8], now| verify_signature(SECRET, h, body, now, DEFAULT_TOLERANCE);
        assert_eq!(ok(&h, body, 1_772_359_200), Ok(()));
        assert_eq!(ok(&h, body, 1_772_359_200 + 299), Ok(()));
        assert_eq!(
            ok(&h, br#"{"id":2}"#, 1_772_359_200),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(
                b"another secret!!",
                &h,
                body,
                1_772_359_200,
                DEFAULT_TOLERANCE
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            ok(&h, body, 1_772_359_200 + 301),
            Err(SignatureError::OutsideTolerance { age_secs: 301 })
        );
        // A replay with a fresh timestamp but the old tag fails.
        let replay = h.replace("t=1772359200", "t=1772359500");
        assert_eq!(
            ok(&replay, body, 1_772_359_500),
            Err(SignatureError::Mismatch)
        );
        // A rotated secret: either tag may match.
        let old = sign(b"the old secret..", 1_772_359_200, body);
        let both = format!("{h},{}", old.split_once(',').unwrap().1);
        assert_eq!(ok(&both, body, 1_772_359_200), Ok(()));
        for bad in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,t=2,v1=00", "garbage"] {
            assert!(
                matches!(ok(bad, body, 1), Err(SignatureError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_signature_matches_an_independent_hmac_computation() {
        // The HMAC-SHA256 in use gives RFC 4231's test case 2 …
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // … and `sign` applies it to "<t>.<body>".
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(SECRET).unwrap();
        m.update(b"5.hello");
        let hex: String = m
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sign(SECRET, 5, b"hello"), format!("t=5,v1={hex}"));
    }

    #[test]
    fn the_body_carries_the_event_the_key_the_summary_and_links() {
        let mut e = Event::new(
            42,
            EventKind::ConfigChanged,
            Timestamp::parse("2026-03-01T10:00:00Z").unwrap(),
            7,
            "r1",
        );
        e.stored_backup_id = Some(120);
        e.previous_stored_backup_id = Some(118);
        let ctx = MessageContext::new(Some("https://dv.example.com"));
        let body = webhook_body(&e, &ctx);
        assert!(body.starts_with(br#"{"idempotency_key":"devicevault-event-42","id":42,"#));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["idempotency_key"], "devicevault-event-42");
        assert_eq!(v["kind"], "config_changed");
        assert_eq!(v["summary"], "config changed: r1");
        assert_eq!(
            v["links"]["compare"],
            "https://dv.example.com/devices/7/compare?a=118&b=120"
        );
        assert!(v["reason"].is_null());
        assert!(v.get("stale_threshold_secs").is_some());
    }
}
