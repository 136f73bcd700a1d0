//! One HTTP/1.1 POST per call over a fresh connection (hyper, rustls).
//!
//! Notifications are rare enough that a connection pool would only keep
//! sockets open to receivers for nothing; a fresh connection per delivery
//! also means a receiver's state can never leak between deliveries.
//! Redirects are not followed: a webhook URL that redirects is a
//! configuration to fix, and following it would re-send a signed body
//! somewhere it was not configured to go.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, pki_types::ServerName};

use crate::error::{DeliveryError, excerpt};
use crate::target::Target;

/// Bytes of a response body read for the error message.
const EXCERPT_BYTES: usize = 1024;
/// How long to wait for them.
const EXCERPT_WAIT: Duration = Duration::from_secs(2);

/// Aborts the connection task when the request is done or abandoned.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether a TLS failure needs a configuration change (certificate not
/// trusted, wrong name, nothing in common) rather than another try.
fn tls_retry(e: &std::io::Error) -> devicevault_core::Retry {
    use devicevault_core::Retry;
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(
            rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::UnsupportedNameType
            | rustls::Error::PeerIncompatible(_),
        ) => Retry::Permanent,
        _ => Retry::Transient,
    }
}

/// POSTs `body` with `headers` and returns once a 2xx status arrived.
/// Bounded by `connect_timeout` up to the end of the TLS handshake; the
/// caller bounds the whole exchange.
pub(crate) async fn post(
    tls: &Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
    target: &Target,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<(), DeliveryError> {
    send(tls, connect_timeout, target, headers, Some(body), 0)
        .await
        .map(drop)
}

/// GETs `target` and returns the body of a 2xx answer, at most
/// `max_bytes` of it (more is an error).
pub(crate) async fn get(
    tls: &Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
    target: &Target,
    headers: &[(&str, String)],
    max_bytes: usize,
) -> Result<Vec<u8>, DeliveryError> {
    send(tls, connect_timeout, target, headers, None, max_bytes).await
}

/// POSTs `body` (GETs without one); the answer's body up to `max_bytes`.
async fn send(
    tls: &Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
    target: &Target,
    headers: &[(&str, String)],
    body: Option<Vec<u8>>,
    max_bytes: usize,
) -> Result<Vec<u8>, DeliveryError> {
    let timed_out = || DeliveryError::Timeout {
        target: target.redacted.clone(),
        after: connect_timeout,
    };
    let tcp = tokio::time::timeout(
        connect_timeout,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| timed_out())?
    .map_err(|e| DeliveryError::Connect {
        target: target.redacted.clone(),
        reason: e.to_string(),
    })?;
    tcp.set_nodelay(true).ok();
    if target.https {
        let name = ServerName::try_from(target.host.clone()).map_err(|_| {
            DeliveryError::Config(format!("{}: not a valid TLS server name", target.redacted))
        })?;
        let stream = tokio::time::timeout(
            connect_timeout,
            TlsConnector::from(Arc::clone(tls)).connect(name, tcp),
        )
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| DeliveryError::Tls {
            target: target.redacted.clone(),
            reason: e.to_string(),
            retry: tls_retry(&e),
        })?;
        exchange(stream, target, headers, body, max_bytes).await
    } else {
        exchange(tcp, target, headers, body, max_bytes).await
    }
}

async fn exchange<S>(
    io: S,
    target: &Target,
    headers: &[(&str, String)],
    body: Option<Vec<u8>>,
    max_bytes: usize,
) -> Result<Vec<u8>, DeliveryError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let broken = |e: hyper::Error| DeliveryError::Http {
        target: target.redacted.clone(),
        reason: e.to_string(),
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(broken)?;
    let _conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let get = body.is_none();
    let mut req = if get {
        Request::get(target.path_and_query.as_str()).header(header::ACCEPT, "application/json")
    } else {
        Request::post(target.path_and_query.as_str())
            .header(header::CONTENT_TYPE, "application/json")
    }
    .header(header::HOST, target.authority.as_str())
    .header(
        header::USER_AGENT,
        concat!("DeviceVault/", env!("CARGO_PKG_VERSION")),
    );
    for (name, value) in headers {
        req = req.header(*name, value.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| DeliveryError::Config(format!("{}: {e}", target.redacted)))?;
    let resp = sender.send_request(req).await.map_err(broken)?;
    let status = resp.status();
    if status.is_success() {
        let mut answer = Vec::new();
        if max_bytes > 0 {
            let mut body = resp.into_body();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(broken)?;
                if let Some(data) = frame.data_ref() {
                    if answer.len() + data.len() > max_bytes {
                        return Err(DeliveryError::Http {
                            target: target.redacted.clone(),
                            reason: format!("the answer is larger than {max_bytes} bytes"),
                        });
                    }
                    answer.extend_from_slice(data);
                }
            }
        }
        return Ok(answer);
    }
    let retry_after = resp
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut body = resp.into_body();
    let mut start = Vec::new();
    // The status is the answer; a body that trickles must not turn it into
    // a timeout.
    let _ = tokio::time::timeout(EXCERPT_WAIT, async {
        while start.len() < EXCERPT_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        start.extend_from_slice(data);
                    }
                }
                _ => break,
            }
        }
    })
    .await;
    Err(DeliveryError::HttpStatus {
        target: target.redacted.clone(),
        status: status.as_u16(),
        retry_after,
        excerpt: excerpt(&String::from_utf8_lossy(&start), 200),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_into_what_the_connection_needs() {
        let t = Target::parse(&"https://hooks.slack.com/services/T/B/x?y=1".into()).unwrap();
        assert!(t.https);
        assert_eq!((t.host.as_str(), t.port), ("hooks.slack.com", 443));
        assert_eq!(t.path_and_query, "/services/T/B/x?y=1");
        assert_eq!(t.redacted, "https://hooks.slack.com/…");
        let t = Target::parse(&"http://[::1]:8080".into()).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8080));
        assert_eq!(t.authority, "[::1]:8080");
        assert_eq!(t.path_and_query, "/");
        let e = Target::parse(&"https://user:pw@example.com/x".into()).unwrap_err();
        assert!(!e.to_string().contains("pw"), "{e}");
    }
}
