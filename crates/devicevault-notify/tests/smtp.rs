//! Mail delivery against a real SMTP server (aiosmtpd), read back through
//! Python's `email` parser: what arrives, with which headers, and what each
//! kind of server failure means for the outbox.

mod common;

use std::time::{Duration, Instant};

use common::*;
use devicevault_core::{Retry, RetryClass, Timestamp};
use devicevault_notify::{
    Channel, DeliveryError, EmailChannel, MessageContext, NextAttempt, Notifier, NotifierConfig,
    RetryPolicy, SmtpSecurity,
};

fn channel(port: u16, security: SmtpSecurity, auth: Option<(&str, &str)>) -> Channel {
    Channel::Email(EmailChannel {
        // The test certificate names 127.0.0.1, where aiosmtpd listens.
        host: "127.0.0.1".into(),
        port: Some(port),
        security,
        username: auth.map(|a| a.0.to_owned()),
        password: auth.map(|a| a.1.into()),
        from: "DeviceVault <dv@example.com>".into(),
        to: vec!["noc@example.com".into(), "Ops <ops@example.com>".into()],
    })
}

fn ctx() -> MessageContext {
    MessageContext::new(Some("https://dv.example.com"))
}

fn notifier(extra_roots: Option<String>) -> Notifier {
    Notifier::new(NotifierConfig {
        connect_timeout: Duration::from_secs(5),
        delivery_timeout: Duration::from_secs(20),
        extra_root_certificates: extra_roots,
    })
    .unwrap()
}

/// The diff part of a mail body: after the "Diff" heading, up to the
/// signature separator.
fn diff_in(body: &str) -> &str {
    let start = body.find("Diff (secrets masked):\n\n").expect("a diff") + 24;
    let end = body.find("\n-- \n").expect("a signature");
    &body[start..end]
}

#[tokio::test]
async fn a_change_mail_arrives_with_sortable_headers_and_the_real_masked_diff() {
    let smtpd = Smtpd::start(Mode::Accept, Security::Plain, None).await;
    notifier(None)
        .deliver(
            &channel(smtpd.port, SmtpSecurity::None, None),
            &[change_event(42, "r1")],
            &ctx(),
        )
        .await
        .unwrap();
    let msgs = smtpd.messages();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m["mail_from"], "dv@example.com");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["noc@example.com", "ops@example.com"])
    );
    assert_eq!(
        header(m, "Subject"),
        Some("[DeviceVault] config changed: r1")
    );
    assert!(header(m, "From").unwrap().contains("dv@example.com"));
    let to = header(m, "To").unwrap();
    assert!(to.contains("noc@example.com") && to.contains("ops@example.com"));
    assert_eq!(
        header(m, "Message-ID"),
        Some("<devicevault-event-42@dv.example.com>")
    );
    assert_eq!(header(m, "X-DeviceVault-Event"), Some("config_changed"));
    assert_eq!(header(m, "X-DeviceVault-Device"), Some("r1"));
    assert_eq!(header(m, "X-DeviceVault-Event-Id"), Some("42"));
    assert_eq!(header(m, "Auto-Submitted"), Some("auto-generated"));
    let date = time::OffsetDateTime::parse(
        header(m, "Date").unwrap(),
        &time::format_description::well_known::Rfc2822,
    )
    .unwrap();
    let skew = (Timestamp::now().as_datetime() - date).abs();
    assert!(skew < time::Duration::minutes(2), "Date is {date}");
    assert_eq!(m["content_type"], "text/plain");
    assert_eq!(m["charset"], "utf-8");

    let body = m["body"].as_str().unwrap();
    assert!(body.starts_with("The configuration of r1 changed: 2 lines added, 1 removed.\n"));
    assert!(body.contains("Compare:     https://dv.example.com/devices/7/compare?a=118&b=120\n"));
    assert!(body.contains("Changed by:  alice\n"));
    assert!(body.contains("+username bob secret 0 <removed>\n"));
    assert!(body.contains("- description uplink\n+ description uplink to core\n"));
    for secret in SECRETS {
        assert!(
            !m["raw"].as_str().unwrap().contains(secret),
            "{secret} sent"
        );
    }

    // The diff in the mail turns the masked old version into the masked new
    // one, as GNU patch applies it.
    let mask = cisco_mask();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r1.cfg");
    std::fs::write(&file, mask(OLD_CONFIG)).unwrap();
    std::fs::write(dir.path().join("change.diff"), diff_in(body)).unwrap();
    let out = std::process::Command::new("patch")
        .arg("--silent")
        .arg(&file)
        .arg(dir.path().join("change.diff"))
        .output()
        .expect("patch is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), mask(NEW_CONFIG));
}

#[tokio::test]
async fn a_digest_is_one_mail_that_counts_and_lists_its_events() {
    let smtpd = Smtpd::start(Mode::Accept, Security::Plain, None).await;
    let events = [
        failure_event(3, "r3"),
        change_event(1, "r1-Zürich"),
        failure_event(2, "r2"),
    ];
    notifier(None)
        .deliver(
            &channel(smtpd.port, SmtpSecurity::None, None),
            &events,
            &ctx(),
        )
        .await
        .unwrap();
    let msgs = smtpd.messages();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(
        header(m, "Subject"),
        Some("[DeviceVault] 3 events: 2 backup failed, 1 config changed")
    );
    assert_eq!(header(m, "X-DeviceVault-Event"), Some("digest"));
    assert!(
        header(m, "Message-ID")
            .unwrap()
            .starts_with("<devicevault-digest-1-3-3-")
    );
    let body = m["body"].as_str().unwrap();
    assert!(body.contains("1. config changed: r1-Zürich\n"), "{body}");
    assert!(body.contains("2. backup failed: r2\n"));
    assert!(body.contains("3. backup failed: r3\n"));
    assert!(body.contains("+username bob secret 0 <removed>\n"));
}

#[tokio::test]
async fn a_4yz_refusal_is_transient_and_the_next_attempt_delivers_once() {
    let smtpd = Smtpd::start(Mode::RefuseFirst(451), Security::Plain, None).await;
    let n = notifier(None);
    let ch = channel(smtpd.port, SmtpSecurity::None, None);
    let events = [change_event(42, "r1")];

    let err = n.deliver(&ch, &events, &ctx()).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::SmtpReply { code: 451, .. }),
        "{err}"
    );
    assert!(err.is_transient());
    assert!(err.to_string().contains("try again later"), "{err}");
    assert!(smtpd.messages().is_empty());
    let next = RetryPolicy::default().after_failure(1, Timestamp::now(), &err, 42);
    assert!(matches!(next, NextAttempt::At(_)), "{next:?}");

    n.deliver(&ch, &events, &ctx()).await.unwrap();
    assert_eq!(smtpd.messages().len(), 1);
}

#[tokio::test]
async fn a_5yz_refusal_is_permanent_and_the_outbox_gives_up() {
    let smtpd = Smtpd::start(Mode::RefuseFirst(554), Security::Plain, None).await;
    let err = notifier(None)
        .deliver(
            &channel(smtpd.port, SmtpSecurity::None, None),
            &[change_event(42, "r1")],
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::SmtpReply { code: 554, .. }),
        "{err}"
    );
    assert_eq!(err.retry(), Retry::Permanent);
    assert_eq!(
        RetryPolicy::default().after_failure(1, Timestamp::now(), &err, 42),
        NextAttempt::Dead
    );
}

#[tokio::test]
async fn an_unknown_recipient_is_a_permanent_failure() {
    let smtpd = Smtpd::start(Mode::RejectRecipients, Security::Plain, None).await;
    let err = notifier(None)
        .deliver(
            &channel(smtpd.port, SmtpSecurity::None, None),
            &[failure_event(1, "r2")],
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::SmtpReply { code: 550, .. }),
        "{err}"
    );
    assert_eq!(err.retry(), Retry::Permanent);
    assert!(err.to_string().contains("user unknown"), "{err}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_bound() {
    let port = silent_server().await;
    let n = Notifier::new(NotifierConfig {
        connect_timeout: Duration::from_secs(1),
        delivery_timeout: Duration::from_secs(2),
        extra_root_certificates: None,
    })
    .unwrap();
    let started = Instant::now();
    let err = n
        .deliver(
            &channel(port, SmtpSecurity::None, None),
            &[change_event(1, "r1")],
            &ctx(),
        )
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, DeliveryError::Timeout { .. }), "{err}");
    assert!(err.is_transient());
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_closed_port_is_a_transient_connection_failure() {
    let port = free_port();
    let err = notifier(None)
        .deliver(
            &channel(port, SmtpSecurity::None, None),
            &[change_event(1, "r1")],
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(!matches!(err, DeliveryError::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn starttls_with_authentication_delivers_over_an_encrypted_session() {
    let certs = tempfile::tempdir().unwrap();
    let cert = certificate(certs.path());
    let auth = ("devicevault", "correct horse battery");
    let smtpd = Smtpd::start(Mode::Accept, Security::Starttls(cert.clone()), Some(auth)).await;
    let n = notifier(Some(cert.pem()));
    n.deliver(
        &channel(smtpd.port, SmtpSecurity::Starttls, Some(auth)),
        &[change_event(1, "r1")],
        &ctx(),
    )
    .await
    .unwrap();
    let msgs = smtpd.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["tls"], true);
    assert_eq!(msgs[0]["authenticated"], true);

    let err = n
        .deliver(
            &channel(
                smtpd.port,
                SmtpSecurity::Starttls,
                Some(("devicevault", "wrong password")),
            ),
            &[change_event(2, "r1")],
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::SmtpReply { code: 535, .. }),
        "{err}"
    );
    assert_eq!(err.retry(), Retry::Permanent);
    assert!(!format!("{err} {err:?}").contains("wrong password"));
    assert_eq!(smtpd.messages().len(), 1);
}

#[tokio::test]
async fn implicit_tls_delivers() {
    let certs = tempfile::tempdir().unwrap();
    let cert = certificate(certs.path());
    let smtpd = Smtpd::start(Mode::Accept, Security::Smtps(cert.clone()), None).await;
    notifier(Some(cert.pem()))
        .deliver(
            &channel(smtpd.port, SmtpSecurity::Tls, None),
            &[failure_event(1, "r2")],
            &ctx(),
        )
        .await
        .unwrap();
    let msgs = smtpd.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["tls"], true);
    assert_eq!(
        header(&msgs[0], "Subject"),
        Some("[DeviceVault] backup failed: r2")
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_permanent_tls_failure() {
    let certs = tempfile::tempdir().unwrap();
    let cert = certificate(certs.path());
    let smtpd = Smtpd::start(Mode::Accept, Security::Starttls(cert), None).await;
    let err = notifier(None)
        .deliver(
            &channel(smtpd.port, SmtpSecurity::Starttls, None),
            &[change_event(1, "r1")],
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Tls { .. }), "{err}");
    assert_eq!(err.retry(), Retry::Permanent, "{err}");
    assert!(smtpd.messages().is_empty());
}

#[tokio::test]
async fn requiring_starttls_from_a_server_without_it_fails_permanently() {
    let smtpd = Smtpd::start(Mode::Accept, Security::Plain, None).await;
    let err = notifier(None)
        .deliver(
            &channel(smtpd.port, SmtpSecurity::Starttls, None),
            &[change_event(1, "r1")],
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.retry(), Retry::Permanent, "{err}");
    assert!(err.to_string().contains("STARTTLS"), "{err}");
    assert!(smtpd.messages().is_empty());
}
