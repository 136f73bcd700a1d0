//! The control endpoint: change a named device on demand over HTTP.
//!
//! `POST /devices/<name>/change[?author=<name>]` makes one drift
//! ([`SimDevice::drift`]) and answers 200 with what changed as JSON; an
//! unknown device is a 404, another method on that path a 405, anything
//! else a 404 or, when it is not HTTP, a 400. A few lines over tokio rather
//! than an HTTP framework: it serves one kind of request, one per
//! connection, and keeps this crate's dependencies to core.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::device::SimDevice;
use crate::drift::{Change, InvalidAuthor};

/// Called with every change made through the endpoint (the CLI prints it).
pub type OnChange = Arc<dyn Fn(&SimDevice, &Change) + Send + Sync>;

/// The request head may not be larger than this.
const MAX_HEAD: usize = 8 * 1024;
/// A request body is read (so closing the connection does not reset it
/// before the answer is read) and ignored, up to this size.
const MAX_BODY: usize = 64 * 1024;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) async fn serve(
    listener: TcpListener,
    devices: Arc<Vec<SimDevice>>,
    on_change: OnChange,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "control endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let devices = devices.clone();
        let on_change = on_change.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, &devices, &on_change).await {
                tracing::debug!(error = %e, "control endpoint: connection ended");
            }
        });
    }
}

/// An answer: status, reason, JSON body, extra header.
struct Answer(u16, &'static str, String, Option<&'static str>);

async fn handle(
    mut stream: TcpStream,
    devices: &[SimDevice],
    on_change: &OnChange,
) -> std::io::Result<()> {
    let answer = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Err(_) => Answer(
            408,
            "Request Timeout",
            error("request not sent in time"),
            None,
        ),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(None)) => Answer(400, "Bad Request", error("not an HTTP request"), None),
        Ok(Ok(Some((method, target)))) => route(&method, &target, devices, on_change),
    };
    let Answer(status, reason, body, extra) = answer;
    let extra = extra.map_or(String::new(), |h| format!("{h}\r\n"));
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Reads the request head and its body (ignored); returns the method and
/// the target, or `None` when it is not an HTTP/1 request.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<(String, String)>> {
    let mut buf = Vec::with_capacity(1024);
    let end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let Ok(head) = std::str::from_utf8(&buf[..end]) else {
        return Ok(None);
    };
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Ok(None);
    }
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut have = buf.len() - (end + 4);
    let mut chunk = [0u8; 1024];
    while have < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Ok(Some((method.to_owned(), target.to_owned())))
}

fn route(method: &str, target: &str, devices: &[SimDevice], on_change: &OnChange) -> Answer {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(name) = path
        .strip_prefix("/devices/")
        .and_then(|rest| rest.strip_suffix("/change"))
        .filter(|n| !n.is_empty() && !n.contains('/'))
    else {
        return Answer(
            404,
            "Not Found",
            error("no such endpoint; POST /devices/<name>/change"),
            None,
        );
    };
    if method != "POST" {
        return Answer(
            405,
            "Method Not Allowed",
            error("use POST"),
            Some("allow: POST"),
        );
    }
    let Some(device) = devices.iter().find(|d| d.name() == name) else {
        return Answer(
            404,
            "Not Found",
            error(&format!("no device named {name}")),
            None,
        );
    };
    let author = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "author")
        .map(|(_, v)| v);
    let change = match author {
        None => Ok(device.drift()),
        Some(a) => device.drift_by(a),
    };
    match change {
        Ok(change) => {
            on_change(device, &change);
            Answer(200, "OK", describe(device, &change), None)
        }
        Err(e @ InvalidAuthor) => Answer(400, "Bad Request", error(&e.to_string()), None),
    }
}

/// The change as JSON: `device`, `platform`, `revision`, `author`,
/// `kind` and a one-line `summary`.
pub fn describe(device: &SimDevice, change: &Change) -> String {
    format!(
        r#"{{"device":{},"platform":{},"revision":{},"author":{},"kind":{},"summary":{}}}"#,
        json_string(device.name()),
        json_string(device.platform()),
        change.revision,
        json_string(&change.author),
        json_string(change.edit.kind()),
        json_string(&change.to_string()),
    )
}

fn error(message: &str) -> String {
    format!(r#"{{"error":{}}}"#, json_string(message))
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd"), r#""a\"b\\c\u000ad""#);
    }
}
