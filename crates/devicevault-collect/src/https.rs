//! The HTTPS API input (`input = "https"`): a driver's `[[requests]]`, sent
//! in order to the device's port, the last answer being the configuration.
//!
//! A request is data: method, path, `query` and `form` tables, `headers`,
//! and placeholders — `{username}`, `{password}`, `{api_key}` (the
//! credential's API key: `Authorization = "Bearer {api_key}"`) and the
//! values earlier requests `extract` from their answers (an XML element, a
//! JSON pointer, a regex's first group or a cookie). Every placeholder is
//! checked when the driver loads; a request that sends a secret the
//! credential lacks is a permanent error naming the credential, before
//! anything is sent.
//!
//! A request whose `extract` is named `api_key` makes the key (PAN-OS's
//! keygen): it runs only when the credential has no API key of its own, so
//! a stored key is used as it is and a password makes one otherwise.
//!
//! TLS: the device's leaf certificate is pinned on first use, by its SHA-256
//! fingerprint, in the same [`KnownHosts`](crate::KnownHosts) store as SSH
//! host keys (an entry kind of its own); a changed certificate is a
//! permanent error naming both fingerprints. A driver's `ca_file` verifies
//! against that CA instead (and pins nothing). The pin is checked after the
//! handshake and before the first byte of a request, so no credential goes
//! to a device whose certificate changed.
//!
//! One connection per request: a device that closes after each answer (many
//! management planes do) needs nothing special, and cookies or tokens carry
//! the session between requests as on the device's own web client.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use regex::Regex;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{self, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, DigitallySignedStruct, SignatureScheme};

use crate::driver::{Driver, compile};
use crate::error::CollectError;
use crate::known_hosts::HostKeyCheck;
use crate::target::{Credential, DeviceTarget};
use crate::{CollectOptions, Secret};

/// `[[requests]]` as written in a driver file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestFile {
    #[serde(default = "get")]
    method: String,
    path: String,
    #[serde(default)]
    query: BTreeMap<String, String>,
    #[serde(default)]
    form: BTreeMap<String, String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    extract: Option<ExtractFile>,
    #[serde(default)]
    config: Option<PickFile>,
}

fn get() -> String {
    "GET".into()
}

/// `extract = { name = "key", xml = "/response/result/key" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExtractFile {
    name: String,
    #[serde(default)]
    xml: Option<String>,
    #[serde(default)]
    json: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    cookie: Option<String>,
}

impl ExtractFile {
    /// Where the value is (serde's `flatten` would lose `deny_unknown_fields`).
    fn from(&self) -> PickFile {
        PickFile {
            xml: self.xml.clone(),
            json: self.json.clone(),
            regex: self.regex.clone(),
            cookie: self.cookie.clone(),
        }
    }
}

/// Where a value is in an answer: exactly one of these.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PickFile {
    #[serde(default)]
    xml: Option<String>,
    #[serde(default)]
    json: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    cookie: Option<String>,
}

/// A driver's HTTPS input, compiled.
#[derive(Debug, Clone)]
pub struct HttpsInput {
    /// The requests, in order; the last one's answer is the configuration.
    pub requests: Vec<ApiRequest>,
    /// Verify the device's certificate against this CA bundle (PEM)
    /// instead of pinning it.
    pub ca_file: Option<PathBuf>,
}

/// One request of an HTTPS input.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, placeholders unexpanded.
    pub path: String,
    /// Query parameters (URL-encoded after expansion).
    pub query: Vec<(String, String)>,
    /// A form body (`application/x-www-form-urlencoded`), for a POST.
    pub form: Vec<(String, String)>,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// A value of the answer kept for later requests.
    pub extract: Option<(String, Pick)>,
    /// Where the configuration is in the last answer; the whole body when
    /// `None`.
    pub config: Option<Pick>,
}

/// Where a value is in an answer.
#[derive(Debug, Clone)]
pub enum Pick {
    /// An element, by its path from the root (`/response/result/key`): its
    /// text when extracted, its content as written when it is the
    /// configuration.
    Xml(Vec<String>),
    /// A JSON pointer (RFC 6901): a string as it is, other values as JSON.
    Json(String),
    /// The first capture group of a regex on the body (the whole match
    /// without a group).
    Regex(Regex),
    /// A cookie the answer sets (`Set-Cookie`).
    Cookie(String),
}

impl Pick {
    fn describe(&self) -> String {
        match self {
            Pick::Xml(path) => format!("XML element `/{}`", path.join("/")),
            Pick::Json(p) => format!("JSON value `{p}`"),
            Pick::Regex(r) => format!("a match of `{}`", r.as_str()),
            Pick::Cookie(c) => format!("cookie `{c}`"),
        }
    }
}

impl ApiRequest {
    /// `GET /api/`: how errors name a request — never its query, which
    /// may carry a password.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Every text that may hold placeholders: the path, the query and form
    /// values, the header values.
    fn templates(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.path.as_str())
            .chain(self.query.iter().map(|(_, v)| v.as_str()))
            .chain(self.form.iter().map(|(_, v)| v.as_str()))
            .chain(self.headers.iter().map(|(_, v)| v.as_str()))
    }

    /// Whether this request makes the API key (its `extract` is named
    /// `api_key`): skipped when the credential has one.
    fn makes_api_key(&self) -> bool {
        self.extract.as_ref().is_some_and(|(n, _)| n == API_KEY)
    }
}

/// The placeholder of the credential's API key.
const API_KEY: &str = "api_key";

/// The names a placeholder may have besides extracted values.
const CREDENTIAL_PLACEHOLDERS: [&str; 3] = ["username", "password", API_KEY];

/// Every `{name}` of `template` (`name`: a letter or `_`, then letters,
/// digits, `_`); other braces are text.
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template.match_indices('{').filter_map(|(i, _)| {
        let rest = &template[i + 1..];
        let end = rest.find('}')?;
        let name = &rest[..end];
        let mut chars = name.chars();
        let ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        ok.then_some(name)
    })
}

fn compile_pick(driver: &str, what: &str, p: &PickFile) -> Result<Pick, String> {
    let set = [&p.xml, &p.json, &p.regex, &p.cookie]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if set != 1 {
        return Err(format!(
            "{what}: give exactly one of `xml`, `json`, `regex` or `cookie`"
        ));
    }
    if let Some(x) = &p.xml {
        let path: Vec<String> = x
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if !x.starts_with('/') || path.is_empty() {
            return Err(format!(
                "{what}: `xml` is a path from the root element, e.g. `/response/result/key`"
            ));
        }
        return Ok(Pick::Xml(path));
    }
    if let Some(j) = &p.json {
        if !(j.is_empty() || j.starts_with('/')) {
            return Err(format!(
                "{what}: `json` is a JSON pointer, e.g. `/results/token`"
            ));
        }
        return Ok(Pick::Json(j.clone()));
    }
    if let Some(r) = &p.regex {
        return compile(driver, &format!("{what}.regex"), r)
            .map(Pick::Regex)
            .map_err(|e| match e {
                CollectError::InvalidDriver { reason, .. } => reason,
                other => other.to_string(),
            });
    }
    Ok(Pick::Cookie(p.cookie.clone().unwrap_or_default()))
}

impl HttpsInput {
    /// Compiles `[[requests]]`; `Err(reason)` names the key at fault.
    pub(crate) fn from_file(
        driver: &str,
        requests: &[RequestFile],
        ca_file: Option<&Path>,
    ) -> Result<HttpsInput, String> {
        if requests.is_empty() {
            return Err("requests: `input = \"https\"` needs at least one `[[requests]]`".into());
        }
        let mut known: Vec<String> = CREDENTIAL_PLACEHOLDERS.map(str::to_owned).to_vec();
        let mut out = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            let at = format!("requests: request {}", i + 1);
            let method = r.method.to_ascii_uppercase();
            if method != "GET" && method != "POST" {
                return Err(format!("{at}: method `{}` is not GET or POST", r.method));
            }
            if !r.path.starts_with('/') {
                return Err(format!("{at}: `path` must start with `/`"));
            }
            if !r.form.is_empty() && method != "POST" {
                return Err(format!("{at}: a `form` is sent with `method = \"POST\"`"));
            }
            let templates = std::iter::once(r.path.as_str())
                .chain(r.query.values().map(String::as_str))
                .chain(r.form.values().map(String::as_str))
                .chain(r.headers.values().map(String::as_str));
            for t in templates {
                for name in placeholders(t) {
                    if !known.iter().any(|k| k == name) {
                        return Err(format!(
                            "{at}: placeholder `{{{name}}}` is neither {{username}}, {{password}}, \
                             {{api_key}} nor a value an earlier request extracts"
                        ));
                    }
                }
            }
            for name in r.headers.keys() {
                if header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(format!("{at}: `{name}` is not a header name"));
                }
            }
            let extract = match &r.extract {
                None => None,
                Some(e) => {
                    if placeholders(&format!("{{{}}}", e.name)).next().is_none()
                        || e.name == "username"
                        || e.name == "password"
                    {
                        return Err(format!(
                            "{at}: extract name `{}` must be a plain name other than username and password",
                            e.name
                        ));
                    }
                    if e.name == API_KEY && i + 1 == requests.len() {
                        return Err(format!(
                            "{at}: the request that extracts `api_key` is skipped when the \
                             credential has one, so it cannot be the last (whose answer is \
                             the configuration)"
                        ));
                    }
                    let pick = compile_pick(driver, &format!("{at}: extract"), &e.from())?;
                    known.push(e.name.clone());
                    Some((e.name.clone(), pick))
                }
            };
            let last = i + 1 == requests.len();
            let config = match &r.config {
                None => None,
                Some(_) if !last => {
                    return Err(format!(
                        "{at}: only the last request's answer is the configuration (`config`)"
                    ));
                }
                Some(p) => {
                    let pick = compile_pick(driver, &format!("{at}: config"), p)?;
                    if matches!(pick, Pick::Cookie(_)) {
                        return Err(format!("{at}: config: a cookie is not a configuration"));
                    }
                    Some(pick)
                }
            };
            let pairs = |m: &BTreeMap<String, String>| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Vec<_>>()
            };
            out.push(ApiRequest {
                method,
                path: r.path.clone(),
                query: pairs(&r.query),
                form: pairs(&r.form),
                headers: pairs(&r.headers),
                extract,
                config,
            });
        }
        Ok(HttpsInput {
            requests: out,
            ca_file: ca_file.map(Path::to_owned),
        })
    }

    /// `GET /api/; GET /api/`: the requests, for messages.
    pub fn labels(&self) -> String {
        self.requests
            .iter()
            .map(ApiRequest::label)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// SHA-256 of a certificate as `openssl x509 -noout -fingerprint -sha256`
/// prints it: uppercase hex pairs joined by colons.
pub fn cert_fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Accepts any certificate chain — the pin decides after the handshake —
/// but still checks the handshake's signatures, so the peer holds the key
/// of the certificate it shows.
#[derive(Debug)]
struct PinAfterHandshake(Arc<CryptoProvider>);

impl ServerCertVerifier for PinAfterHandshake {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS client of one collection: pinning, or verifying against the
/// driver's CA.
fn tls_config(
    target: &str,
    ca_file: Option<&Path>,
) -> Result<Arc<rustls::ClientConfig>, CollectError> {
    // ring, as the rest of the workspace uses; rustls flags its provider
    // for lacking post-quantum key exchange.
    #[allow(deprecated)]
    let provider = Arc::new(crypto::ring::default_provider());
    let bad = |reason: String| CollectError::Tls {
        target: target.to_owned(),
        reason,
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?;
    let config = match ca_file {
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinAfterHandshake(provider)))
            .with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| bad(format!("CA file {}: {e}", path.display())))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(bad(format!(
                    "CA file {} holds no usable certificate",
                    path.display()
                )));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// Aborts a connection task when its request is done or abandoned.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One answer: status, `Set-Cookie` values, body.
struct Answer {
    cookies: Vec<String>,
    body: String,
    /// The body's bytes as they arrived, kept for a binary driver only
    /// (`body` is their lossy text, for extraction and messages).
    raw: Option<Vec<u8>>,
}

/// Runs `api`'s requests against `device` and returns the configuration,
/// before the driver's filters: text, or for a binary driver the last
/// answer's bytes as they arrived.
pub(crate) async fn fetch(
    device: &DeviceTarget,
    driver: &Driver,
    api: &HttpsInput,
    opts: &CollectOptions,
) -> Result<Vec<u8>, CollectError> {
    let target = device.display();
    if device.jump.is_some() {
        return Err(CollectError::Unsupported {
            target,
            reason: "an HTTPS API input through an SSH jump host".into(),
        });
    }
    let tls = tls_config(&target, api.ca_file.as_deref())?;
    let max_bytes = opts.max_config_bytes_for(device, driver);
    // Only the secrets the credential has: a placeholder of another is
    // refused by `check_secrets` before its request is sent.
    let mut values: Vec<(String, Secret)> =
        vec![("username".into(), Secret::new(device.username.clone()))];
    if let Credential::Password(p) = &device.credential
        && !p.expose().is_empty()
    {
        values.push(("password".into(), p.clone()));
    }
    if let Some(k) = device.api_key.as_ref().filter(|k| !k.expose().is_empty()) {
        values.push((API_KEY.into(), k.clone()));
    }
    let mut last = Vec::new();
    for req in &api.requests {
        if req.makes_api_key() && values.iter().any(|(n, _)| n == API_KEY) {
            continue;
        }
        check_secrets(device, req, &values)?;
        let answer = tokio::time::timeout(
            opts.connect_timeout + opts.command_timeout,
            send(device, api, &tls, req, &values, max_bytes, opts, driver),
        )
        .await
        .map_err(|_| CollectError::Timeout {
            target: target.clone(),
            stage: format!("waiting for the answer to {}", req.label()),
            elapsed: opts.connect_timeout + opts.command_timeout,
        })??;
        if let Some((name, pick)) = &req.extract {
            let value =
                pick_value(pick, &answer, false).ok_or_else(|| CollectError::ApiAnswer {
                    target: target.clone(),
                    request: req.label(),
                    reason: format!(
                        "it has no {} (the value `{name}` is taken from); it begins: {}",
                        pick.describe(),
                        excerpt(&answer.body, &values, driver)
                    ),
                })?;
            values.push((name.clone(), Secret::new(value)));
        }
        last = match &req.config {
            None => answer.raw.unwrap_or_else(|| answer.body.into_bytes()),
            Some(pick) => pick_value(pick, &answer, true)
                .ok_or_else(|| CollectError::ApiAnswer {
                    target: target.clone(),
                    request: req.label(),
                    reason: format!(
                        "it has no {} (the configuration); it begins: {}",
                        pick.describe(),
                        excerpt(&answer.body, &values, driver)
                    ),
                })?
                .into_bytes(),
        };
    }
    Ok(last)
}

/// Refuses `req` when it sends a credential secret that is not among
/// `values`: the credential lacks it (an API key, or a password — a key or
/// API-key-only credential has none).
fn check_secrets(
    device: &DeviceTarget,
    req: &ApiRequest,
    values: &[(String, Secret)],
) -> Result<(), CollectError> {
    for name in req.templates().flat_map(placeholders) {
        let secret = match name {
            "password" => "password",
            API_KEY => "API key",
            _ => continue,
        };
        if !values.iter().any(|(n, _)| n == name) {
            return Err(CollectError::MissingSecret {
                target: device.display(),
                credential: device.credential_label(),
                secret: secret.into(),
                needed_by: format!("`{{{name}}}` in {}", req.label()),
            });
        }
    }
    Ok(())
}

/// The value `pick` names in `answer`; `whole`: the configuration (an XML
/// element's content as written, a JSON value pretty-printed) rather than
/// a short value.
fn pick_value(pick: &Pick, answer: &Answer, whole: bool) -> Option<String> {
    match pick {
        Pick::Xml(path) => {
            let doc = roxmltree::Document::parse(&answer.body).ok()?;
            let mut node = doc.root_element();
            if node.tag_name().name() != path[0] {
                return None;
            }
            for step in &path[1..] {
                node = node
                    .children()
                    .find(|c| c.is_element() && c.tag_name().name() == step)?;
            }
            if whole {
                let first = node.first_child()?;
                let last = node.last_child()?;
                Some(answer.body[first.range().start..last.range().end].to_owned())
            } else {
                let text: String = node
                    .descendants()
                    .filter(|n| n.is_text())
                    .filter_map(|n| n.text())
                    .collect();
                let text = text.trim();
                (!text.is_empty()).then(|| text.to_owned())
            }
        }
        Pick::Json(pointer) => {
            let doc: serde_json::Value = serde_json::from_str(&answer.body).ok()?;
            match doc.pointer(pointer)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                v if whole => serde_json::to_string_pretty(v).ok(),
                v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
                    Some(v.to_string())
                }
                _ => None,
            }
        }
        Pick::Regex(re) => {
            let caps = re.captures(&answer.body)?;
            Some(caps.get(1).or_else(|| caps.get(0))?.as_str().to_owned())
        }
        Pick::Cookie(name) => answer.cookies.iter().find_map(|c| {
            let pair = c.split(';').next()?.trim();
            let (k, v) = pair.split_once('=')?;
            (k.trim() == name && !v.is_empty()).then(|| v.trim().to_owned())
        }),
    }
}

/// The start of an answer for an error: the values sent and extracted
/// replaced, the driver's secret rules applied, one line, short.
fn excerpt(body: &str, values: &[(String, Secret)], driver: &Driver) -> String {
    let mut text: String = body.chars().take(400).collect();
    for (name, v) in values {
        if name != "username" && !v.expose().is_empty() {
            text = text.replace(v.expose(), "********");
        }
    }
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let masked = driver.mask_line(&one_line);
    if masked.is_empty() {
        "(an empty body)".into()
    } else {
        masked
    }
}

/// `template` with each placeholder replaced by its value.
fn expand(template: &str, values: &[(String, Secret)]) -> String {
    let mut out = template.to_owned();
    for (name, v) in values {
        out = out.replace(&format!("{{{name}}}"), v.expose());
    }
    out
}

/// `application/x-www-form-urlencoded`: unreserved characters as they are,
/// a space as `+`, every other byte `%XX`.
fn form_encode(pairs: &[(String, String)], values: &[(String, Secret)]) -> String {
    fn enc(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    out.push(char::from(b));
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(&expand(v, values))))
        .collect::<Vec<_>>()
        .join("&")
}

/// One request on a fresh connection: TCP, TLS (the pin checked), the
/// exchange; the body read up to `max_bytes`.
#[allow(clippy::too_many_arguments)]
async fn send(
    device: &DeviceTarget,
    api: &HttpsInput,
    tls: &Arc<rustls::ClientConfig>,
    req: &ApiRequest,
    values: &[(String, Secret)],
    max_bytes: usize,
    opts: &CollectOptions,
    driver: &Driver,
) -> Result<Answer, CollectError> {
    let target = device.display();
    let timed_out = |stage: &str| CollectError::Timeout {
        target: target.clone(),
        stage: stage.to_owned(),
        elapsed: opts.connect_timeout,
    };
    let tcp = tokio::time::timeout(
        opts.connect_timeout,
        TcpStream::connect((device.host.as_str(), device.port)),
    )
    .await
    .map_err(|_| timed_out("connecting"))?
    .map_err(|e| CollectError::Connect {
        target: target.clone(),
        reason: e.to_string(),
    })?;
    tcp.set_nodelay(true).ok();
    let name = ServerName::try_from(device.host.clone()).map_err(|_| CollectError::Tls {
        target: target.clone(),
        reason: format!("`{}` is not a valid TLS server name", device.host),
    })?;
    let stream = tokio::time::timeout(
        opts.connect_timeout,
        TlsConnector::from(Arc::clone(tls)).connect(name, tcp),
    )
    .await
    .map_err(|_| timed_out("in the TLS handshake"))?
    .map_err(|e| tls_error(&target, e))?;
    if api.ca_file.is_none() {
        let leaf = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .ok_or_else(|| CollectError::Tls {
                target: target.clone(),
                reason: "the device presented no certificate".into(),
            })?;
        let offered = cert_fingerprint(leaf);
        match opts
            .known_hosts
            .check_tls(&device.host, device.port, &offered)?
        {
            HostKeyCheck::Known => {}
            HostKeyCheck::Pinned => {
                tracing::info!(device = %target, fingerprint = %offered, "TLS certificate pinned on first use");
            }
            HostKeyCheck::Mismatch { pinned, offered } => {
                return Err(CollectError::CertificateMismatch {
                    host: format!("{}:{}", device.host, device.port),
                    pinned,
                    offered,
                    known_hosts: opts.known_hosts.path().map_or_else(
                        || "the known-hosts store (in memory)".to_owned(),
                        |p| p.display().to_string(),
                    ),
                });
            }
        }
    }
    let lost = |e: hyper::Error| CollectError::ConnectionLost {
        target: target.clone(),
        stage: format!("during {}", req.label()),
        reason: e.to_string(),
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(lost)?;
    let _conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let mut uri = expand(&req.path, values);
    if !req.query.is_empty() {
        uri.push(if uri.contains('?') { '&' } else { '?' });
        uri.push_str(&form_encode(&req.query, values));
    }
    let authority = if device.host.contains(':') {
        format!("[{}]:{}", device.host, device.port)
    } else {
        format!("{}:{}", device.host, device.port)
    };
    let mut builder = Request::builder()
        .method(req.method.as_str())
        .uri(uri)
        .header(header::HOST, authority)
        .header(
            header::USER_AGENT,
            concat!("DeviceVault/", env!("CARGO_PKG_VERSION")),
        );
    let body = if req.form.is_empty() {
        Vec::new()
    } else {
        builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        form_encode(&req.form, values).into_bytes()
    };
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), expand(v, values));
    }
    let request = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| CollectError::InvalidDriver {
            name: driver.name.clone(),
            reason: format!(
                "{}: the request cannot be built (a header value or the path holds a character HTTP does not allow)",
                req.label()
            ),
        })?;
    let resp = sender.send_request(request).await.map_err(lost)?;
    let status = resp.status();
    let cookies: Vec<String> = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let too_large = || CollectError::OutputTooLarge {
        target: target.clone(),
        command: req.label(),
        limit: max_bytes,
    };
    if let Some(len) = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > max_bytes as u64
        && status.is_success()
    {
        return Err(too_large());
    }
    let mut body = resp.into_body();
    let mut bytes = Vec::new();
    let limit = if status.is_success() { max_bytes } else { 4096 };
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(lost)?;
        if let Some(data) = frame.data_ref() {
            if bytes.len() + data.len() > limit {
                if status.is_success() {
                    return Err(too_large());
                }
                break;
            }
            bytes.extend_from_slice(data);
        }
    }
    let body = String::from_utf8_lossy(&bytes).into_owned();
    let raw = driver.binary.then_some(bytes);
    if !status.is_success() {
        return Err(CollectError::HttpStatus {
            target: target.clone(),
            request: req.label(),
            status: status.as_u16(),
            reason: status_reason(status),
            answer: excerpt(&body, values, driver),
        });
    }
    Ok(Answer { cookies, body, raw })
}

/// What a status means for a backup, in words.
fn status_reason(status: StatusCode) -> String {
    match status.as_u16() {
        401 | 403 => "authentication refused: check the credential (user and password, or API key) and the account's API rights".into(),
        404 => "the device has no such API path (another release or platform?)".into(),
        408 | 429 => "the device is busy".into(),
        s if s >= 500 => "the device had an internal error".into(),
        _ => status
            .canonical_reason()
            .unwrap_or("unexpected status")
            .to_owned(),
    }
}

/// A failed TLS handshake: a rustls refusal (a certificate the CA does not
/// vouch for, no protocol in common) needs a configuration change; anything
/// else broke the connection.
fn tls_error(target: &str, e: std::io::Error) -> CollectError {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(tls) => CollectError::Tls {
            target: target.to_owned(),
            reason: tls.to_string(),
        },
        None => CollectError::ConnectionLost {
            target: target.to_owned(),
            stage: "in the TLS handshake".into(),
            reason: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use devicevault_core::RetryClass as _;

    use super::*;

    fn req(toml_text: &str) -> Result<HttpsInput, String> {
        #[derive(Deserialize)]
        struct F {
            requests: Vec<RequestFile>,
        }
        let f: F = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        HttpsInput::from_file("t", &f.requests, None)
    }

    #[test]
    fn placeholders_must_be_credentials_or_values_extracted_before() {
        let ok = req(r#"
[[requests]]
path = "/api/"
query = { type = "keygen", user = "{username}", password = "{password}" }
extract = { name = "key", xml = "/response/result/key" }
[[requests]]
path = "/api/"
query = { type = "export", key = "{key}" }
"#)
        .unwrap();
        assert_eq!(ok.labels(), "GET /api/; GET /api/");
        let err = req(r#"
[[requests]]
path = "/api/"
query = { key = "{key}" }
extract = { name = "key", xml = "/response/result/key" }
"#)
        .unwrap_err();
        assert!(err.contains("`{key}`"), "{err}");
        let err = req(
            "[[requests]]\npath = \"/\"\nextract = { name = \"k\", xml = \"/a\", json = \"/b\" }\n",
        )
        .unwrap_err();
        assert!(err.contains("exactly one"), "{err}");
        let err = req("[[requests]]\nmethod = \"DELETE\"\npath = \"/\"\n").unwrap_err();
        assert!(err.contains("DELETE"), "{err}");
        let err = req(
            "[[requests]]\npath = \"/\"\nconfig = { json = \"/a\" }\n[[requests]]\npath = \"/\"\n",
        )
        .unwrap_err();
        assert!(err.contains("only the last"), "{err}");
        let err = req("[[requests]]\npath = \"/\"\nextract = { name = \"k\", regex = \"(\" }\n")
            .unwrap_err();
        assert!(err.contains("regex"), "{err}");
        // Braces that are no placeholder are text.
        assert!(
            req("[[requests]]\npath = \"/a\"\nheaders = { X-Json = \"{ not one }\" }\n").is_ok()
        );
    }

    #[test]
    fn the_api_key_is_a_placeholder_and_the_request_making_it_is_never_the_last() {
        let ok = req(r#"
[[requests]]
method = "POST"
path = "/api/"
form = { type = "keygen", user = "{username}", password = "{password}" }
extract = { name = "api_key", xml = "/response/result/key" }
[[requests]]
path = "/api/"
headers = { X-PAN-KEY = "{api_key}" }
"#)
        .unwrap();
        assert!(ok.requests[0].makes_api_key() && !ok.requests[1].makes_api_key());
        let err =
            req("[[requests]]\npath = \"/\"\nextract = { name = \"api_key\", json = \"/k\" }\n")
                .unwrap_err();
        assert!(err.contains("cannot be the last"), "{err}");
        let err = req("[[requests]]\npath = \"/{token}\"\n").unwrap_err();
        assert!(err.contains("{api_key}"), "the message lists it: {err}");
    }

    #[test]
    fn a_request_sending_a_secret_the_credential_lacks_names_the_credential() {
        let api = req(r#"
[[requests]]
path = "/api/v2/monitor/system/config/backup"
query = { scope = "global" }
headers = { Authorization = "Bearer {api_key}" }
"#)
        .unwrap();
        let mut t = DeviceTarget::password("10.0.0.9", 443, "api", "", "x");
        t.credential_name = "fortigate-api".into();
        let values = vec![("username".to_owned(), Secret::new("api"))];
        let err = check_secrets(&t, &api.requests[0], &values).unwrap_err();
        assert_eq!(err.retry(), devicevault_core::Retry::Permanent);
        assert_eq!(
            err.to_string(),
            "api@10.0.0.9:443: credential `fortigate-api` has no API key, which `{api_key}` in \
             GET /api/v2/monitor/system/config/backup needs; set one on the credential"
        );
        let mut with = values.clone();
        with.push(("api_key".to_owned(), Secret::new("k")));
        assert!(check_secrets(&t, &api.requests[0], &with).is_ok());
        t.credential_name.clear();
        let err = check_secrets(&t, &api.requests[0], &values).unwrap_err();
        assert!(
            err.to_string().contains("the credential has no API key"),
            "{err}"
        );
    }

    fn answer(body: &str, cookies: &[&str]) -> Answer {
        Answer {
            cookies: cookies.iter().map(|c| (*c).to_owned()).collect(),
            body: body.to_owned(),
            raw: None,
        }
    }

    #[test]
    fn values_are_picked_from_xml_json_regex_and_cookies() {
        let xml = answer(
            "<response status=\"success\"><result><key>LUFRPT1abc==</key></result></response>",
            &[],
        );
        let x = Pick::Xml(vec!["response".into(), "result".into(), "key".into()]);
        assert_eq!(pick_value(&x, &xml, false).as_deref(), Some("LUFRPT1abc=="));
        let whole = Pick::Xml(vec!["response".into(), "result".into()]);
        assert_eq!(
            pick_value(&whole, &xml, true).as_deref(),
            Some("<key>LUFRPT1abc==</key>")
        );
        let missing = Pick::Xml(vec!["response".into(), "result".into(), "token".into()]);
        assert_eq!(pick_value(&missing, &xml, false), None);
        assert_eq!(pick_value(&x, &answer("not xml", &[]), false), None);

        let json = answer("{\"results\": {\"token\": \"t0k\", \"n\": 3}}", &[]);
        assert_eq!(
            pick_value(&Pick::Json("/results/token".into()), &json, false).as_deref(),
            Some("t0k")
        );
        assert_eq!(
            pick_value(&Pick::Json("/results/n".into()), &json, false).as_deref(),
            Some("3")
        );
        assert_eq!(
            pick_value(&Pick::Json("/results".into()), &json, false),
            None
        );
        assert!(
            pick_value(&Pick::Json("/results".into()), &json, true)
                .unwrap()
                .contains("\"token\": \"t0k\"")
        );
        let re = Pick::Regex(Regex::new("csrf=([a-z]+)").unwrap());
        assert_eq!(
            pick_value(&re, &answer("x csrf=abc y", &[]), false).as_deref(),
            Some("abc")
        );
        let c = Pick::Cookie("APSCOOKIE_1".into());
        let a = answer(
            "",
            &[
                "ccsrftoken=\"X\"; path=/",
                "APSCOOKIE_1=0%260; path=/; secure",
            ],
        );
        assert_eq!(pick_value(&c, &a, false).as_deref(), Some("0%260"));
    }

    #[test]
    fn forms_are_url_encoded_after_expansion_and_errors_hide_what_was_sent() {
        let values = vec![
            ("username".to_owned(), Secret::new("admin")),
            ("password".to_owned(), Secret::new("p&ss w=rd/é")),
        ];
        let pairs = vec![
            ("user".to_owned(), "{username}".to_owned()),
            ("password".to_owned(), "{password}".to_owned()),
        ];
        assert_eq!(
            form_encode(&pairs, &values),
            "user=admin&password=p%26ss+w%3Drd%2F%C3%A9"
        );
        let d = crate::DriverSet::builtin().get("cisco_ios").unwrap();
        let e = excerpt("<msg>bad password p&ss w=rd/é\n</msg>", &values, &d);
        assert_eq!(e, "<msg>bad password ******** </msg>".replace("  ", " "));
        assert!(!e.contains("p&ss"));
    }

    #[test]
    fn fingerprints_read_like_openssl_prints_them() {
        let fp = cert_fingerprint(b"abc");
        assert!(fp.starts_with("BA:78:16:BF:"), "{fp}");
        assert_eq!(fp.len(), 32 * 3 - 1);
    }
}
