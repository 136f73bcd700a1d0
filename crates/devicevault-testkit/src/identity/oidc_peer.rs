//! A real OpenID provider per test: npm's `oidc-provider` under Node
//! (tests/oidc-provider/provider.mjs), behind HTTPS with a generated
//! certificate, and a scripted user agent that signs in through its pages
//! with plain HTTP requests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use devicevault_identity::Callback;
use openidconnect::reqwest;
use serde_json::{Value, json};
use url::Url;

use super::certs::{self, TestCerts};

/// Where every client of the test provider is sent back to. Nothing listens
/// there: the user agent stops at the redirect and reads its query.
pub const REDIRECT_URL: &str = "https://127.0.0.1:9/callback";
pub const SIGNED_OUT_URL: &str = "https://127.0.0.1:9/signed-out";

/// A client registered at the test provider.
#[derive(Debug, Clone)]
pub struct PeerClient {
    pub id: &'static str,
    pub secret: &'static str,
    /// The ID token lifetime, in seconds (default one hour).
    pub id_token_ttl: Option<u64>,
    /// The ID token's signing algorithm (default RS256).
    pub id_token_alg: Option<&'static str>,
}

/// DeviceVault as a client of the test provider.
pub const DEVICEVAULT: PeerClient = PeerClient {
    id: "devicevault",
    secret: "devicevault-client-secret",
    id_token_ttl: None,
    id_token_alg: None,
};

/// Another application at the same provider (its tokens have another
/// audience).
pub const OTHER_APP: PeerClient = PeerClient {
    id: "other-app",
    secret: "other-app-secret",
    id_token_ttl: None,
    id_token_alg: None,
};

/// A running provider.
#[derive(Debug)]
pub struct OidcPeer {
    _dir: tempfile::TempDir,
    node: Child,
    /// `https://127.0.0.1:PORT`.
    pub issuer: String,
    pub certs: TestCerts,
}

/// devicevault-identity's `tests/oidc-provider` (provider.mjs and its
/// `node_modules`, installed by `scripts/services.sh`).
pub fn peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../devicevault-identity/tests/oidc-provider")
}

impl OidcPeer {
    /// Starts the provider with these clients and two accounts: alice (in
    /// netops and readers) and bob (in no group).
    pub fn start(clients: &[PeerClient]) -> OidcPeer {
        OidcPeer::start_for(clients, &[], &[])
    }

    /// [`OidcPeer::start`] with more redirect URIs registered for every
    /// client (besides [`REDIRECT_URL`] and [`SIGNED_OUT_URL`]): a
    /// DeviceVault server's callbacks and its page after logout.
    pub fn start_for(
        clients: &[PeerClient],
        redirect_uris: &[String],
        post_logout_redirect_uris: &[String],
    ) -> OidcPeer {
        let script_dir = peer_dir();
        assert!(
            script_dir.join("node_modules/oidc-provider").is_dir(),
            "oidc-provider is not installed: run scripts/test, or npm ci in {}",
            script_dir.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let certs = certs::generate(dir.path());
        let clients: Vec<Value> = clients
            .iter()
            .map(|c| {
                json!({
                    "client_id": c.id,
                    "client_secret": c.secret,
                    "redirect_uris": std::iter::once(REDIRECT_URL.to_owned())
                        .chain(redirect_uris.iter().cloned())
                        .collect::<Vec<_>>(),
                    "post_logout_redirect_uris": std::iter::once(SIGNED_OUT_URL.to_owned())
                        .chain(post_logout_redirect_uris.iter().cloned())
                        .collect::<Vec<_>>(),
                    "id_token_ttl": c.id_token_ttl,
                    "id_token_signed_response_alg": c.id_token_alg.unwrap_or("RS256"),
                })
            })
            .collect();
        let port_file = dir.path().join("port");
        let config = json!({
            "port_file": port_file,
            "tls_key": certs.key,
            "tls_cert": certs.cert,
            "clients": clients,
            "accounts": {
                "alice": {
                    "password": "alice-password",
                    "claims": {
                        "preferred_username": "alice",
                        "name": "Alice Liddell",
                        "email": "alice@example.org",
                        "email_verified": true,
                        "groups": ["netops", "readers"],
                    },
                },
                "bob": {
                    "password": "bob-password",
                    "claims": { "email": "bob@example.org", "groups": [] },
                },
            },
        });
        let config_path = dir.path().join("provider.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let log_path = dir.path().join("provider.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut node = Command::new("node")
            .arg(script_dir.join("provider.mjs"))
            .arg(&config_path)
            .current_dir(&script_dir)
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("run node (apt-get install nodejs)");
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            if let Ok(port) = std::fs::read_to_string(&port_file) {
                break port.trim().to_owned();
            }
            let exited = matches!(node.try_wait(), Ok(Some(_)));
            if exited || Instant::now() > deadline {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let _ = node.kill();
                let _ = node.wait();
                panic!("the OpenID provider did not start: {log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        OidcPeer {
            issuer: format!("https://127.0.0.1:{port}"),
            _dir: dir,
            node,
            certs,
        }
    }

    /// The configuration of provider `name` for `client`, sent back to
    /// `redirect_url`, trusting the test CA, with `extra` TOML lines.
    pub fn config(
        &self,
        name: &str,
        client: &PeerClient,
        redirect_url: &str,
        extra: &str,
    ) -> devicevault_identity::OidcConfig {
        toml::from_str(&format!(
            r#"
            name = "{name}"
            issuer_url = "{issuer}"
            client_id = "{id}"
            client_secret = "{secret}"
            redirect_url = "{redirect_url}"
            scopes = ["profile", "email", "groups"]
            ca_file = "{ca}"
            clock_skew_secs = 0
            {extra}
            "#,
            issuer = self.issuer,
            id = client.id,
            secret = client.secret,
            ca = self.certs.ca.display(),
        ))
        .expect("an OpenID provider configuration")
    }

    /// A user agent that trusts the provider's certificate.
    pub fn user_agent(&self) -> UserAgent {
        let ca = std::fs::read(&self.certs.ca).unwrap();
        UserAgent {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn control(&self, path: &str, body: String) -> String {
        let response = self
            .user_agent()
            .http
            .post(format!("{}{path}", self.issuer))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.text().await.unwrap().trim().to_owned()
    }

    /// Makes the provider sign with a new key from now on (the old one
    /// stays published). Returns the new key id.
    pub async fn rotate_signing_key(&self) -> String {
        self.control("/__test/rotate", String::new()).await
    }

    /// The next token response carries `id_token` instead of the real one.
    pub async fn substitute_next_id_token(&self, id_token: &str) {
        self.control("/__test/next-id-token", id_token.to_owned())
            .await;
    }
}

impl Drop for OidcPeer {
    fn drop(&mut self) {
        // provider.mjs exits when its standard input closes.
        drop(self.node.stdin.take());
        let _ = self.node.wait();
        if std::thread::panicking() {
            let log = self._dir.path().join("provider.log");
            eprintln!(
                "the OpenID provider's log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
    }
}

/// A scripted browser: keeps cookies, follows redirects by hand, fills the
/// provider's forms.
#[derive(Debug)]
pub struct UserAgent {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

/// A response, read in full.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<Url>,
    pub body: String,
    pub url: Url,
}

impl UserAgent {
    /// Sends a request with the cookies, and keeps the ones set.
    pub async fn request(&mut self, url: &Url, form: Option<Vec<(String, String)>>) -> Page {
        let mut request = match &form {
            Some(fields) => self.http.post(url.clone()).form(fields),
            None => self.http.get(url.clone()),
        };
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(reqwest::header::COOKIE, header);
        }
        let response = request.send().await.unwrap();
        for set in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty()
                || attributes
                    .to_lowercase()
                    .contains("expires=thu, 01 jan 1970")
            {
                self.cookies.remove(name.trim());
            } else {
                self.cookies.insert(name.trim().into(), value.into());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| url.join(l.to_str().unwrap()).unwrap());
        Page {
            status,
            location,
            body: response.text().await.unwrap(),
            url: url.clone(),
        }
    }

    /// Goes through the provider's pages from `authorization_url` (login
    /// form, then consent when asked) until the provider redirects to
    /// [`REDIRECT_URL`]; returns that redirect's query as a [`Callback`].
    pub async fn sign_in(
        &mut self,
        authorization_url: &Url,
        login: &str,
        password: &str,
    ) -> Callback {
        let mut page = self.request(authorization_url, None).await;
        for _ in 0..20 {
            if let Some(next) = page.location.clone() {
                if next.as_str().starts_with(REDIRECT_URL) {
                    let query = next.query().unwrap_or_default();
                    return serde_urlencoded_callback(query);
                }
                page = self.request(&next, None).await;
                continue;
            }
            assert_eq!(page.status, 200, "{}: {}", page.url, page.body);
            let (action, mut fields) = form(&page.body);
            if action.ends_with("/login") {
                fields.push(("login".into(), login.into()));
                fields.push(("password".into(), password.into()));
            }
            let target = page.url.join(&action).unwrap();
            page = self.request(&target, Some(fields)).await;
        }
        panic!("no redirect to the client after 20 pages: {}", page.body);
    }
}

/// The first form of a page: its action and hidden fields (with the name
/// and value of its submit button, if it has them).
pub fn form(html: &str) -> (String, Vec<(String, String)>) {
    let start = html.find("<form").expect("a form on the page");
    let html = &html[start..];
    let action = attribute(&html[..html.find('>').unwrap()], "action").expect("a form action");
    let mut fields = Vec::new();
    for tag in html.split('<').skip(1) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let is_hidden =
            tag.starts_with("input") && attribute(tag, "type").as_deref() == Some("hidden");
        let is_button = tag.starts_with("button") && attribute(tag, "name").is_some();
        if (is_hidden || is_button)
            && let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value"))
        {
            fields.push((name, value));
        }
        if tag.starts_with("/form") {
            break;
        }
    }
    (action, fields)
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let at = tag.find(&key)? + key.len();
    let end = tag[at..].find('"')? + at;
    Some(tag[at..end].replace("&amp;", "&").replace("&#x2F;", "/"))
}

fn serde_urlencoded_callback(query: &str) -> Callback {
    let pairs: serde_json::Map<String, Value> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    serde_json::from_value(Value::Object(pairs)).unwrap()
}
