//! The HTTPS API input against simulated devices serving their platform's
//! API over TLS on loopback: PAN-OS's XML API and FortiOS's REST API.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use devicevault_collect::{
    CollectError, CollectOptions, DeviceTarget, DriverSet, JumpTarget, KnownHosts,
    cert_fingerprint, collect,
};
use devicevault_core::{Retry, RetryClass};
use devicevault_sim::{Faults, SimConfig, SimDevice, Simulator};

async fn sim(platform: &str) -> Simulator {
    // A password that needs URL encoding in PAN-OS's keygen form; FortiOS's
    // is an API token, which is ASCII (it goes in a header as it is).
    let password = if platform.starts_with("paloalto") {
        "pa55word&=/é"
    } else {
        "q8Gx3kd7Nf1wHc5tZj0m2bRy4sVp9L"
    };
    Simulator::start(SimConfig {
        devices: 1,
        platforms: vec![platform.to_owned()],
        password: password.into(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// The device's login; FortiOS's REST API token (the simulator's is the
/// device password) as the credential's API key.
fn target(d: &SimDevice) -> DeviceTarget {
    let mut t = DeviceTarget::password(
        "127.0.0.1",
        d.port(),
        d.username(),
        d.password(),
        d.platform(),
    );
    if d.platform() == "fortinet_fortios_api" {
        t.api_key = Some(d.password().into());
    }
    t
}

fn opts(kh: Arc<KnownHosts>) -> CollectOptions {
    let mut o = CollectOptions::new(kh);
    o.connect_timeout = Duration::from_secs(10);
    o.command_timeout = Duration::from_secs(20);
    o.job_timeout = Duration::from_secs(60);
    o
}

fn memory() -> CollectOptions {
    opts(Arc::new(KnownHosts::in_memory()))
}

fn fingerprint(d: &SimDevice) -> String {
    cert_fingerprint(
        &d.certificate_der()
            .expect("an HTTPS device has a certificate"),
    )
}

#[tokio::test]
async fn panos_api_backs_up_the_restorable_xml_export_and_pins_the_certificate() {
    let s = sim("paloalto_panos_api").await;
    let d = &s.devices()[0];
    let kh = Arc::new(KnownHosts::in_memory());
    let got = collect(&target(d), &DriverSet::builtin(), &opts(kh.clone()))
        .await
        .unwrap();
    let text = String::from_utf8(got.config).unwrap();
    assert_eq!(text.lines().collect::<Vec<_>>(), d.stable_config_lines());
    assert!(
        text.starts_with("<?xml version=\"1.0\"?>\n<config "),
        "{text}"
    );
    assert!(text.ends_with("</config>\n"));
    assert_eq!(
        kh.pinned_certificate("127.0.0.1", d.port()),
        Some(fingerprint(d))
    );
    assert_eq!(
        kh.pinned_fingerprint("127.0.0.1", d.port()),
        None,
        "no SSH pin"
    );
    // A change on the device is in the next backup.
    d.change_config();
    let again = collect(&target(d), &DriverSet::builtin(), &opts(kh))
        .await
        .unwrap();
    assert!(
        String::from_utf8(again.config)
            .unwrap()
            .contains("link-0 rev1")
    );
}

#[tokio::test]
async fn fortios_api_stores_re_encrypted_secrets_but_they_make_no_new_version() {
    let s = sim("fortinet_fortios_api").await;
    let d = &s.devices()[0];
    d.set_reencrypt_secrets(true);
    let drivers = DriverSet::builtin();
    let o = memory();
    let a = collect(&target(d), &drivers, &o).await.unwrap();
    let b = collect(&target(d), &drivers, &o).await.unwrap();
    let text = String::from_utf8(a.config.clone()).unwrap();
    assert!(text.contains("set psksecret ENC "), "{text}");
    assert!(!text.contains("#conf_file_ver="), "volatile lines filtered");
    assert_ne!(a.config, b.config, "stored as the device printed them");
    assert!(a.change_key.is_some());
    assert_eq!(a.change_key, b.change_key);
    assert_eq!(a.author.as_deref(), Some("admin"));
    d.change_config();
    let c = collect(&target(d), &drivers, &o).await.unwrap();
    assert_ne!(c.change_key, a.change_key, "a real change is a new version");
    assert_eq!(c.author.as_deref(), Some("netops"));
}

#[tokio::test]
async fn a_wrong_password_or_token_is_refused_permanently_without_showing_it() {
    for platform in ["paloalto_panos_api", "fortinet_fortios_api"] {
        let s = sim(platform).await;
        let d = &s.devices()[0];
        let mut t = target(d);
        if t.api_key.is_some() {
            t.api_key = Some("Wr0ng-S3cret".into());
        } else {
            t.credential = devicevault_collect::Credential::Password("Wr0ng-S3cret".into());
        }
        let err = collect(&t, &DriverSet::builtin(), &memory())
            .await
            .unwrap_err();
        let CollectError::HttpStatus { status, .. } = &err else {
            panic!("{platform}: {err}");
        };
        assert!(matches!(status, 401 | 403), "{platform}: {err}");
        assert_eq!(err.retry(), Retry::Permanent, "{platform}");
        let msg = err.to_string();
        assert!(msg.contains("authentication refused"), "{platform}: {msg}");
        assert!(!msg.contains("Wr0ng-S3cret"), "{platform}: {msg}");
        assert!(!msg.contains("?"), "no query in the message: {msg}");
    }
    // PAN-OS says why in its XML answer.
    let s = sim("paloalto_panos_api").await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        reject_password: true,
        ..Faults::default()
    });
    let err = collect(&target(d), &DriverSet::builtin(), &memory())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Invalid Credential"), "{err}");
    assert!(err.to_string().contains("403 to POST /api/"), "{err}");
}

#[tokio::test]
async fn a_changed_certificate_is_a_permanent_mismatch_naming_both_and_ssh_pins_stay() {
    let s = sim("paloalto_panos_api").await;
    let d = &s.devices()[0];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known_hosts");
    let kh = Arc::new(KnownHosts::open(&file).unwrap());
    collect(&target(d), &DriverSet::builtin(), &opts(kh.clone()))
        .await
        .unwrap();
    let first = fingerprint(d);
    // An SSH pin of the same host:port, as a device serving both would have.
    let ssh_key = russh::keys::PrivateKey::from(
        russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&[7; 32]),
    );
    kh.check("127.0.0.1", d.port(), ssh_key.public_key())
        .unwrap();
    let ssh_pin = kh.pinned_fingerprint("127.0.0.1", d.port());

    d.rotate_certificate();
    let second = fingerprint(d);
    assert_ne!(first, second);
    // The pin survives a restart of the collector.
    let reloaded = Arc::new(KnownHosts::open(&file).unwrap());
    let sessions = d.sessions();
    let err = collect(&target(d), &DriverSet::builtin(), &opts(reloaded.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CollectError::CertificateMismatch { .. }),
        "{err}"
    );
    assert_eq!(err.retry(), Retry::Permanent);
    let msg = err.to_string();
    assert!(msg.contains(&first) && msg.contains(&second), "{msg}");
    assert!(msg.contains(&file.display().to_string()), "{msg}");
    assert_eq!(d.sessions(), sessions, "nothing was asked of the device");
    assert_eq!(reloaded.pinned_fingerprint("127.0.0.1", d.port()), ssh_pin);
    assert_eq!(
        reloaded.pinned_certificate("127.0.0.1", d.port()),
        Some(first)
    );
}

#[tokio::test]
async fn a_server_error_is_transient() {
    let s = sim("fortinet_fortios_api").await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        http_status: Some(500),
        ..Faults::default()
    });
    let err = collect(&target(d), &DriverSet::builtin(), &memory())
        .await
        .unwrap_err();
    assert!(
        matches!(err, CollectError::HttpStatus { status: 500, .. }),
        "{err}"
    );
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("internal error"), "{err}");
    d.set_faults(Faults::default());
    collect(&target(d), &DriverSet::builtin(), &memory())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_answer_above_the_size_limit_is_refused_permanently() {
    let s = Simulator::start(SimConfig {
        devices: 1,
        platforms: vec!["paloalto_panos_api".into()],
        config_lines: 2000,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let d = &s.devices()[0];
    let mut t = target(d);
    t.max_config_bytes = Some(20_000);
    let err = collect(&t, &DriverSet::builtin(), &memory())
        .await
        .unwrap_err();
    let CollectError::OutputTooLarge { limit, command, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!((*limit, command.as_str()), (20_000, "POST /api/"));
    assert_eq!(err.retry(), Retry::Permanent);
}

#[tokio::test]
async fn a_cut_off_export_is_incomplete() {
    let s = sim("paloalto_panos_api").await;
    let d = &s.devices()[0];
    let whole = d.running_config();
    d.set_faults(Faults {
        truncate_after_bytes: Some(whole.len() / 2),
        ..Faults::default()
    });
    let err = collect(&target(d), &DriverSet::builtin(), &memory())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::Incomplete { .. }), "{err}");
    assert!(err.to_string().contains("POST /api/; POST /api/"), "{err}");
}

/// A user driver directory holding `name.toml` with `text`.
fn user_drivers(dir: &Path, name: &str, text: &str) -> DriverSet {
    std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
    DriverSet::with_user_dir(dir).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn an_answer_without_the_extracted_value_names_it_and_hides_the_password() {
    let s = sim("paloalto_panos_api").await;
    let d = &s.devices()[0];
    let dir = tempfile::tempdir().unwrap();
    let builtin = include_str!("../drivers/paloalto_panos_api.toml");
    let drivers = user_drivers(
        dir.path(),
        "paloalto_panos_api",
        &builtin.replace("/response/result/key", "/response/result/token"),
    );
    let err = collect(&target(d), &drivers, &memory()).await.unwrap_err();
    assert!(matches!(err, CollectError::ApiAnswer { .. }), "{err}");
    assert_eq!(err.retry(), Retry::Permanent);
    let msg = err.to_string();
    assert!(msg.contains("`/response/result/token`"), "{msg}");
    assert!(
        msg.contains("status = 'success'"),
        "the answer's start: {msg}"
    );
    assert!(!msg.contains(d.password()), "{msg}");
}

#[tokio::test]
async fn with_a_ca_file_the_certificate_is_verified_instead_of_pinned() {
    let s = sim("fortinet_fortios_api").await;
    let d = &s.devices()[0];
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("device-ca.pem");
    std::fs::write(&ca, d.certificate_pem().unwrap()).unwrap();
    let drivers_dir = dir.path().join("drivers");
    std::fs::create_dir(&drivers_dir).unwrap();
    let builtin = include_str!("../drivers/fortinet_fortios_api.toml");
    let text = builtin.replacen(
        "input = \"https\"",
        &format!("input = \"https\"\nca_file = '{}'", ca.display()),
        1,
    );
    let drivers = user_drivers(&drivers_dir, "fortinet_fortios_api", &text);
    let kh = Arc::new(KnownHosts::in_memory());
    collect(&target(d), &drivers, &opts(kh.clone()))
        .await
        .unwrap();
    assert_eq!(kh.pinned_certificate("127.0.0.1", d.port()), None);
    // A certificate the CA did not issue is refused, permanently.
    d.rotate_certificate();
    let err = collect(&target(d), &drivers, &opts(kh)).await.unwrap_err();
    assert!(matches!(err, CollectError::Tls { .. }), "{err}");
    assert_eq!(err.retry(), Retry::Permanent);
}

#[tokio::test]
async fn fortios_without_an_api_key_fails_permanently_naming_the_credential_before_any_request() {
    let s = sim("fortinet_fortios_api").await;
    let d = &s.devices()[0];
    let mut t = target(d);
    t.api_key = None;
    t.credential_name = "fortigate-lab".into();
    let kh = Arc::new(KnownHosts::in_memory());
    let err = collect(&t, &DriverSet::builtin(), &opts(kh.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::MissingSecret { .. }), "{err}");
    assert_eq!(err.retry(), Retry::Permanent);
    let msg = err.to_string();
    assert!(
        msg.contains("credential `fortigate-lab` has no API key"),
        "{msg}"
    );
    assert!(
        msg.contains("`{api_key}` in GET /api/v2/monitor/system/config/backup"),
        "{msg}"
    );
    assert!(!msg.contains(d.password()), "{msg}");
    assert_eq!(
        kh.pinned_certificate("127.0.0.1", d.port()),
        None,
        "no connection was made"
    );
    // An empty key is none.
    t.api_key = Some("".into());
    let err = collect(&t, &DriverSet::builtin(), &memory())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::MissingSecret { .. }), "{err}");
}

#[tokio::test]
async fn panos_uses_a_stored_api_key_instead_of_making_one() {
    let s = sim("paloalto_panos_api").await;
    let d = &s.devices()[0];
    // The key the device's keygen makes for this user, fetched once as a
    // person would (a user driver whose configuration is the key).
    let dir = tempfile::tempdir().unwrap();
    let keygen = user_drivers(
        dir.path(),
        "panos_keygen",
        r#"name = "panos_keygen"
description = "PAN-OS keygen only"
input = "https"
[[requests]]
method = "POST"
path = "/api/"
form = { type = "keygen", user = "{username}", password = "{password}" }
config = { xml = "/response/result/key" }
[complete]
check = false
reason = "a key, not a configuration"
"#,
    );
    let mut t = target(d);
    t.driver = "panos_keygen".into();
    let key = collect(&t, &keygen, &memory()).await.unwrap().config;
    let key = String::from_utf8(key).unwrap().trim().to_owned();
    assert!(key.starts_with("LUFRPT1"), "{key}");

    // With the stored key, the password is not sent: a wrong one changes
    // nothing, and a credential with no password at all works too.
    let mut t = target(d);
    t.api_key = Some(key.clone().into());
    t.credential = devicevault_collect::Credential::Password("Wr0ng-S3cret".into());
    let got = collect(&t, &DriverSet::builtin(), &memory()).await.unwrap();
    let text = String::from_utf8(got.config).unwrap();
    assert_eq!(text.lines().collect::<Vec<_>>(), d.stable_config_lines());
    t.credential = devicevault_collect::Credential::Password("".into());
    collect(&t, &DriverSet::builtin(), &memory()).await.unwrap();

    // A stored key the device refuses is refused, without showing it.
    t.api_key = Some("LUFRPT1-revoked".into());
    let err = collect(&t, &DriverSet::builtin(), &memory())
        .await
        .unwrap_err();
    let CollectError::HttpStatus { status, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(*status, 403, "{err}");
    assert!(!err.to_string().contains("LUFRPT1-revoked"), "{err}");

    // Neither a key nor a password: the keygen cannot run.
    t.api_key = None;
    t.credential_name = "panos-lab".into();
    let err = collect(&t, &DriverSet::builtin(), &memory())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::MissingSecret { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("credential `panos-lab` has no password, which `{password}` in POST /api/"),
        "{err}"
    );
}

#[tokio::test]
async fn a_jump_host_is_refused_and_a_key_credential_sends_only_its_api_key() {
    let s = sim("fortinet_fortios_api").await;
    let d = &s.devices()[0];
    let mut t = target(d);
    t.jump = Some(JumpTarget {
        host: "127.0.0.1".into(),
        port: 1,
        username: "jump".into(),
        credential: devicevault_collect::Credential::Password("x".into()),
    });
    let err = collect(&t, &DriverSet::builtin(), &memory())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("jump host"), "{err}");
    assert_eq!(err.retry(), Retry::Permanent);
    // A key credential has no password to send; its API key alone is
    // what the FortiOS driver needs.
    let key = devicevault_collect::Credential::Key {
        pem: "-----BEGIN OPENSSH PRIVATE KEY-----".into(),
        passphrase: None,
    };
    let mut t = target(d);
    t.credential = key.clone();
    collect(&t, &DriverSet::builtin(), &memory()).await.unwrap();
    let p = sim("paloalto_panos_api").await;
    let mut t = target(&p.devices()[0]);
    t.credential = key;
    let err = collect(&t, &DriverSet::builtin(), &memory())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::MissingSecret { .. }), "{err}");
    assert!(err.to_string().contains("has no password"), "{err}");
}

#[tokio::test]
async fn a_closed_port_is_a_transient_connect_error() {
    let s = sim("fortinet_fortios_api").await;
    let d = s.devices()[0].clone();
    let t = target(&d);
    drop(s);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = collect(&t, &DriverSet::builtin(), &memory())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
}
