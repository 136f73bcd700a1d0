//! `search`: the fleet search for scripts, through the API
//! (`GET /api/search/`) with an API token. Prints `device:line:text` like
//! `grep -n` over the fleet (or the device names with `--negate`, or the
//! API's JSON pages with `--json`); exits 1 when no device is selected, as
//! grep does.

use anyhow::{Context as _, bail};
use clap::Args;
use devicevault_client::HttpClient;
use serde_json::Value;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for on one line (literal unless --regex).
    pub pattern: String,
    /// The server's API, `http://host:port`.
    #[arg(long, env = "DEVICEVAULT_URL", default_value = "http://127.0.0.1:8000")]
    pub url: String,
    /// An API token (`devicevault token create`, or the web UI's account page).
    #[arg(long, env = "DEVICEVAULT_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The pattern is a regular expression (Rust `regex` syntax).
    #[arg(long)]
    pub regex: bool,
    #[arg(long, short = 'i')]
    pub ignore_case: bool,
    /// Lines of context before and after each match.
    #[arg(long, short = 'C', default_value_t = 0)]
    pub context: u32,
    /// List the devices that do not contain the pattern.
    #[arg(long)]
    pub negate: bool,
    /// Search each device's version at this time (RFC 3339).
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long)]
    pub device_group: Option<i64>,
    #[arg(long)]
    pub device_type: Option<i64>,
    #[arg(long)]
    pub driver: Option<String>,
    /// A backup location's id.
    #[arg(long)]
    pub location: Option<i64>,
    /// Print the API's JSON pages, one per line.
    #[arg(long)]
    pub json: bool,
}

/// Runs the search; `Ok(false)` when no device was selected.
pub fn run(args: SearchArgs) -> anyhow::Result<bool> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?
        .block_on(search(args))
}

/// `host:port` of an `http://` URL.
async fn address(url: &str) -> anyhow::Result<std::net::SocketAddr> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!(
            "--url {url:?}: only http://host:port is supported (for TLS, run this on the server against its local address)"
        );
    };
    let host = rest.trim_end_matches('/');
    tokio::net::lookup_host(host)
        .await
        .with_context(|| format!("resolve {host:?}"))?
        .next()
        .with_context(|| format!("{host:?} has no address"))
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn search(a: SearchArgs) -> anyhow::Result<bool> {
    let mut client = HttpClient::new(address(&a.url).await?);
    client.token = Some(a.token.clone());
    let mut params = vec![
        ("q", a.pattern.clone()),
        ("regex", a.regex.to_string()),
        ("ignore_case", a.ignore_case.to_string()),
        ("context", a.context.to_string()),
        ("negate", a.negate.to_string()),
        ("page_size", "1000".into()),
    ];
    let optional = [
        ("as_of", a.as_of.clone()),
        ("device_group", a.device_group.map(|v| v.to_string())),
        ("device_type", a.device_type.map(|v| v.to_string())),
        ("driver", a.driver.clone()),
        ("location", a.location.map(|v| v.to_string())),
    ];
    params.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    let base = format!("/api/search/?{}", query.join("&"));
    let mut found = false;
    for page in 1.. {
        let path = format!("{base}&page={page}");
        let r = client
            .get(&path)
            .await
            .with_context(|| format!("GET {}", a.url))?;
        let body = r.json();
        if r.status != 200 {
            bail!(
                "the server answered {}: {}",
                r.status,
                body.get("detail").unwrap_or(&body)
            );
        }
        let results = body["results"].as_array().cloned().unwrap_or_default();
        found |= !results.is_empty();
        if a.json {
            println!("{body}");
        } else {
            for d in &results {
                print_device(d, a.negate);
            }
        }
        if body["next"].is_null() {
            break;
        }
    }
    Ok(found)
}

fn print_device(d: &Value, negate: bool) {
    let name = d["device_name"].as_str().unwrap_or("?");
    if negate {
        println!("{name}");
        return;
    }
    let matches = d["matches"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    for m in matches {
        let n = m["line_number"].as_u64().unwrap_or(0);
        let lines = |k: &str| -> Vec<String> {
            m[k].as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|l| l.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let before = lines("context_before");
        let first = n.saturating_sub(before.len() as u64);
        for (i, l) in before.iter().enumerate() {
            println!("{name}-{}-{l}", first + i as u64);
        }
        println!("{name}:{n}:{}", m["line"].as_str().unwrap_or(""));
        for (i, l) in lines("context_after").iter().enumerate() {
            println!("{name}-{}-{l}", n + 1 + i as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_percent_encoded() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
