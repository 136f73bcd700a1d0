//! NetBox for `devicevault import --format netbox`: its device list
//! (`/api/dcim/devices/`), page after page following `next`, read into
//! the import's records by `app::import::parse::netbox_page`.
//!
//! The token goes only to the NetBox named by `--netbox-url`: a `next`
//! link is followed by its path and query on that URL's origin (NetBox
//! behind a proxy often writes `http://` or an inner host name there).

use anyhow::{Context as _, bail};
use devicevault_notify::{Notifier, NotifierConfig, SecretUrl};
use devicevault_pipeline::app::import::{MAX_IMPORT_BYTES, Parsed, parse};

/// Devices asked for per page (NetBox's `MAX_PAGE_SIZE` is 1000 by
/// default; a server with a lower one answers fewer and a `next`).
const PAGE_SIZE: usize = 1000;
/// The most devices read, as many as the largest file import holds.
const MAX_DEVICES: usize = 200_000;

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `scheme://authority` of a URL, and the URL's path and query.
fn split_origin(url: &str) -> anyhow::Result<(&str, &str)> {
    let scheme_end = url
        .find("://")
        .filter(|_| url.starts_with("http://") || url.starts_with("https://"))
        .with_context(|| format!("{url:?}: an http:// or https:// URL"))?;
    let rest = &url[scheme_end + 3..];
    let path_at = rest.find('/').map_or(url.len(), |i| scheme_end + 3 + i);
    Ok((&url[..path_at], &url[path_at..]))
}

/// The first page's URL.
pub fn first_url(base: &str, filters: &[(String, String)]) -> anyhow::Result<String> {
    let (origin, path) = split_origin(base.trim_end_matches('/'))?;
    let mut url = format!("{origin}{path}/api/dcim/devices/?limit={PAGE_SIZE}");
    for (k, v) in filters {
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            bail!(
                "--netbox-filter {k:?}: a NetBox filter name such as status, site, tag, platform"
            );
        }
        url.push_str(&format!("&{k}={}", encode(v)));
    }
    Ok(url)
}

/// Reads every page of the device list.
pub async fn fetch(
    base: &str,
    token: Option<&str>,
    filters: &[(String, String)],
) -> anyhow::Result<Parsed> {
    let (origin, _) = split_origin(base)?;
    let origin = origin.to_owned();
    let notifier = Notifier::new(NotifierConfig::default()).context("set up HTTPS")?;
    let mut headers = Vec::new();
    if let Some(t) = token {
        // NetBox 4.5's v2 tokens are bearer tokens; the older ones `Token`.
        let scheme = if t.starts_with("nbt_") {
            "Bearer"
        } else {
            "Token"
        };
        headers.push(("Authorization", format!("{scheme} {t}")));
    }
    let mut url = first_url(base, filters)?;
    let mut records = Vec::new();
    loop {
        let body = notifier
            .get(&SecretUrl::new(url.clone()), &headers, MAX_IMPORT_BYTES)
            .await
            .with_context(|| format!("read the NetBox devices at {}", origin))?;
        let page = parse::netbox_page(&body, records.len() + 1)
            .map_err(|e| anyhow::anyhow!("NetBox answered something else: {e}"))?;
        records.extend(page.records);
        if records.len() > MAX_DEVICES {
            bail!("NetBox lists more than {MAX_DEVICES} devices; narrow it with --netbox-filter");
        }
        match page.next {
            Some(next) => {
                let (_, path) = split_origin(&next)?;
                url = format!("{origin}{path}");
            }
            None => break,
        }
    }
    Ok(Parsed {
        records,
        skipped: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_url_carries_the_filters_encoded() {
        let u = first_url(
            "https://nb.example.net/",
            &[
                ("status".into(), "active".into()),
                ("site".into(), "ams 1&x".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            u,
            "https://nb.example.net/api/dcim/devices/?limit=1000&status=active&site=ams%201%26x"
        );
        assert!(first_url("https://nb", &[("a=b".into(), "c".into())]).is_err());
        assert!(first_url("ftp://nb", &[]).is_err());
    }
}
