//! Telnet (option negotiation, in-band login) and SSH exec mode against the
//! simulator, and `{password}` in a driver's login sequence.

use std::sync::Arc;
use std::time::{Duration, Instant};

use devicevault_collect::{
    CollectError, CollectOptions, Credential, DeviceTarget, Driver, DriverSet, DriverSource,
    KnownHosts, Transport, collect,
};
use devicevault_core::{Retry, RetryClass};
use devicevault_sim::{DATE_BOUNDARIES, Faults, SimClock, SimConfig, SimDevice, Simulator};

async fn sim(platform: &str) -> Simulator {
    Simulator::start(SimConfig {
        devices: 1,
        platforms: vec![platform.to_owned()],
        password: "pa55word".into(),
        enable_secret: "en4ble".into(),
        telnet_base_port: Some(0),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn telnet_target(d: &SimDevice) -> DeviceTarget {
    let port = d.telnet_port().expect("telnet listener");
    let mut t = DeviceTarget::password("127.0.0.1", port, d.username(), d.password(), d.platform());
    t.transport = Transport::Telnet;
    t.enable_secret = Some(d.enable_secret().into());
    t
}

fn opts() -> CollectOptions {
    let mut o = CollectOptions::new(Arc::new(KnownHosts::in_memory()));
    o.connect_timeout = Duration::from_secs(10);
    o.command_timeout = Duration::from_secs(10);
    o.job_timeout = Duration::from_secs(30);
    o
}

async fn assert_no_session_left(d: &SimDevice) {
    for _ in 0..100 {
        if d.open_shells() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} session(s) still open on {}", d.open_shells(), d.name());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cisco_ios_is_collected_over_telnet_with_login_enable_and_negotiation() {
    let s = sim("cisco_ios").await;
    let d = &s.devices()[0];
    let got = collect(&telnet_target(d), &DriverSet::builtin(), &opts())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8(got.config).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines, d.stable_config_lines(), "body differs:\n{text}");
    assert!(text.contains("hostname r0001\n"));
    // The device offered WILL ECHO, WILL SGA and asked DO TTYPE, DO NAWS:
    // we accept the first two and refuse the others.
    assert_eq!(
        d.telnet_negotiation(),
        ["DO ECHO", "DO SGA", "WONT TTYPE", "WONT NAWS"]
    );
    assert_eq!(d.sessions(), 1);
    assert_no_session_left(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builtin_driver_collects_over_telnet() {
    let drivers = DriverSet::builtin();
    for name in DriverSet::builtin_names() {
        if !drivers.get(name).unwrap().input.is_cli() {
            // A file input is read over SSH only, and an HTTPS API is no
            // CLI: neither has Telnet.
            continue;
        }
        let s = sim(name).await;
        let d = &s.devices()[0];
        // At every date boundary, then at the system's now.
        for at in DATE_BOUNDARIES.into_iter().map(Some).chain([None]) {
            match at {
                Some(t) => d.clock().set(SimClock::at(t).unwrap().now()),
                None => d.clock().follow_system(),
            }
            let got = collect(&telnet_target(d), &drivers, &opts())
                .await
                .unwrap_or_else(|e| panic!("{name} over Telnet at {at:?}: {e}"));
            let text = String::from_utf8(got.config).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(
                lines,
                d.stable_config_lines(),
                "{name} at {at:?}: body differs:\n{text}"
            );
        }
        assert_no_session_left(d).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_over_telnet_is_a_permanent_authentication_failure() {
    let s = sim("cisco_ios").await;
    let d = &s.devices()[0];
    let mut t = telnet_target(d);
    t.credential = Credential::Password("wr0ng-pa55".into());
    let started = Instant::now();
    let err = collect(&t, &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::AuthFailed { .. }), "{err}");
    assert_eq!(err.retry(), Retry::Permanent);
    assert_eq!(
        err.to_string(),
        format!(
            "authentication failed for admin@127.0.0.1:{}",
            d.telnet_port().unwrap()
        )
    );
    assert!(!format!("{err:?}").contains("wr0ng-pa55"));
    // Detected at the second prompt, not by a timeout.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(d.sessions(), 0, "the login must not have succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_rejecting_every_password_over_telnet_fails_authentication() {
    let s = sim("juniper_junos").await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        reject_password: true,
        ..Faults::default()
    });
    let err = collect(&telnet_target(d), &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::AuthFailed { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_telnet_port_is_a_transient_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut t = DeviceTarget::password("127.0.0.1", port, "admin", "x", "cisco_ios");
    t.transport = Transport::Telnet;
    let err = collect(&t, &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::Connect { .. }), "{err}");
    assert!(err.is_transient());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_login_sequence_can_send_the_password() {
    // A site driver that answers the Telnet login itself, as some platforms
    // need (a login menu, a non-standard prompt).
    let ios = include_str!("../drivers/cisco_ios.toml");
    let custom = ios.replacen(
        "[enable]",
        "[[login]]\nexpect = '(?i)^username: $'\nsend = \"{username}\\n\"\n\
         [[login]]\nexpect = '(?i)^password: $'\nsend = \"{password}\\n\"\n\n[enable]",
        1,
    );
    let driver = Driver::from_toml(&custom, DriverSource::BuiltIn).unwrap();
    assert_eq!(driver.login.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cisco_ios.toml"), &custom).unwrap();
    let drivers = DriverSet::with_user_dir(dir.path()).unwrap();
    let s = sim("cisco_ios").await;
    let d = &s.devices()[0];
    let got = collect(&telnet_target(d), &drivers, &opts())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        String::from_utf8(got.config)
            .unwrap()
            .contains("hostname r0001\n")
    );
    // The same driver with a wrong password: the device asks again, and the
    // driver's answers must not loop forever.
    let mut t = telnet_target(d);
    t.credential = Credential::Password("nope".into());
    let started = Instant::now();
    let err = collect(&t, &drivers, &opts()).await.unwrap_err();
    assert!(
        matches!(
            err,
            CollectError::AuthFailed { .. } | CollectError::ConnectionLost { .. }
        ),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(8));
}

fn ssh_target(d: &SimDevice, driver: &str) -> DeviceTarget {
    DeviceTarget::password("127.0.0.1", d.port(), d.username(), d.password(), driver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_linux_driver_collects_over_ssh_exec_channels() {
    let s = sim("linux").await;
    let d = &s.devices()[0];
    let drivers = DriverSet::builtin();
    assert!(drivers.get("linux").unwrap().exec);
    let got = collect(&ssh_target(d, "linux"), &drivers, &opts())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8(got.config).unwrap();
    // No prompt, no echo, no banner: exactly the file, its trailing blank
    // line included (a shell cannot tell that from the prompt's line).
    assert_eq!(text, d.running_config(), "{text}");
    assert!(
        !text.contains("Linux r0001"),
        "banner in an exec backup:\n{text}"
    );
    assert_no_session_left(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_exec_command_is_rejected_with_its_exit_status_and_error() {
    let s = sim("linux").await;
    let d = &s.devices()[0];
    let linux = include_str!("../drivers/linux.toml").replace(
        "cat /etc/network/interfaces",
        "catt /etc/network/interfaces",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("linux.toml"), linux).unwrap();
    let drivers = DriverSet::with_user_dir(dir.path()).unwrap();
    let err = collect(&ssh_target(d, "linux"), &drivers, &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::CommandRejected { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("exit status 127") && msg.contains("catt: command not found"),
        "{msg}"
    );
    assert!(!err.is_transient());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_refusing_exec_channels_says_to_use_the_shell() {
    let s = sim("cisco_ios").await;
    let d = &s.devices()[0];
    let ios = include_str!("../drivers/cisco_ios.toml").replacen(
        "exit = \"exit\"",
        "exit = \"exit\"\nexec = true",
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cisco_ios.toml"), ios).unwrap();
    let drivers = DriverSet::with_user_dir(dir.path()).unwrap();
    let err = collect(&ssh_target(d, "cisco_ios"), &drivers, &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::ShellRefused { .. }), "{err}");
    assert!(err.to_string().contains("exec = false"), "{err}");
}
