//! Real SSH over loopback: the collector against simulated devices.

use std::sync::Arc;
use std::time::{Duration, Instant};

use devicevault_collect::{
    CollectError, CollectOptions, Collected, DeviceTarget, DriverSet, KnownHosts, collect,
};
use devicevault_core::{Retry, RetryClass};
use devicevault_sim::{DATE_BOUNDARIES, Faults, SimClock, SimConfig, SimDevice, Simulator};

async fn sim(platform: &str, devices: usize) -> Simulator {
    Simulator::start(SimConfig {
        devices,
        platforms: vec![platform.to_owned()],
        password: "pa55word".into(),
        enable_secret: "en4ble".into(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// The configuration text a backup holds: the text itself, or for a
/// binary one (BIG-IP's UCS, a gzip'd tar) its `config/bigip.conf`.
fn text_of(c: Collected) -> String {
    use std::io::Read as _;
    if !c.binary {
        return String::from_utf8(c.config).unwrap();
    }
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(c.config.as_slice())
        .read_to_end(&mut tar)
        .unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str() == Some("config/bigip.conf") {
            let mut text = String::new();
            e.read_to_string(&mut text).unwrap();
            return text;
        }
    }
    panic!("a binary backup without config/bigip.conf")
}

fn target(d: &SimDevice) -> DeviceTarget {
    let mut t = DeviceTarget::password(
        "127.0.0.1",
        d.port(),
        d.username(),
        d.password(),
        d.platform(),
    );
    t.enable_secret = Some(d.enable_secret().into());
    // FortiOS's REST API takes the credential's API key (the simulator's
    // token is its password).
    if d.platform() == "fortinet_fortios_api" {
        t.api_key = Some(d.password().into());
    }
    t
}

/// Waits (bounded) until the device has no open shell: the collector must
/// not leave a connection behind after a failure.
async fn assert_no_session_left(d: &SimDevice) {
    for _ in 0..100 {
        if d.open_shells() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} shell(s) still open on {}", d.open_shells(), d.name());
}

fn opts() -> CollectOptions {
    let mut o = CollectOptions::new(Arc::new(KnownHosts::in_memory()));
    o.connect_timeout = Duration::from_secs(10);
    o.command_timeout = Duration::from_secs(20);
    o.job_timeout = Duration::from_secs(60);
    o
}

/// The instants the dated tests run at: every date boundary, then the
/// system's now (`None`).
fn instants() -> impl Iterator<Item = Option<&'static str>> {
    DATE_BOUNDARIES.into_iter().map(Some).chain([None])
}

/// Sets the device's clock to `at` (`None`: follow the system clock).
fn set_clock(d: &SimDevice, at: Option<&str>) {
    match at {
        Some(t) => d.clock().set(SimClock::at(t).unwrap().now()),
        None => d.clock().follow_system(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builtin_driver_collects_from_its_platform_with_filters_applied() {
    let drivers = DriverSet::builtin();
    for name in DriverSet::builtin_names() {
        let s = sim(name, 1).await;
        let d = &s.devices()[0];
        let o = opts();
        // A binary backup (BIG-IP's UCS) is read through its archive; the
        // device saved it without the volatile lines, no filter ran.
        let binary = drivers.get(name).unwrap().binary;
        for at in instants() {
            set_clock(d, at);
            let when = at.unwrap_or("now");
            let plain = collect(&target(d), &drivers, &o)
                .await
                .unwrap_or_else(|e| panic!("{name} at {when}: {e}"));
            assert_eq!(plain.binary, binary, "{name}");
            let text = text_of(plain);
            // The body is there, in order, without prompt, echo or pager debris.
            for needle in ["link-0 rev0", "link-1 rev0"] {
                assert!(
                    text.contains(needle),
                    "{name}: `{needle}` missing from:\n{text}"
                );
            }
            assert!(
                !text.contains("--More--")
                    && !text.contains("MORE")
                    && !text.contains('\r')
                    && !text.contains('\x1b'),
                "{name}: debris in:\n{text}"
            );
            // Exactly the device's lines minus the volatile ones, in order:
            // a volatile line kept (a filter that misses this instant's date)
            // or a stable line dropped both show here. The simulator tags its
            // volatile lines where it prints them.
            let printed = d.running_config_lines();
            let has_filters = !drivers.get(name).unwrap().remove_lines.is_empty();
            assert_eq!(
                has_filters || binary,
                printed.iter().any(|l| l.volatile),
                "{name}: the driver's filters and the platform's volatile lines disagree"
            );
            let mut kept: Vec<String> = printed
                .into_iter()
                .filter(|l| !l.volatile)
                .map(|l| l.text)
                .collect();
            // Blank lines just before the prompt are not part of the backup; an
            // exec channel has no prompt and returns the output byte for byte.
            while kept.last().is_some_and(String::is_empty) && !drivers.get(name).unwrap().exec {
                kept.pop();
            }
            let got: Vec<&str> = text.lines().collect();
            let first_diff = got.iter().zip(&kept).position(|(a, b)| a != b);
            assert!(
                got.len() == kept.len() && first_diff.is_none(),
                "{name} at {when}: body differs at line {first_diff:?}: got {:?}, expected {:?} ({} vs {} lines)",
                first_diff.map(|i| got[i]),
                first_diff.map(|i| &kept[i]),
                got.len(),
                kept.len()
            );
        }
        d.clock().follow_system();

        let token = d.secret_token();
        let text = text_of(collect(&target(d), &drivers, &o).await.unwrap());
        if binary {
            // Bytes are never masked: asked or not, the archive is whole.
            let mut t = target(d);
            t.remove_secrets = true;
            let asked = text_of(collect(&t, &drivers, &o).await.unwrap());
            assert!(text.contains(&token) && asked == text, "{name}");
        } else if !drivers.get(name).unwrap().secrets.is_empty() {
            // A platform whose driver masks nothing prints no secret (a
            // Linux file; FXOS, which never prints one back).
            assert!(
                text.contains(&token),
                "{name}: secrets masked although not asked"
            );
            let mut t = target(d);
            t.remove_secrets = true;
            let masked =
                String::from_utf8(collect(&t, &drivers, &o).await.unwrap().config).unwrap();
            assert!(
                !masked.contains(&token),
                "{name}: a secret survived masking:\n{masked}"
            );
            assert!(masked.contains("<removed>"), "{name}: no masking marker");
        }
    }
}

#[tokio::test]
async fn an_unchanged_device_collected_twice_gives_byte_identical_backups_and_a_change_shows() {
    let s = sim("cisco_ios", 1).await;
    let d = &s.devices()[0];
    let drivers = DriverSet::builtin();
    let o = opts();
    let a = collect(&target(d), &drivers, &o).await.unwrap().config;
    let b = collect(&target(d), &drivers, &o).await.unwrap().config;
    assert_eq!(a, b);
    assert_eq!(d.sessions(), 2);
    assert_no_session_left(d).await;
    d.change_config();
    let c = collect(&target(d), &drivers, &o).await.unwrap().config;
    assert_ne!(a, c);
}

#[tokio::test]
async fn a_wrong_password_is_a_permanent_authentication_failure_naming_the_device() {
    let s = sim("cisco_ios", 1).await;
    let d = &s.devices()[0];
    let mut t = target(d);
    t.credential = devicevault_collect::Credential::Password("wrong".into());
    let err = collect(&t, &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert_eq!(err.retry(), Retry::Permanent);
    assert_eq!(
        err.to_string(),
        format!("authentication failed for admin@127.0.0.1:{}", d.port())
    );
}

#[tokio::test]
async fn a_device_rejecting_every_password_fails_authentication() {
    let s = sim("arista_eos", 1).await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        reject_password: true,
        ..Faults::default()
    });
    let err = collect(&target(d), &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::AuthFailed { .. }), "{err}");
}

#[tokio::test]
async fn enable_refused_is_permanent_and_says_so() {
    let s = sim("cisco_ios", 1).await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        refuse_enable: true,
        ..Faults::default()
    });
    let err = collect(&target(d), &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::EnableRefused { .. }), "{err}");
    assert!(!err.is_transient());
    assert!(err.to_string().contains("Access denied"), "{err}");
    assert_no_session_left(d).await;
}

#[tokio::test]
async fn every_platform_with_an_enable_step_reports_its_own_refusal() {
    // Each refusal as the platform prints it, quoted in the error: the
    // driver's `enable.failure` knows the text.
    for (platform, refusal) in [
        ("cisco_ios", "% Access denied"),
        ("arista_eos", "% Access denied"),
        ("cisco_asa", "Invalid password"),
        ("hp_procurve", "Invalid password"),
        ("ruckus_fastiron", "Error - Incorrect username or password."),
        ("dell_os9", "% Error: Bad passwords"),
        ("alliedtelesis_awplus", "% Access denied"),
        ("aruba_os", "Invalid password"),
        (
            "brocade_ironware",
            "Error - Incorrect username or password.",
        ),
        ("a10_acos", "% Incorrect password"),
        // VOSS and Onyx ask for no secret: a refusal is the account's level.
        ("extreme_voss", "% Permission denied"),
        ("nvidia_onyx", "% Permission denied"),
    ] {
        let s = sim(platform, 1).await;
        let d = &s.devices()[0];
        d.set_faults(Faults {
            refuse_enable: true,
            ..Faults::default()
        });
        let err = collect(&target(d), &DriverSet::builtin(), &opts())
            .await
            .unwrap_err();
        assert!(
            matches!(err, CollectError::EnableRefused { .. }),
            "{platform}: {err}"
        );
        assert!(err.to_string().contains(refusal), "{platform}: {err}");
        assert_no_session_left(d).await;
    }
}

#[tokio::test]
async fn a_missing_enable_secret_is_reported_as_such() {
    let s = sim("cisco_asa", 1).await;
    let d = &s.devices()[0];
    let mut t = target(d);
    t.enable_secret = None;
    let err = collect(&t, &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("none is configured"), "{err}");
}

#[tokio::test]
async fn a_device_that_hangs_mid_output_times_out_transiently_within_the_command_timeout() {
    let s = sim("cisco_ios", 1).await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        hang_after_bytes: Some(500),
        ..Faults::default()
    });
    let mut o = opts();
    o.command_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let err = collect(&target(d), &DriverSet::builtin(), &o)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, CollectError::Timeout { .. }), "{err}");
    assert!(err.is_transient());
    assert!(err.to_string().contains("show running-config"), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_no_session_left(d).await;
}

#[tokio::test]
async fn the_job_timeout_bounds_a_slow_device() {
    let s = sim("cisco_ios", 1).await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        throttle_bytes_per_sec: Some(200),
        ..Faults::default()
    });
    let mut o = opts();
    o.job_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let err = collect(&target(d), &DriverSet::builtin(), &o)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("whole backup job"), "{err}");
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_no_session_left(d).await;
}

#[tokio::test]
async fn a_throttled_device_is_still_collected_completely() {
    let s = sim("juniper_junos", 1).await;
    let d = &s.devices()[0];
    let drivers = DriverSet::builtin();
    let o = opts();
    let fast = collect(&target(d), &drivers, &o).await.unwrap().config;
    d.set_faults(Faults {
        throttle_bytes_per_sec: Some(20_000),
        ..Faults::default()
    });
    let slow = collect(&target(d), &drivers, &o).await.unwrap().config;
    assert_eq!(fast, slow);
}

#[tokio::test]
async fn a_disconnect_mid_output_is_a_transient_connection_loss() {
    let s = sim("cisco_nxos", 1).await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        disconnect_after_bytes: Some(700),
        ..Faults::default()
    });
    let err = collect(&target(d), &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::ConnectionLost { .. }), "{err}");
    assert!(err.is_transient());
    assert_no_session_left(d).await;
}

#[tokio::test]
async fn a_changed_host_key_is_a_permanent_mismatch_with_both_fingerprints() {
    let s = sim("cisco_ios", 1).await;
    let d = &s.devices()[0];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known_hosts");
    let mut o = opts();
    o.known_hosts = Arc::new(KnownHosts::open(&path).unwrap());
    let old = d.host_key_fingerprint();
    collect(&target(d), &DriverSet::builtin(), &o)
        .await
        .unwrap();
    d.rotate_host_key();
    // A fresh process reads the pin from the file.
    o.known_hosts = Arc::new(KnownHosts::open(&path).unwrap());
    let err = collect(&target(d), &DriverSet::builtin(), &o)
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::HostKeyMismatch { .. }), "{err}");
    assert!(!err.is_transient());
    let msg = err.to_string();
    assert!(
        msg.contains(&old) && msg.contains(&d.host_key_fingerprint()),
        "{msg}"
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[tokio::test]
async fn a_legacy_only_device_needs_legacy_algorithms_and_then_works() {
    let s = sim("cisco_ios", 1).await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        legacy_only: true,
        ..Faults::default()
    });
    let drivers = DriverSet::builtin();
    let err = collect(&target(d), &drivers, &opts()).await.unwrap_err();
    assert!(
        matches!(err, CollectError::NoCommonAlgorithm { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("legacy"), "{err}");
    let mut t = target(d);
    t.legacy_algorithms = true;
    let ok = collect(&t, &drivers, &opts()).await.unwrap();
    assert!(
        String::from_utf8(ok.config)
            .unwrap()
            .contains("hostname r0001")
    );
}

#[tokio::test]
async fn a_closed_port_is_a_transient_connect_error() {
    let s = sim("cisco_ios", 1).await;
    let port = s.devices()[0].port();
    s.stop();
    drop(s);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t = DeviceTarget::password("127.0.0.1", port, "admin", "x", "cisco_ios");
    let err = collect(&t, &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::Connect { .. }), "{err}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn an_unknown_driver_fails_before_connecting() {
    let t = DeviceTarget::password("127.0.0.1", 1, "admin", "x", "nokia_srl");
    let err = collect(&t, &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::UnknownDriver(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_paged_configuration_is_collected_when_paging_cannot_be_disabled() {
    // A user driver without `terminal length 0` forces the pager path.
    let dir = tempfile::tempdir().unwrap();
    let builtin = include_str!("../drivers/cisco_ios.toml");
    let paged = builtin.replace(
        "pager_disable = [\"terminal length 0\", \"terminal width 0\"]",
        "pager_disable = []",
    );
    assert_ne!(paged, builtin);
    std::fs::write(dir.path().join("cisco_ios.toml"), paged).unwrap();
    let drivers = DriverSet::with_user_dir(dir.path()).unwrap();
    let s = Simulator::start(SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        config_lines: 5_000,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let d = &s.devices()[0];
    let mut t = target(d);
    t.enable_secret = Some("enable".into());
    let paged = String::from_utf8(collect(&t, &drivers, &opts()).await.unwrap().config).unwrap();
    let unpaged = String::from_utf8(
        collect(&t, &DriverSet::builtin(), &opts())
            .await
            .unwrap()
            .config,
    )
    .unwrap();
    assert!(paged.lines().count() > 4_900);
    assert_eq!(paged, unpaged);
}

#[tokio::test]
async fn transient_failures_are_retried_three_times_and_permanent_ones_once() {
    let s = sim("cisco_ios", 1).await;
    let d = &s.devices()[0];
    let drivers = DriverSet::builtin();
    let policy = devicevault_collect::RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    d.set_faults(Faults {
        disconnect_after_bytes: Some(300),
        ..Faults::default()
    });
    let err = devicevault_collect::collect_with_retry(&target(d), &drivers, &opts(), &policy)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(d.sessions(), 4);
    d.set_faults(Faults {
        refuse_enable: true,
        ..Faults::default()
    });
    let err = devicevault_collect::collect_with_retry(&target(d), &drivers, &opts(), &policy)
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err}");
    assert_eq!(d.sessions(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_fleet_in_one_simulator_is_collected_concurrently() {
    // Two devices of every simulated platform.
    let platforms = devicevault_sim::personality::platforms().len();
    let s = Simulator::start(SimConfig {
        devices: 2 * platforms,
        password: "pa55word".into(),
        enable_secret: "en4ble".into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let drivers = Arc::new(DriverSet::builtin());
    let o = Arc::new(opts());
    let mut jobs = tokio::task::JoinSet::new();
    for d in s.devices() {
        let (t, drivers, o) = (target(d), drivers.clone(), o.clone());
        let name = d.name().to_owned();
        jobs.spawn(async move { (name, collect(&t, &drivers, &o).await) });
    }
    let mut ok = 0;
    while let Some(j) = jobs.join_next().await {
        let (name, r) = j.unwrap();
        let c = r.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text_of(c).contains("link-0 rev0"), "{name}");
        ok += 1;
    }
    assert_eq!(ok, 2 * platforms);
    let seen: std::collections::BTreeSet<_> = s.devices().iter().map(|d| d.platform()).collect();
    assert_eq!(seen.len(), platforms);
}

fn client_key(seed: u8) -> russh::keys::PrivateKey {
    use russh::keys::ssh_key::private::Ed25519Keypair;
    russh::keys::PrivateKey::from(Ed25519Keypair::from_seed(&[seed; 32]))
}

fn key_credential(key: &russh::keys::PrivateKey) -> devicevault_collect::Credential {
    let pem = key
        .to_openssh(russh::keys::ssh_key::LineEnding::LF)
        .unwrap();
    devicevault_collect::Credential::Key {
        pem: pem.as_str().into(),
        passphrase: None,
    }
}

#[tokio::test]
async fn key_authentication_logs_in_with_an_authorized_key_only() {
    let s = sim("cisco_ios", 1).await;
    let d = &s.devices()[0];
    let good = client_key(7);
    d.authorize_key(good.public_key().clone());

    let mut t = target(d);
    t.credential = key_credential(&good);
    let got = collect(&t, &DriverSet::builtin(), &opts()).await.unwrap();
    let text = String::from_utf8(got.config).unwrap();
    assert!(text.contains(&format!("hostname {}", d.name())), "{text}");

    t.credential = key_credential(&client_key(8));
    let err = collect(&t, &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::AuthFailed { .. }), "{err}");
    assert_eq!(err.retry(), Retry::Permanent);

    t.credential = devicevault_collect::Credential::Key {
        pem: "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n".into(),
        passphrase: None,
    };
    let err = collect(&t, &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::BadKey { .. }), "{err}");
    assert!(
        !err.to_string().contains("not a key"),
        "key material leaked: {err}"
    );
    assert_no_session_left(d).await;
}

#[tokio::test]
async fn a_prompt_the_driver_never_recognises_fails_within_the_connect_timeout() {
    // A Junos driver on an IOS device: the login succeeds, the prompt never
    // matches. The wait is bounded by the connect timeout, not the (longer)
    // command timeout.
    let s = sim("cisco_ios", 1).await;
    let d = &s.devices()[0];
    let mut t = target(d);
    t.driver = "juniper_junos".into();
    let mut o = opts();
    o.connect_timeout = Duration::from_secs(1);
    o.command_timeout = Duration::from_secs(9);
    let started = Instant::now();
    let err = collect(&t, &DriverSet::builtin(), &o).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, CollectError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("first prompt"), "{err}");
    assert!(err.to_string().contains("after 1s"), "{err}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_no_session_left(d).await;
}

#[tokio::test]
async fn a_vyos_error_indented_by_two_spaces_rejects_the_command() {
    // VyOS prints `  Invalid command: show configuration [commandz]`.
    let s = sim("vyos", 1).await;
    let d = &s.devices()[0];
    let dir = tempfile::tempdir().unwrap();
    let vyos = include_str!("../drivers/vyos.toml").replace(
        "commands = [\"show configuration commands\"]",
        "commands = [\"show configuration commandz\"]",
    );
    std::fs::write(dir.path().join("vyos.toml"), vyos).unwrap();
    let drivers = DriverSet::with_user_dir(dir.path()).unwrap();
    let err = collect(&target(d), &drivers, &opts()).await.unwrap_err();
    assert!(matches!(err, CollectError::CommandRejected { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("Invalid command: show configuration [commandz]"),
        "{err}"
    );
}

#[tokio::test]
async fn every_attempt_is_reported_with_the_prompt_the_device_showed() {
    // The Junos driver never recognises an IOS prompt: each attempt times
    // out at the first prompt, and its report shows that prompt.
    let s = sim("cisco_ios", 1).await;
    let d = &s.devices()[0];
    let mut t = target(d);
    t.driver = "juniper_junos".into();
    let mut o = opts();
    o.connect_timeout = Duration::from_millis(800);
    let policy = devicevault_collect::RetryPolicy {
        max_retries: 1,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
    };
    let attempts =
        devicevault_collect::collect_attempts(&t, &DriverSet::builtin(), &o, &policy).await;
    assert!(attempts.collected.is_none());
    assert_eq!(attempts.failures.len(), 2);
    assert!(attempts.failures[0].retry_in.is_some());
    assert!(attempts.failures[1].retry_in.is_none());
    for f in &attempts.failures {
        assert!(
            matches!(f.error, CollectError::Timeout { .. }),
            "{}",
            f.error
        );
        let last = f.device_output.last().expect("the device showed a prompt");
        assert!(
            last.starts_with(d.name()) && (last.ends_with('>') || last.ends_with('#')),
            "{:?}",
            f.device_output
        );
        assert!(f.device_output.iter().all(|l| !l.contains(d.password())));
    }
    let err = attempts.into_result().unwrap_err();
    assert!(err.to_string().contains("first prompt"), "{err}");
}

#[tokio::test]
async fn a_stalled_output_reports_its_last_lines_with_secrets_masked() {
    let s = sim("cisco_ios", 1).await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        hang_after_bytes: Some(4000),
        ..Faults::default()
    });
    let mut o = opts();
    o.command_timeout = Duration::from_secs(1);
    let policy = devicevault_collect::RetryPolicy {
        max_retries: 0,
        ..devicevault_collect::RetryPolicy::default()
    };
    let attempts =
        devicevault_collect::collect_attempts(&target(d), &DriverSet::builtin(), &o, &policy).await;
    let f = &attempts.failures[0];
    assert!(
        matches!(f.error, CollectError::Timeout { .. }),
        "{}",
        f.error
    );
    assert!(
        !f.device_output.is_empty()
            && f.device_output.len() <= devicevault_collect::OUTPUT_TAIL_LINES,
        "{:?}",
        f.device_output
    );
    for l in &f.device_output {
        assert!(l.chars().count() <= 200, "{l}");
        assert!(
            !l.contains(d.password()) && !l.contains(d.enable_secret()),
            "{l}"
        );
        if l.starts_with("enable secret") || l.starts_with("snmp-server community") {
            assert!(
                l.contains("<removed>") || l.contains("****"),
                "not masked: {l}"
            );
        }
    }
}

#[tokio::test]
async fn a_wireless_controller_is_logged_in_again_in_band_after_ssh() {
    // AireOS asks `User:` and `Password:` after the SSH login; the driver
    // answers both, and the prompt is the controller's system name.
    let s = sim("cisco_wlc", 1).await;
    let d = &s.devices()[0];
    let got = collect(&target(d), &DriverSet::builtin(), &opts())
        .await
        .unwrap();
    let text = String::from_utf8(got.config).unwrap();
    assert!(
        text.starts_with(&format!("config sysname {}\n", d.name())),
        "{text}"
    );
    assert!(!text.contains("rogue"), "a rogue line was kept:\n{text}");
    assert!(!text.contains("User:") && !text.contains(") >"), "{text}");
    assert_eq!(d.sessions(), 1);
    assert_no_session_left(d).await;
}

#[tokio::test]
async fn a_wrong_in_band_password_is_a_permanent_authentication_failure_at_once() {
    // The SSH login succeeds; the password given to the controller's own
    // `Password:` is refused and it asks for the user again. That is a
    // wrong password (permanent), not a connection lost when the
    // controller gives up after three tries (transient).
    let s = sim("cisco_wlc", 1).await;
    let d = &s.devices()[0];
    let dir = tempfile::tempdir().unwrap();
    let builtin = include_str!("../drivers/cisco_wlc.toml");
    let wrong = builtin.replace("send = \"{password}\\n\"", "send = \"{password}x\\n\"");
    assert_ne!(wrong, builtin);
    std::fs::write(dir.path().join("cisco_wlc.toml"), wrong).unwrap();
    let drivers = DriverSet::with_user_dir(dir.path()).unwrap();
    let started = Instant::now();
    let err = collect(&target(d), &drivers, &opts()).await.unwrap_err();
    assert!(matches!(err, CollectError::AuthFailed { .. }), "{err}");
    assert_eq!(err.retry(), Retry::Permanent);
    assert!(!err.to_string().contains(d.password()), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_no_session_left(d).await;
}

#[tokio::test]
async fn a_wireless_controller_reached_with_a_key_says_its_login_needs_a_password() {
    // The SSH login with a key works, but the controller's own login asks
    // for a password the credential does not have: a permanent error that
    // says so, not a wait for a prompt that never comes.
    let s = sim("cisco_wlc", 1).await;
    let d = &s.devices()[0];
    let key = client_key(9);
    d.authorize_key(key.public_key().clone());
    let mut t = target(d);
    t.credential = key_credential(&key);
    let err = collect(&t, &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::BadKey { .. }), "{err}");
    assert!(!err.is_transient());
    assert_no_session_left(d).await;
}

#[tokio::test]
async fn sros_md_names_who_committed_the_configuration_and_drops_its_context_line() {
    // The MD-CLI prints `#   Committed <time> by <user> (MD-CLI) from ...`
    // and its context `[/]` above the prompt.
    let s = sim("nokia_sros_md", 1).await;
    let d = &s.devices()[0];
    let drivers = DriverSet::builtin();
    let first = collect(&target(d), &drivers, &opts()).await.unwrap();
    assert_eq!(first.author.as_deref(), Some("admin"));
    d.drift_by("jdoe").unwrap();
    let c = collect(&target(d), &drivers, &opts()).await.unwrap();
    assert_eq!(c.author.as_deref(), Some("jdoe"));
    let text = String::from_utf8(c.config).unwrap();
    assert!(!text.contains("[/]"), "{text}");
    assert!(!text.contains("Committed"), "{text}");
    assert!(text.trim_end().ends_with('}'), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iap_fos_airos_zynos_and_saos_back_up_identically_until_a_change() {
    // The dated lines (Fabric OS's `date = `, SAOS's `! Created:`) differ
    // between the two sessions and are filtered; an engineer's edit shows.
    let drivers = DriverSet::builtin();
    for name in [
        "aruba_instant",
        "brocade_fos",
        "ubiquiti_airos",
        "zyxel_os",
        "ciena_saos",
    ] {
        let s = sim(name, 1).await;
        let d = &s.devices()[0];
        let o = opts();
        let first = collect(&target(d), &drivers, &o).await.unwrap().config;
        d.clock()
            .set(SimClock::at("2027-03-05T04:05:06Z").unwrap().now());
        let again = collect(&target(d), &drivers, &o).await.unwrap().config;
        assert_eq!(first, again, "{name}");
        d.change_config();
        let changed = collect(&target(d), &drivers, &o).await.unwrap().config;
        assert_ne!(first, changed, "{name}");
        assert_no_session_left(d).await;
    }
}
