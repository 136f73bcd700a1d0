//! A webhook's URL, checked: what `Channel::validate` checks without the
//! network, and what the HTTPS transport connects to.

use ::http::Uri;

use crate::channel::SecretUrl;
use crate::error::DeliveryError;

/// A parsed webhook URL.
// Without `delivery` only `parse`'s verdict is used.
#[cfg_attr(not(feature = "delivery"), allow(dead_code))]
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) https: bool,
    /// Without IPv6 brackets, for connecting and for SNI.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `host[:port]` as written, for the `Host` header.
    pub(crate) authority: String,
    pub(crate) path_and_query: String,
    /// Scheme and authority only.
    pub(crate) redacted: String,
}

impl Target {
    pub(crate) fn parse(url: &SecretUrl) -> Result<Target, DeliveryError> {
        let bad =
            |why: &str| DeliveryError::Config(format!("webhook URL {}: {why}", url.redacted()));
        let uri: Uri = url.expose().parse().map_err(|_| bad("not a valid URL"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad("must start with https:// or http://")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("user information in the URL is not supported"));
        }
        let host = authority.host().trim_matches(['[', ']']).to_owned();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Target {
            https,
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            authority: authority.as_str().to_owned(),
            path_and_query: uri
                .path_and_query()
                .map_or("/".to_owned(), |p| p.as_str().to_owned()),
            redacted: url.redacted(),
            host,
        })
    }
}
