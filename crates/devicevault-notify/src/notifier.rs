//! The delivery entry point: a channel, the events for it, one bounded try.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_rustls::rustls::{self, RootCertStore, pki_types::CertificateDer};

use crate::channel::{Channel, SecretUrl};
use crate::error::DeliveryError;
use crate::event::Event;
use crate::http;
use crate::render::{MessageContext, render_mail};
use crate::target::Target;
use crate::webhook::{EVENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign, webhook_body};
use crate::{chat, smtp};

/// Bounds and trust for deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierConfig {
    /// Opening a connection: TCP connect and TLS handshake for webhooks,
    /// TCP connect for SMTP.
    pub connect_timeout: Duration,
    /// One whole [`Notifier::deliver`] call, whatever the server does
    /// (a server that accepts the connection and never answers included).
    pub delivery_timeout: Duration,
    /// PEM certificates trusted besides the system's roots, for an SMTP
    /// relay or a webhook receiver with a private CA.
    pub extra_root_certificates: Option<String>,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        NotifierConfig {
            connect_timeout: Duration::from_secs(10),
            delivery_timeout: Duration::from_secs(60),
            extra_root_certificates: None,
        }
    }
}

/// Delivers events to channels. Cheap to share (`Arc`) between workers;
/// holds no connection between calls.
#[derive(Debug)]
pub struct Notifier {
    config: NotifierConfig,
    tls: Arc<rustls::ClientConfig>,
}

impl Notifier {
    /// Loads the system's root certificates (plus the extra ones) once.
    pub fn new(config: NotifierConfig) -> Result<Notifier, DeliveryError> {
        let mut roots = RootCertStore::empty();
        // Unreadable system certificates only make TLS fail later, with an
        // "unknown issuer" that names the server: clearer than failing here.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(pem) = &config.extra_root_certificates {
            use rustls::pki_types::pem::PemObject as _;
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert
                    .map_err(|e| DeliveryError::Config(format!("extra root certificates: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| DeliveryError::Config(format!("extra root certificates: {e}")))?;
                n += 1;
            }
            if n == 0 {
                return Err(DeliveryError::Config(
                    "extra root certificates: no PEM certificate found".into(),
                ));
            }
        }
        // ring, as the rest of the workspace and lettre use; rustls flags
        // its provider for lacking post-quantum key exchange.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| DeliveryError::Config(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Notifier {
            config,
            tls: Arc::new(tls),
        })
    }

    pub fn config(&self) -> &NotifierConfig {
        &self.config
    }

    /// Delivers `events` to `channel`, once, within
    /// [`NotifierConfig::delivery_timeout`].
    ///
    /// - Email: one message for one event, a digest for several.
    /// - Webhook: one signed POST per event, in the order they happened;
    ///   the first failure stops the rest. Retrying the call re-sends the
    ///   earlier ones with the same idempotency keys.
    /// - Slack, Teams: one message for one event, a digest for several.
    ///
    /// No events: nothing is sent. The error says whether the outbox should
    /// try again ([`devicevault_core::RetryClass`]).
    pub async fn deliver(
        &self,
        channel: &Channel,
        events: &[Event],
        ctx: &MessageContext,
    ) -> Result<(), DeliveryError> {
        if events.is_empty() {
            return Ok(());
        }
        channel.validate()?;
        let bound = self.config.delivery_timeout;
        let result = tokio::time::timeout(bound, self.deliver_unbounded(channel, events, ctx))
            .await
            .unwrap_or_else(|_| {
                Err(DeliveryError::Timeout {
                    target: target_of(channel),
                    after: bound,
                })
            });
        match &result {
            Ok(()) => tracing::debug!(
                channel = channel.kind(),
                target = %target_of(channel),
                events = events.len(),
                "notification delivered"
            ),
            Err(e) => tracing::debug!(
                channel = channel.kind(),
                events = events.len(),
                error = %e,
                "notification not delivered"
            ),
        }
        result
    }

    /// GETs `url` with `headers` (a client of another system's API, such
    /// as NetBox for the import): the body of a 2xx answer, at most
    /// `max_bytes`, within the delivery timeout. Redirects are not
    /// followed.
    pub async fn get(
        &self,
        url: &SecretUrl,
        headers: &[(&str, String)],
        max_bytes: usize,
    ) -> Result<Vec<u8>, DeliveryError> {
        let target = Target::parse(url)?;
        let bound = self.config.delivery_timeout;
        tokio::time::timeout(
            bound,
            http::get(
                &self.tls,
                self.config.connect_timeout,
                &target,
                headers,
                max_bytes,
            ),
        )
        .await
        .unwrap_or_else(|_| {
            Err(DeliveryError::Timeout {
                target: target.redacted.clone(),
                after: bound,
            })
        })
    }

    async fn deliver_unbounded(
        &self,
        channel: &Channel,
        events: &[Event],
        ctx: &MessageContext,
    ) -> Result<(), DeliveryError> {
        let connect = self.config.connect_timeout;
        match channel {
            Channel::Email(ch) => {
                let domain = ch
                    .from
                    .parse::<lettre::message::Mailbox>()
                    .map(|m| m.email.domain().to_owned())
                    .unwrap_or_else(|_| "localhost".to_owned());
                let mail = render_mail(events, ctx, &domain);
                smtp::send(
                    ch,
                    &mail,
                    self.config.extra_root_certificates.as_deref(),
                    connect,
                    SystemTime::now(),
                )
                .await
            }
            Channel::Webhook { url, secret } => {
                let target = Target::parse(url)?;
                let mut sorted: Vec<&Event> = events.iter().collect();
                sorted.sort_by_key(|e| (e.occurred_at, e.id));
                for e in sorted {
                    let body = webhook_body(e, ctx);
                    let headers = [
                        (
                            SIGNATURE_HEADER,
                            sign(secret.expose().as_bytes(), unix_now(), &body),
                        ),
                        (EVENT_HEADER, e.kind.as_str().to_owned()),
                        (IDEMPOTENCY_HEADER, e.idempotency_key()),
                    ];
                    http::post(&self.tls, connect, &target, &headers, body).await?;
                }
                Ok(())
            }
            Channel::Slack { url } => {
                let body =
                    serde_json::to_vec(&chat::slack_payload(events, ctx)).unwrap_or_default();
                http::post(&self.tls, connect, &Target::parse(url)?, &[], body).await
            }
            Channel::Teams { url } => {
                let body =
                    serde_json::to_vec(&chat::teams_payload(events, ctx)).unwrap_or_default();
                http::post(&self.tls, connect, &Target::parse(url)?, &[], body).await
            }
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Where a channel delivers, safe to show.
fn target_of(channel: &Channel) -> String {
    match channel {
        Channel::Email(ch) => ch.target(),
        Channel::Webhook { url, .. } | Channel::Slack { url } | Channel::Teams { url } => {
            url.redacted()
        }
    }
}
