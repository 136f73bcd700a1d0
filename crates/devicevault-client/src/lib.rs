//! A small keep-alive HTTP/1.1 client for DeviceVault's own API, used by
//! the end-to-end tests, the benchmarks and the demo.

use std::net::SocketAddr;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{HeaderMap, Method, Request, header};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// Why a request failed before a response arrived.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("connecting to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP: {0}")]
    Http(String),
    /// The server answered, but not as the call expects.
    #[error("{what}: HTTP {status}: {body}")]
    Refused {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error("job {task_identifier} had not finished after {} s: {last}", within.as_secs())]
    Unfinished {
        task_identifier: String,
        within: std::time::Duration,
        last: Value,
    },
}

/// A response, body read in full.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One keep-alive connection to the API, reopened when the server closed it.
#[derive(Debug)]
pub struct HttpClient {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// Sent as `Authorization: Token <token>` when set.
    pub token: Option<String>,
}

impl HttpClient {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            sender: None,
            token: None,
        }
    }

    async fn sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, HttpError> {
        let usable = match &mut self.sender {
            Some(s) => s.ready().await.is_ok(),
            None => false,
        };
        if !usable {
            let stream = tokio::net::TcpStream::connect(self.addr)
                .await
                .map_err(|source| HttpError::Connect {
                    addr: self.addr,
                    source,
                })?;
            stream.set_nodelay(true).ok();
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| HttpError::Http(e.to_string()))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("set above"))
    }

    /// Sends `method path` with an optional JSON body.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<HttpResponse, HttpError> {
        self.request_with(method, path, body, &[]).await
    }

    /// [`HttpClient::request`] with extra headers (e.g. `Accept`).
    pub async fn request_with(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<HttpResponse, HttpError> {
        let method =
            Method::from_bytes(method.as_bytes()).map_err(|e| HttpError::Http(e.to_string()))?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.addr.to_string());
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Token {t}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(v.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let req = req.body(body).map_err(|e| HttpError::Http(e.to_string()))?;
        let sender = self.sender().await?;
        let response = sender
            .send_request(req)
            .await
            .map_err(|e| HttpError::Http(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| HttpError::Http(e.to_string()))?
            .to_bytes()
            .to_vec();
        Ok(HttpResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    pub async fn get(&mut self, path: &str) -> Result<HttpResponse, HttpError> {
        self.request("GET", path, None).await
    }

    pub async fn post(&mut self, path: &str, body: &Value) -> Result<HttpResponse, HttpError> {
        self.request("POST", path, Some(body)).await
    }

    /// Signs in with `POST /api/auth/login/` and sends the token it
    /// answers with from then on; returns the token.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Result<String, HttpError> {
        let body = serde_json::json!({"username": username, "password": password});
        let r = self.post("/api/auth/login/", &body).await?;
        let token = match r.json()["token"].as_str() {
            Some(t) if r.status == 200 => t.to_owned(),
            _ => {
                return Err(HttpError::Refused {
                    what: "signing in",
                    status: r.status,
                    body: String::from_utf8_lossy(&r.body).into_owned(),
                });
            }
        };
        self.token = Some(token.clone());
        Ok(token)
    }

    /// `POST /api/devices/<id>/backup_now/`; returns the job's
    /// `task_identifier`.
    pub async fn backup_now(&mut self, device: i64) -> Result<String, HttpError> {
        let r = self
            .post(
                &format!("/api/devices/{device}/backup_now/"),
                &Value::Object(Default::default()),
            )
            .await?;
        match r.json()["task_identifier"].as_str() {
            Some(ti) if r.status == 202 => Ok(ti.to_owned()),
            _ => Err(HttpError::Refused {
                what: "backup now",
                status: r.status,
                body: String::from_utf8_lossy(&r.body).into_owned(),
            }),
        }
    }

    /// Polls `GET /api/jobs/<task_identifier>/` until the job is `stored`
    /// or `failed`, for at most `within`; returns the finished job.
    pub async fn finished_job(
        &mut self,
        task_identifier: &str,
        within: std::time::Duration,
    ) -> Result<Value, HttpError> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let r = self.get(&format!("/api/jobs/{task_identifier}/")).await?;
            let job = r.json();
            if r.status != 200 {
                return Err(HttpError::Refused {
                    what: "reading a job",
                    status: r.status,
                    body: String::from_utf8_lossy(&r.body).into_owned(),
                });
            }
            if matches!(job["state"].as_str(), Some("stored" | "failed")) {
                return Ok(job);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(HttpError::Unfinished {
                    task_identifier: task_identifier.to_owned(),
                    within,
                    last: job,
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
