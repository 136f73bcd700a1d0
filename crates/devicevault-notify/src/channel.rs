//! Where notifications go: the channel configurations a rule points at.
//!
//! These are stored as JSON (`{"type": "email", …}`), so the field names are
//! stable. Everything that grants access — the SMTP password, the webhook
//! signing secret, and the Slack and Teams URLs, which are bearer
//! credentials themselves — is redacted in `Debug`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DeliveryError;

/// A credential: serialised as is (it must reach the database), never shown
/// by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret::new(s)
    }
}

/// A URL that may carry a credential in its path or query (Slack and Teams
/// incoming webhooks do). `Debug` and [`SecretUrl::redacted`] show only the
/// scheme and authority.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(s: impl Into<String>) -> SecretUrl {
        SecretUrl(s.into())
    }

    /// The whole URL, for the request.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `https://hooks.slack.com/…`: safe for logs and error messages.
    pub fn redacted(&self) -> String {
        match self.0.parse::<::http::Uri>() {
            // Host and port only: the authority may carry `user:password@`.
            Ok(u) => match (u.scheme_str(), u.authority()) {
                (Some(s), Some(a)) => match a.port_u16() {
                    Some(p) => format!("{s}://{}:{p}/…", a.host()),
                    None => format!("{s}://{}/…", a.host()),
                },
                _ => "<invalid URL>".to_owned(),
            },
            Err(_) => "<invalid URL>".to_owned(),
        }
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
    }
}

impl From<&str> for SecretUrl {
    fn from(s: &str) -> SecretUrl {
        SecretUrl::new(s)
    }
}

/// A destination for notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Channel {
    /// Mail over SMTP: one message per event, or one digest for several.
    Email(EmailChannel),
    /// A JSON POST per event, signed with HMAC-SHA256 (see
    /// [`crate::webhook`]).
    Webhook { url: SecretUrl, secret: Secret },
    /// A Slack incoming webhook (Block Kit message).
    Slack { url: SecretUrl },
    /// A Microsoft Teams incoming webhook or Workflows "when a webhook
    /// request is received" URL (Adaptive Card message).
    Teams { url: SecretUrl },
}

impl Channel {
    /// `email`, `webhook`, `slack` or `teams`.
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Email(_) => "email",
            Channel::Webhook { .. } => "webhook",
            Channel::Slack { .. } => "slack",
            Channel::Teams { .. } => "teams",
        }
    }

    /// Checks what can be checked without the network: addresses parse,
    /// URLs are http(s) with a host, no password over an unencrypted
    /// connection. The API calls this when a channel is saved; delivery
    /// calls it too, and a failure is permanent.
    pub fn validate(&self) -> Result<(), DeliveryError> {
        match self {
            Channel::Email(e) => e.validate(),
            Channel::Webhook { url, secret } => {
                if secret.expose().len() < 16 {
                    return Err(DeliveryError::Config(
                        "the webhook secret must be at least 16 characters".into(),
                    ));
                }
                crate::target::Target::parse(url).map(drop)
            }
            Channel::Slack { url } | Channel::Teams { url } => {
                crate::target::Target::parse(url).map(drop)
            }
        }
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (default
    /// port 587).
    Starttls,
    /// TLS from the first byte, "SMTPS" (default port 465).
    Tls,
    /// No encryption (default port 25): only for a relay on the same host
    /// or network segment. No password is sent over it.
    None,
}

/// An SMTP server and the addresses of a mail channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChannel {
    /// Server host name; also the name its certificate must carry.
    pub host: String,
    /// Defaults to 587, 465 or 25 after `security`.
    #[serde(default)]
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    /// Sign in (AUTH PLAIN or LOGIN) when set.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// The sender, e.g. `DeviceVault <devicevault@example.com>`.
    pub from: String,
    /// Recipients; each gets the same message.
    pub to: Vec<String>,
}

impl EmailChannel {
    /// The port, explicit or the default for the security mode.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }

    /// `host:port`, for messages.
    pub fn target(&self) -> String {
        format!("{}:{}", self.host, self.port())
    }

    fn validate(&self) -> Result<(), DeliveryError> {
        let bad = |m: String| Err(DeliveryError::Config(m));
        if self.host.is_empty() || self.host.chars().any(|c| c.is_whitespace() || c == '/') {
            return bad(format!("invalid SMTP host {:?}", self.host));
        }
        if self.to.is_empty() {
            return bad("a mail channel needs at least one recipient".into());
        }
        for a in std::iter::once(&self.from).chain(&self.to) {
            if a.parse::<lettre::message::Mailbox>().is_err() {
                return bad(format!("invalid mail address {a:?}"));
            }
        }
        match (&self.username, &self.password) {
            (Some(_), None) | (None, Some(_)) => {
                return bad("SMTP username and password go together".into());
            }
            (Some(_), Some(_)) if self.security == SmtpSecurity::None => {
                return bad(
                    "refusing to send an SMTP password over an unencrypted connection: use starttls or tls"
                        .into(),
                );
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> EmailChannel {
        EmailChannel {
            host: "smtp.example.com".into(),
            port: None,
            security: SmtpSecurity::Starttls,
            username: Some("dv".into()),
            password: Some("hunter2-smtp".into()),
            from: "DeviceVault <dv@example.com>".into(),
            to: vec!["noc@example.com".into()],
        }
    }

    #[test]
    fn debug_output_never_shows_a_credential() {
        let channels = [
            Channel::Email(mail()),
            Channel::Webhook {
                url: "https://hooks.example.com/in?token=tok-in-query".into(),
                secret: "whsec-very-secret-value".into(),
            },
            Channel::Slack {
                url: "https://hooks.slack.com/services/T000/B000/slacktoken".into(),
            },
            Channel::Teams {
                url: "https://prod-1.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=teamssig".into(),
            },
        ];
        let shown = format!("{channels:?}");
        for secret in [
            "hunter2-smtp",
            "tok-in-query",
            "whsec-very-secret-value",
            "slacktoken",
            "T000",
            "teamssig",
            "workflows",
        ] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
        assert!(shown.contains("https://hooks.slack.com/…"), "{shown}");
        assert!(
            shown.contains("prod-1.westus.logic.azure.com:443"),
            "{shown}"
        );
    }

    #[test]
    fn channels_are_stored_as_tagged_json_with_stable_names() {
        let c = Channel::Email(mail());
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["type"], "email");
        assert_eq!(v["security"], "starttls");
        assert_eq!(v["password"], "hunter2-smtp");
        assert_eq!(serde_json::from_value::<Channel>(v).unwrap(), c);
        let w: Channel =
            serde_json::from_str(r#"{"type":"slack","url":"https://hooks.slack.com/services/x"}"#)
                .unwrap();
        assert_eq!(w.kind(), "slack");
        let unknown = r#"{"type":"slack","url":"https://h/x","colour":"red"}"#;
        assert!(serde_json::from_str::<Channel>(unknown).is_err());
        let unknown_mail = r#"{"type":"email","host":"h","security":"tls","from":"a@b.c","to":["d@e.f"],"pasword":"x"}"#;
        assert!(serde_json::from_str::<Channel>(unknown_mail).is_err());
    }

    #[test]
    fn validation_refuses_what_cannot_work() {
        assert!(Channel::Email(mail()).validate().is_ok());
        let mut plain = mail();
        plain.security = SmtpSecurity::None;
        let err = Channel::Email(plain).validate().unwrap_err();
        assert!(err.to_string().contains("unencrypted"), "{err}");
        let mut no_to = mail();
        no_to.to.clear();
        assert!(Channel::Email(no_to).validate().is_err());
        let mut bad_from = mail();
        bad_from.from = "not an address".into();
        assert!(Channel::Email(bad_from).validate().is_err());
        let short = Channel::Webhook {
            url: "https://example.com/hook".into(),
            secret: "short".into(),
        };
        assert!(short.validate().is_err());
        for url in ["ftp://example.com/x", "example.com/x", "https:///x", ""] {
            let c = Channel::Slack { url: url.into() };
            assert!(c.validate().is_err(), "{url} accepted");
        }
        assert!(
            Channel::Teams {
                url: "http://127.0.0.1:8080/hook".into()
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn default_ports_follow_the_security_mode() {
        let mut m = mail();
        assert_eq!(m.port(), 587);
        m.security = SmtpSecurity::Tls;
        assert_eq!(m.port(), 465);
        m.port = Some(2525);
        assert_eq!(m.target(), "smtp.example.com:2525");
    }
}
