//! Mail over SMTP with lettre: one connection per delivery (no pool), TLS by
//! rustls, and lettre's errors mapped onto retry classes.

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use devicevault_core::Retry;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use tokio_rustls::rustls;

use crate::channel::{EmailChannel, SmtpSecurity};
use crate::error::{DeliveryError, excerpt};
use crate::render::Mail;

/// Sends `mail` through the channel's server, dated `date`.
pub(crate) async fn send(
    ch: &EmailChannel,
    mail: &Mail,
    extra_roots_pem: Option<&str>,
    connect_timeout: Duration,
    date: SystemTime,
) -> Result<(), DeliveryError> {
    let message = build_message(ch, mail, date)?;
    let target = ch.target();
    let tls_parameters = || -> Result<TlsParameters, DeliveryError> {
        let mut b = TlsParameters::builder(ch.host.clone());
        if let Some(pem) = extra_roots_pem {
            let cert = Certificate::from_pem(pem.as_bytes())
                .map_err(|e| DeliveryError::Config(format!("extra root certificates: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls().map_err(|e| DeliveryError::Tls {
            target: target.clone(),
            reason: e.to_string(),
            retry: Retry::Permanent,
        })
    };
    let tls = match ch.security {
        SmtpSecurity::Starttls => Tls::Required(tls_parameters()?),
        SmtpSecurity::Tls => Tls::Wrapper(tls_parameters()?),
        SmtpSecurity::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(ch.host.as_str())
        .port(ch.port())
        .tls(tls)
        .timeout(Some(connect_timeout));
    if let (Some(user), Some(password)) = (&ch.username, &ch.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    let transport = builder.build();
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(e) => Err(classify(&target, &e, connect_timeout)),
    }
}

fn build_message(
    ch: &EmailChannel,
    mail: &Mail,
    date: SystemTime,
) -> Result<Message, DeliveryError> {
    let parse = |a: &str| {
        a.parse::<Mailbox>()
            .map_err(|_| DeliveryError::Config(format!("invalid mail address {a:?}")))
    };
    let mut b = Message::builder()
        .from(parse(&ch.from)?)
        .subject(mail.subject.clone())
        .message_id(Some(mail.message_id.clone()))
        .date(date)
        .user_agent(concat!("DeviceVault/", env!("CARGO_PKG_VERSION")).to_owned());
    for to in &ch.to {
        b = b.to(parse(to)?);
    }
    for (name, value) in &mail.headers {
        b = b.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii((*name).to_owned())
                .map_err(|_| DeliveryError::Config(format!("invalid header name {name}")))?,
            value.clone(),
        ));
    }
    b.singlepart(SinglePart::plain(mail.body.clone()))
        .map_err(|e| DeliveryError::Config(format!("building the message: {e}")))
}

/// Maps a lettre error onto our classes: negative replies by their code,
/// certificate problems and client-side refusals (no STARTTLS, no common
/// AUTH mechanism) permanent, the network transient.
fn classify(
    target: &str,
    e: &lettre::transport::smtp::Error,
    connect_timeout: Duration,
) -> DeliveryError {
    let detail = e.source().map_or_else(|| e.to_string(), |s| s.to_string());
    if let Some(code) = e.status() {
        return DeliveryError::SmtpReply {
            target: target.to_owned(),
            code: code.to_string().parse().unwrap_or(554),
            message: excerpt(&detail, 300),
        };
    }
    if e.is_timeout() {
        return DeliveryError::Timeout {
            target: target.to_owned(),
            after: connect_timeout,
        };
    }
    // lettre reports a refused certificate as a connection error, so look
    // for rustls's verdict in the chain whatever the kind.
    let certificate = certificate_problem(e);
    if certificate || e.is_tls() {
        return DeliveryError::Tls {
            target: target.to_owned(),
            reason: excerpt(&detail, 300),
            retry: if certificate {
                Retry::Permanent
            } else {
                Retry::Transient
            },
        };
    }
    let retry = if e.is_client() {
        Retry::Permanent
    } else {
        Retry::Transient
    };
    DeliveryError::Smtp {
        target: target.to_owned(),
        reason: excerpt(&e.to_string(), 300),
        retry,
    }
}

/// Whether a rustls error about the peer's certificate or capabilities is
/// somewhere in the chain.
fn certificate_problem(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let tls = err.downcast_ref::<rustls::Error>().or_else(|| {
            err.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|i| i.downcast_ref::<rustls::Error>())
        });
        if matches!(
            tls,
            Some(
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::UnsupportedNameType
                    | rustls::Error::PeerIncompatible(_)
            )
        ) {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_carries_the_rendered_headers_and_body() {
        let ch = EmailChannel {
            host: "smtp.example.com".into(),
            port: None,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: "DeviceVault <dv@example.com>".into(),
            to: vec!["noc@example.com".into(), "Ops <ops@example.com>".into()],
        };
        let mail = Mail {
            subject: "[DeviceVault] config changed: r1".into(),
            message_id: "<devicevault-event-1@example.com>".into(),
            headers: vec![("X-DeviceVault-Event", "config_changed".into())],
            body: "Diff:\n+hostname r1\n".into(),
        };
        let m = build_message(&ch, &mail, SystemTime::UNIX_EPOCH).unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(
            text.contains("Subject: [DeviceVault] config changed: r1\r\n"),
            "{text}"
        );
        assert!(text.contains("Message-ID: <devicevault-event-1@example.com>\r\n"));
        assert!(text.contains("X-DeviceVault-Event: config_changed\r\n"));
        assert!(text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
        assert_eq!(m.envelope().to().len(), 2);
    }
}
