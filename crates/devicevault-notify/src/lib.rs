//! DeviceVault's notification delivery: events (a configuration changed, a
//! backup failed, a device went stale or recovered) rendered and delivered
//! as e-mail, signed webhooks, and Slack and Teams messages.
//!
//! This crate is the delivery half. Deciding which events a rule picks,
//! keeping them in an outbox, and the API and pages that configure rules
//! and channels live in the server; they call this crate. It depends on
//! `devicevault-core` only among DeviceVault's crates, and on no database
//! or web framework.
//!
//! # Usage
//!
//! ```no_run
//! use devicevault_core::{RetryClass, Timestamp};
//! use devicevault_notify::{
//!     Channel, ChangeDiff, DiffLimits, EmailChannel, Event, EventKind, MessageContext,
//!     NextAttempt, Notifier, NotifierConfig, RetryPolicy, SmtpSecurity,
//! };
//!
//! # async fn run(old: &str, new: &str, mask: impl Fn(&str) -> String) -> Result<(), Box<dyn std::error::Error>> {
//! // Once per process: loads the system's root certificates.
//! let notifier = Notifier::new(NotifierConfig::default())?;
//! let ctx = MessageContext::new(Some("https://devicevault.example.com"));
//!
//! // When a backup stores a changed configuration (outbox row 42):
//! let mut event = Event::new(42, EventKind::ConfigChanged, Timestamp::now(), 7, "r1");
//! event.stored_backup_id = Some(120);
//! event.previous_stored_backup_id = Some(118);
//! // `mask` applies the device driver's secret rules to a whole text.
//! event.diff = Some(ChangeDiff::between(old, new, "r1 #118", "r1 #120", mask, &DiffLimits::default()));
//!
//! // In the outbox worker:
//! let channel = Channel::Email(EmailChannel {
//!     host: "smtp.example.com".into(),
//!     port: None,
//!     security: SmtpSecurity::Starttls,
//!     username: Some("devicevault".into()),
//!     password: Some("…".into()),
//!     from: "DeviceVault <devicevault@example.com>".into(),
//!     to: vec!["noc@example.com".into()],
//! });
//! match notifier.deliver(&channel, &[event], &ctx).await {
//!     Ok(()) => { /* mark the row delivered */ }
//!     Err(e) => match RetryPolicy::default().after_failure(1, Timestamp::now(), &e, 42) {
//!         NextAttempt::At(when) => { /* record e.to_string(), try again at `when` */ }
//!         NextAttempt::Dead => { /* record e.to_string(), state "dead" */ }
//!     },
//! }
//! # Ok(()) }
//! ```
//!
//! For a digest, give [`Notifier::deliver`] all the events of a window
//! ([`digest::group`], delivered once [`Digest::is_due`]): e-mail, Slack
//! and Teams send one message listing them.
//!
//! # Design decisions
//!
//! **At least once, recognisably.** The outbox may deliver an event again
//! after a crash between sending and recording success, so every message
//! carries a key derived from the event alone: the webhook's
//! `idempotency_key` and `Idempotency-Key` header (`devicevault-event-<id>`)
//! and the mail's `Message-ID` (`<devicevault-event-<id>@host>`, the host
//! taken from the public URL, else the sender's domain). Receivers drop
//! what they have seen; mail stores that deduplicate on Message-ID do too.
//! A digest's Message-ID is derived from the set of its event ids.
//!
//! **Bounded, so a dead receiver cannot stall anything.** Every call has a
//! connect bound and a whole-delivery bound ([`NotifierConfig`]); a server
//! that accepts the connection and then says nothing costs at most the
//! delivery bound, and is a transient [`DeliveryError::Timeout`]. The crate
//! holds no connection between calls, so nothing stale survives either.
//!
//! **Errors say whether a retry can help** ([`devicevault_core::RetryClass`]).
//! SMTP replies follow RFC 5321: 4yz transient (greylisting, "try again
//! later", a full queue), 5yz permanent (550 unknown recipient, 535 failed
//! authentication, 554 rejected). HTTP 5xx, 408 and 429 are transient
//! (with `Retry-After` passed on), any other status — redirects included —
//! permanent. Network failures and timeouts are transient; an untrusted or
//! mismatched certificate, a server without STARTTLS, and an invalid channel
//! are permanent. [`RetryPolicy`] turns that into the next attempt time
//! (exponential backoff, capped, with jitter keyed by the event so it is
//! reproducible) or "dead".
//!
//! **Rendering is pure.** [`render_mail`], [`webhook_body`],
//! [`slack_payload`] and [`teams_payload`] are functions of the events and
//! the [`MessageContext`], so a "send test notification" page or a test sees
//! exactly what would be sent; only the `Date` header and the signature
//! timestamp are taken at sending time.
//!
//! **Mail a filter can sort.** Subjects read `[DeviceVault] config changed:
//! r1`, `[DeviceVault] backup failed: r1`, or for a digest `[DeviceVault] 14
//! events: 9 config changed, 5 backup failed`; headers
//! `X-DeviceVault-Event` (the kind, or `digest`), `X-DeviceVault-Device`,
//! `X-DeviceVault-Event-Id` and `Auto-Submitted: auto-generated` (so
//! vacation responders stay quiet). The body is plain text with the unified
//! diff inline, capped ([`RenderLimits`]) with a line saying how many lines
//! are missing and linking to the compare page.
//!
//! **Secrets.** Diffs are of the *masked* texts ([`ChangeDiff::between`]
//! masks both versions first, so a changed secret shows neither its old nor
//! its new value, nor even a changed line). The SMTP password, the webhook
//! secret and the Slack/Teams URLs (bearer credentials themselves) are
//! redacted in `Debug`, and errors name a URL by scheme and host only.
//! Nothing here logs a message body or a diff.
//!
//! **TLS** is rustls with the `ring` provider; trusted roots are the
//! system's plus optional extra PEM certificates. There is deliberately no
//! "accept invalid certificates" switch: a private CA goes in
//! [`NotifierConfig::extra_root_certificates`]. An SMTP password is never
//! sent over an unencrypted connection ([`Channel::validate`] refuses it).
//!
//! **Transports are a feature.** `delivery` (on by default) brings the SMTP
//! and HTTPS clients and [`Notifier`]. A crate that only decides what to
//! send (DeviceVault's pipeline) depends on this one without it and is
//! handed a [`Deliver`] — the `Notifier` — by whoever assembles the
//! process, so no HTTP stack is in its dependency tree.
//!
//! **Webhooks** are signed like Stripe's: see [`webhook`] for the payload,
//! the headers, and [`verify_signature`] for receivers.

mod channel;
pub mod chat;
mod deliver;
pub mod digest;
mod error;
mod event;
#[cfg(feature = "delivery")]
mod http;
#[cfg(feature = "delivery")]
mod notifier;
mod render;
mod retry;
#[cfg(feature = "delivery")]
mod smtp;
mod target;
pub mod webhook;

pub use channel::{Channel, EmailChannel, Secret, SecretUrl, SmtpSecurity};
pub use chat::{slack_payload, teams_payload};
pub use deliver::{Deliver, Delivery};
pub use digest::Digest;
pub use error::DeliveryError;
pub use event::{ChangeDiff, DiffLimits, Event, EventKind};
#[cfg(feature = "delivery")]
pub use notifier::{Notifier, NotifierConfig};
pub use render::{
    Mail, MessageContext, RenderLimits, counts, digest_summary, render_mail, subject, summary,
};
pub use retry::{NextAttempt, RetryPolicy};
pub use webhook::{SignatureError, hmac_sha256_hex, sign, verify_signature, webhook_body};
