//! Webhook, Slack and Teams delivery against a local HTTP receiver (a hyper
//! server, with rustls for https) that checks signatures the way a real
//! receiver would: with `verify_signature` on the bytes it received.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use devicevault_core::{Retry, RetryClass};
use devicevault_notify::webhook::DEFAULT_TOLERANCE;
use devicevault_notify::{
    Channel, DeliveryError, MessageContext, Notifier, NotifierConfig, verify_signature,
};
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio_rustls::rustls;

const SECRET: &str = "whsec_test_0123456789abcdef";

/// What the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
    /// Whether the signature verified (None: no signature header).
    signature_ok: Option<bool>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Reply = fn(usize) -> (u16, Vec<(&'static str, &'static str)>, &'static str);

struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Answers request number n (from 0) with `reply(n)`; a request whose
    /// signature header does not verify gets 401, as a real receiver's
    /// would.
    async fn start(reply: Reply, tls: Option<&Cert>) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let acceptor = tls.map(|c| {
            use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
            let certs: Vec<_> = CertificateDer::pem_file_iter(&c.cert)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let key = PrivateKeyDer::from_pem_file(&c.key).unwrap();
            #[allow(deprecated)]
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let cfg = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap();
            tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
        });
        let record = Arc::clone(&got);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let record = Arc::clone(&record);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let record = Arc::clone(&record);
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.unwrap().to_bytes().to_vec();
                            let signature_ok =
                                parts.headers.get("x-devicevault-signature").map(|h| {
                                    verify_signature(
                                        SECRET.as_bytes(),
                                        h.to_str().unwrap(),
                                        &body,
                                        unix_now(),
                                        DEFAULT_TOLERANCE,
                                    )
                                    .is_ok()
                                });
                            let n = {
                                let mut g = record.lock().unwrap();
                                g.push(Received {
                                    path: parts.uri.to_string(),
                                    headers: parts.headers,
                                    body,
                                    signature_ok,
                                });
                                g.len() - 1
                            };
                            let (status, headers, text) = if signature_ok == Some(false) {
                                (401, vec![], "bad signature")
                            } else {
                                reply(n)
                            };
                            let mut resp = Response::builder().status(status);
                            for (k, v) in headers {
                                resp = resp.header(k, v);
                            }
                            Ok::<_, Infallible>(resp.body(Full::new(Bytes::from(text))).unwrap())
                        }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match acceptor {
                        Some(a) => {
                            if let Ok(tls) = a.accept(tcp).await {
                                let _ = http.serve_connection(TokioIo::new(tls), service).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                        }
                    }
                });
            }
        });
        Receiver { port, got }
    }

    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The hex HMAC-SHA256 of `data` under `key`, by `openssl dgst`.
fn openssl_hmac(key: &str, data: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", key, "-r"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

fn ok(_: usize) -> (u16, Vec<(&'static str, &'static str)>, &'static str) {
    (200, vec![], "ok")
}

fn ctx() -> MessageContext {
    MessageContext::new(Some("https://dv.example.com"))
}

fn notifier(extra_roots: Option<String>) -> Notifier {
    Notifier::new(NotifierConfig {
        connect_timeout: Duration::from_secs(5),
        delivery_timeout: Duration::from_secs(20),
        extra_root_certificates: extra_roots,
    })
    .unwrap()
}

fn webhook(url: String) -> Channel {
    Channel::Webhook {
        url: url.as_str().into(),
        secret: SECRET.into(),
    }
}

#[tokio::test]
async fn each_event_is_posted_signed_with_its_idempotency_key() {
    let r = Receiver::start(ok, None).await;
    let events = [failure_event(8, "r2"), change_event(7, "r1")];
    notifier(None)
        .deliver(&webhook(r.url("http", "/hooks/dv?x=1")), &events, &ctx())
        .await
        .unwrap();
    let got = r.received();
    assert_eq!(got.len(), 2);
    for g in &got {
        assert_eq!(g.signature_ok, Some(true));
        assert_eq!(g.path, "/hooks/dv?x=1");
        assert_eq!(g.header("content-type"), Some("application/json"));
    }
    // In the order they happened.
    let first = got[0].json();
    assert_eq!(first["idempotency_key"], "devicevault-event-7");
    assert_eq!(
        got[0].header("idempotency-key"),
        Some("devicevault-event-7")
    );
    assert_eq!(got[0].header("x-devicevault-event"), Some("config_changed"));
    assert_eq!(first["kind"], "config_changed");
    assert_eq!(first["device_name"], "r1");
    assert_eq!(first["previous_stored_backup_id"], 118);
    assert_eq!(
        first["links"]["compare"],
        "https://dv.example.com/devices/7/compare?a=118&b=120"
    );
    let diff = first["diff"]["unified"].as_str().unwrap();
    assert!(
        diff.contains("+username bob secret 0 <removed>\n"),
        "{diff}"
    );
    for secret in SECRETS {
        assert!(!String::from_utf8_lossy(&got[0].body).contains(secret));
    }
    let second = got[1].json();
    assert_eq!(second["idempotency_key"], "devicevault-event-8");
    assert_eq!(second["kind"], "backup_failed");
    assert_eq!(
        second["reason"],
        "authentication failed for admin@10.0.0.2:22"
    );
    assert!(second["diff"].is_null());

    // The tag is HMAC-SHA256 of "<t>.<body>", as the openssl CLI computes it.
    let header = got[0].header("x-devicevault-signature").unwrap();
    let (t, v1) = header.split_once(',').unwrap();
    let (t, v1) = (
        t.strip_prefix("t=").unwrap(),
        v1.strip_prefix("v1=").unwrap(),
    );
    assert!((unix_now() - t.parse::<i64>().unwrap()).abs() < 60);
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(&got[0].body);
    assert_eq!(openssl_hmac(SECRET, &signed), v1);

    // The signature covers the body: the same header on other bytes fails.
    assert!(
        verify_signature(
            SECRET.as_bytes(),
            header,
            &got[1].body,
            unix_now(),
            DEFAULT_TOLERANCE
        )
        .is_err()
    );
}

#[tokio::test]
async fn a_receiver_with_another_secret_refuses_and_that_is_permanent() {
    let r = Receiver::start(ok, None).await;
    let ch = Channel::Webhook {
        url: r.url("http", "/").as_str().into(),
        secret: "a-different-secret-value".into(),
    };
    let err = notifier(None)
        .deliver(&ch, &[change_event(1, "r1")], &ctx())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::HttpStatus { status: 401, .. }),
        "{err}"
    );
    assert_eq!(err.retry(), Retry::Permanent);
    assert!(err.to_string().contains("bad signature"), "{err}");
    assert_eq!(r.received()[0].signature_ok, Some(false));
}

#[tokio::test]
async fn slack_gets_text_and_blocks() {
    let r = Receiver::start(ok, None).await;
    let ch = Channel::Slack {
        url: r.url("http", "/services/T000/B000/XXXX").as_str().into(),
    };
    let n = notifier(None);
    n.deliver(&ch, &[change_event(1, "r1")], &ctx())
        .await
        .unwrap();
    n.deliver(
        &ch,
        &[change_event(2, "r1"), failure_event(3, "r2")],
        &ctx(),
    )
    .await
    .unwrap();
    let got = r.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].signature_ok, None);
    let single = got[0].json();
    assert_eq!(single["text"], "[DeviceVault] config changed: r1");
    let blocks = single["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(blocks[0]["text"]["text"], "config changed: r1");
    for b in blocks {
        let t = b["type"].as_str().unwrap();
        assert!(["header", "section", "context"].contains(&t), "{t}");
        if t == "section" {
            assert_eq!(b["text"]["type"], "mrkdwn");
            assert!(b["text"]["text"].as_str().unwrap().chars().count() <= 3000);
        }
    }
    let all = serde_json::to_string(&single).unwrap();
    assert!(
        all.contains("+username bob secret 0 &lt;removed&gt;"),
        "{all}"
    );
    assert!(all.contains("|Compare versions>"));
    let digest = got[1].json();
    assert_eq!(
        digest["text"],
        "[DeviceVault] 2 events: 1 config changed, 1 backup failed"
    );
}

#[tokio::test]
async fn teams_gets_an_adaptive_card_message() {
    let r = Receiver::start(|_| (202, vec![], ""), None).await;
    let ch = Channel::Teams {
        url: r
            .url("http", "/workflows/abc/triggers/manual/paths/invoke?sig=s")
            .as_str()
            .into(),
    };
    notifier(None)
        .deliver(&ch, &[change_event(1, "r1")], &ctx())
        .await
        .unwrap();
    let v = r.received()[0].json();
    assert_eq!(v["type"], "message");
    let att = &v["attachments"].as_array().unwrap()[0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(att["contentUrl"].is_null());
    let card = &att["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    assert_eq!(card["version"], "1.4");
    assert!(!card["body"].as_array().unwrap().is_empty());
    let actions = card["actions"].as_array().unwrap();
    assert!(actions.iter().all(|a| a["type"] == "Action.OpenUrl"));
    assert_eq!(
        actions[0]["url"],
        "https://dv.example.com/devices/7/compare?a=118&b=120"
    );
}

#[tokio::test]
async fn statuses_map_to_retry_classes() {
    fn reply(n: usize) -> (u16, Vec<(&'static str, &'static str)>, &'static str) {
        match n {
            0 => (500, vec![], "internal error"),
            1 => (400, vec![], "invalid_payload"),
            2 => (429, vec![("retry-after", "120")], "rate limited"),
            3 => (408, vec![], ""),
            4 => (301, vec![("location", "https://elsewhere.example/")], ""),
            _ => (404, vec![], "no_service"),
        }
    }
    let r = Receiver::start(reply, None).await;
    let n = notifier(None);
    let ch = webhook(r.url("http", "/"));
    let mut errors = Vec::new();
    for i in 0..6 {
        errors.push(
            n.deliver(&ch, &[change_event(i, "r1")], &ctx())
                .await
                .unwrap_err(),
        );
    }
    let classes: Vec<Retry> = errors.iter().map(RetryClass::retry).collect();
    assert_eq!(
        classes,
        [
            Retry::Transient,
            Retry::Permanent,
            Retry::Transient,
            Retry::Transient,
            Retry::Permanent,
            Retry::Permanent
        ]
    );
    assert!(
        errors[1].to_string().contains("invalid_payload"),
        "{}",
        errors[1]
    );
    assert_eq!(errors[2].retry_after(), Some(Duration::from_secs(120)));
    assert!(errors[0].to_string().contains("HTTP 500"));
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_within_the_bound() {
    let port = silent_server().await;
    let n = Notifier::new(NotifierConfig {
        connect_timeout: Duration::from_secs(1),
        delivery_timeout: Duration::from_secs(2),
        extra_root_certificates: None,
    })
    .unwrap();
    let started = Instant::now();
    let err = n
        .deliver(
            &webhook(format!("http://127.0.0.1:{port}/")),
            &[change_event(1, "r1")],
            &ctx(),
        )
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, DeliveryError::Timeout { .. }), "{err}");
    assert!(err.is_transient());
    assert!(took < Duration::from_secs(4), "{took:?}");

    // Over https the handshake is bounded by the connect timeout.
    let started = Instant::now();
    let err = n
        .deliver(
            &webhook(format!("https://127.0.0.1:{port}/")),
            &[change_event(1, "r1")],
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn https_receivers_are_verified_against_the_trusted_roots() {
    let certs = tempfile::tempdir().unwrap();
    let cert = certificate(certs.path());
    let r = Receiver::start(ok, Some(&cert)).await;
    let ch = webhook(r.url("https", "/hook"));
    notifier(Some(cert.pem()))
        .deliver(&ch, &[change_event(1, "r1")], &ctx())
        .await
        .unwrap();
    assert_eq!(r.received().len(), 1);
    assert_eq!(r.received()[0].signature_ok, Some(true));

    let err = notifier(None)
        .deliver(&ch, &[change_event(2, "r1")], &ctx())
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Tls { .. }), "{err}");
    assert_eq!(err.retry(), Retry::Permanent);
    assert_eq!(r.received().len(), 1);
}

#[tokio::test]
async fn a_closed_port_is_transient_and_errors_do_not_show_the_url_secret() {
    let port = free_port();
    let ch = Channel::Slack {
        url: format!("http://127.0.0.1:{port}/services/T0/B0/secret-token")
            .as_str()
            .into(),
    };
    let err = notifier(None)
        .deliver(&ch, &[change_event(1, "r1")], &ctx())
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Connect { .. }), "{err}");
    assert!(err.is_transient());
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("secret-token"), "{shown}");
    assert!(
        shown.contains(&format!("http://127.0.0.1:{port}/…")),
        "{shown}"
    );
}
