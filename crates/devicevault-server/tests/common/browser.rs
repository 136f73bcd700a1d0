//! A cookie-keeping HTTP client for the web UI, like a browser without
//! the script.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// A response, body as text.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The page's CSRF token (`<meta name="csrf-token">`, or the login
    /// form's hidden field).
    pub fn csrf(&self) -> String {
        for marker in [r#"name="csrf-token" content=""#, r#"name="csrf" value=""#] {
            if let Some(i) = self.body.find(marker) {
                let rest = &self.body[i + marker.len()..];
                return rest[..rest.find('"').unwrap()].to_owned();
            }
        }
        panic!("no CSRF token in {}", self.body);
    }

    /// Device names in list order.
    pub fn device_names(&self) -> Vec<String> {
        let marker = r#"class="strong">"#;
        self.body
            .match_indices(marker)
            .map(|(i, _)| {
                let rest = &self.body[i + marker.len()..];
                rest[..rest.find('<').unwrap()].to_owned()
            })
            .collect()
    }
}

/// A cookie-keeping HTTP client, like a browser without the script.
pub struct Browser {
    pub addr: SocketAddr,
    pub cookies: HashMap<String, String>,
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            cookies: HashMap::new(),
        }
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        form: Option<&[(&str, &str)]>,
        headers: &[(&str, &str)],
    ) -> Page {
        let stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string());
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", jar.join("; "));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match form {
            Some(fields) => {
                req = req.header("content-type", "application/x-www-form-urlencoded");
                let mut s = form_urlencoded::Serializer::new(String::new());
                for (k, v) in fields {
                    s.append_pair(k, v);
                }
                Full::new(Bytes::from(s.finish()))
            }
            None => Full::new(Bytes::new()),
        };
        let response = sender.send_request(req.body(body).unwrap()).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let page = Page {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        for c in page.set_cookies() {
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None, &[]).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send("POST", path, Some(form), &[]).await
    }

    pub async fn login(&mut self, user: &str, password: &str) {
        let form = self.get("/login").await;
        assert_eq!(form.status, 200);
        let csrf = form.csrf();
        let r = self
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", user),
                    ("password", password),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "login: {}", r.body);
        assert!(self.cookies.contains_key("dv_session"));
    }
}

/// Runs `node <script> <args…>` to its end with `env`, answering each
/// `ASK <request>` line it prints with `answer`'s one line; panics unless it
/// exits 0 within `limit`. Its other lines are echoed, prefixed with its
/// name.
pub async fn run_node_script(
    script: &std::path::Path,
    args: &[String],
    env: &[(&str, String)],
    limit: std::time::Duration,
    mut answer: impl AsyncFnMut(&str) -> String,
) {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    let name = script.file_name().unwrap().to_string_lossy().into_owned();
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (apt-get install nodejs)");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let dialogue = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            eprintln!("[{name}] {line}");
            if let Some(request) = line.strip_prefix("ASK ") {
                let reply = answer(request).await;
                stdin
                    .write_all(format!("{reply}\n").as_bytes())
                    .await
                    .unwrap();
                stdin.flush().await.unwrap();
            }
        }
        child.wait().await.unwrap()
    };
    let status = tokio::time::timeout(limit, dialogue)
        .await
        .unwrap_or_else(|_| panic!("{name} did not finish in {limit:?}"));
    assert!(
        status.success(),
        "{name} failed ({status}); see its output above"
    );
}
