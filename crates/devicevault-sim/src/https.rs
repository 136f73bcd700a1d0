//! The HTTPS side of a simulated device whose platform is backed up
//! through a management API ([`HttpsApi`]): TLS with a self-signed
//! certificate (rcgen), HTTP/1.1 with hyper, and the API's answers as the
//! real platform gives them.
//!
//! - PAN-OS XML API (pan-python doc/pan.xapi.rst; oxidized
//!   lib/oxidized/model/panos_api.rb): `/api/` takes its parameters from the
//!   query or a POST form; `type=keygen&user=..&password=..` answers
//!   `<response status = 'success'><result><key>…</key></result></response>`,
//!   a wrong password HTTP 403 with `<response status = 'error' code =
//!   '403'>`; `type=export&category=configuration&key=..` answers the
//!   running configuration's XML file.
//! - FortiOS REST API (PowerFGT monitor/system/config/backup.ps1):
//!   `GET /api/v2/monitor/system/config/backup?scope=global` with
//!   `Authorization: Bearer <token>` (or the older `access_token` query
//!   parameter) answers the configuration file, the text of `show
//!   full-configuration`; a wrong token is HTTP 401.
//!
//! Every configuration answer is a session of the device, as an SSH shell
//! is: it dates the volatile lines and salts FortiOS's `ENC` secrets.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::device::Shared;
use crate::personality::HttpsApi;

/// A device's TLS identity: its certificate and the server configuration
/// that presents it.
#[derive(Debug, Clone)]
pub(crate) struct TlsIdentity {
    pub config: Arc<rustls::ServerConfig>,
    pub cert_der: CertificateDer<'static>,
    pub cert_pem: String,
}

impl TlsIdentity {
    /// A fresh self-signed certificate for `localhost`, `127.0.0.1` and
    /// `name`, with a new key, as a device makes on first boot.
    pub(crate) fn generate(name: &str) -> TlsIdentity {
        let names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            name.to_owned(),
        ];
        let certified = rcgen::generate_simple_self_signed(names)
            .expect("rcgen makes a self-signed certificate");
        let cert_der = certified.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        // ring, as the rest of the workspace uses (rustls flags it for
        // lacking post-quantum key exchange).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert_der.clone()], key)
            .expect("rcgen's key fits its certificate");
        TlsIdentity {
            config: Arc::new(config),
            cert_pem: certified.cert.pem(),
            cert_der,
        }
    }
}

/// Accepts connections until `shutdown` flips; each gets the device's
/// certificate of the moment.
pub(crate) async fn serve(
    dev: Arc<Shared>,
    api: HttpsApi,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((socket, _)) = accepted else { continue };
        spawn_connection(dev.clone(), api, socket, shutdown.clone());
    }
}

/// Serves one HTTPS connection of `dev` until it ends or `stop` flips.
pub(crate) fn spawn_connection(
    dev: Arc<Shared>,
    api: HttpsApi,
    socket: TcpStream,
    mut stop: watch::Receiver<bool>,
) {
    let _ = socket.set_nodelay(true);
    tokio::spawn(async move {
        let Some(tls) = dev.lock().tls.clone() else {
            return;
        };
        let Ok(stream) = TlsAcceptor::from(tls.config.clone()).accept(socket).await else {
            return;
        };
        let service = hyper::service::service_fn(move |req| {
            let dev = dev.clone();
            async move { Ok::<_, Infallible>(answer(&dev, api, req).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service);
        tokio::select! {
            _ = conn => {}
            _ = stop.changed() => {}
        }
    });
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a static response is valid")
}

/// `application/x-www-form-urlencoded` pairs, decoded.
fn form_pairs(text: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let hex = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The configuration a new session of `dev` prints now, cut as its faults
/// say.
fn session_config(dev: &Shared) -> String {
    let (changes, counter, faults) = {
        let mut s = dev.lock();
        s.sessions += 1;
        (s.changes.clone(), s.sessions, s.faults.clone())
    };
    let mut text = dev.render(&changes, counter, faults.single_line_bytes);
    if let Some(n) = faults.truncate_after_bytes
        && n < text.len()
    {
        let cut = text[..n].rfind('\n').map_or(0, |p| p + 1);
        text.truncate(cut);
    }
    text
}

async fn answer(dev: &Shared, api: HttpsApi, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let faults = dev.lock().faults.clone();
    if let Some(status) = faults.http_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return reply(
            status,
            "text/html",
            format!(
                "<html><body><h1>{} {}</h1></body></html>\n",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            ),
        );
    }
    let path = req.uri().path().to_owned();
    let mut params = form_pairs(req.uri().query().unwrap_or(""));
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form && let Ok(body) = req.into_body().collect().await {
        params.extend(form_pairs(&String::from_utf8_lossy(&body.to_bytes())));
    }
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let password_ok =
        |p: Option<&str>| !faults.reject_password && p == Some(dev.fleet.password.as_str());
    match api {
        HttpsApi::PanOsXml => {
            let xml = "application/xml; charset=UTF-8";
            let error = |status: StatusCode, msg: &str| {
                reply(
                    status,
                    xml,
                    format!(
                        "<response status = 'error' code = '{}'><result><msg>{msg}</msg></result></response>",
                        status.as_u16()
                    ),
                )
            };
            if path != "/api" && path != "/api/" {
                return reply(
                    StatusCode::NOT_FOUND,
                    "text/html",
                    "<html><body>404 Not Found</body></html>\n".into(),
                );
            }
            let key = panos_key(dev);
            match param("type") {
                Some("keygen") => {
                    if param("user") == Some(dev.fleet.username.as_str())
                        && password_ok(param("password"))
                    {
                        reply(
                            StatusCode::OK,
                            xml,
                            format!(
                                "<response status = 'success'><result><key>{key}</key></result></response>"
                            ),
                        )
                    } else {
                        error(StatusCode::FORBIDDEN, "Invalid Credential")
                    }
                }
                Some("export") => {
                    if param("key") != Some(key.as_str()) {
                        return error(StatusCode::FORBIDDEN, "Invalid Credential");
                    }
                    if param("category") != Some("configuration") {
                        return error(StatusCode::BAD_REQUEST, "Invalid category");
                    }
                    reply(StatusCode::OK, xml, session_config(dev))
                }
                _ => error(StatusCode::BAD_REQUEST, "Missing or invalid request type"),
            }
        }
        HttpsApi::FortiOsRest => {
            if path != "/api/v2/monitor/system/config/backup" {
                return reply(
                    StatusCode::NOT_FOUND,
                    "application/json",
                    "{\"http_status\":404}".into(),
                );
            }
            let token = bearer.or_else(|| param("access_token").map(str::to_owned));
            if !password_ok(token.as_deref()) {
                return reply(
                    StatusCode::UNAUTHORIZED,
                    "text/html",
                    "<html><body>401 Unauthorized</body></html>\n".into(),
                );
            }
            if !matches!(param("scope"), Some("global" | "vdom")) {
                return reply(
                    StatusCode::BAD_REQUEST,
                    "application/json",
                    "{\"http_method\":\"GET\",\"status\":\"error\",\"http_status\":400}".into(),
                );
            }
            reply(StatusCode::OK, "text/plain", session_config(dev))
        }
    }
}

/// The API key PAN-OS gives the device's user: base64-like, a function of
/// the device (a real key depends on the user, password and master key).
fn panos_key(dev: &Shared) -> String {
    format!("LUFRPT1{:016x}{:08x}=", dev.seed, dev.fleet.password.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_and_percent_escapes() {
        assert_eq!(
            form_pairs("user=admin&password=p%26ss+w%3Drd%2F%C3%A9&x"),
            vec![
                ("user".to_owned(), "admin".to_owned()),
                ("password".to_owned(), "p&ss w=rd/é".to_owned()),
                ("x".to_owned(), String::new()),
            ]
        );
        assert_eq!(form_pairs("a=%zz%")[0].1, "%zz%");
    }
}
