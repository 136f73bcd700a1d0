//! What must never be stored as a configuration: a refusal the driver's
//! patterns miss, an output cut short, more output than any configuration
//! has. Each is a permanent failure that says why.

use std::sync::Arc;
use std::time::{Duration, Instant};

use devicevault_collect::{
    CollectError, CollectOptions, DeviceTarget, DriverSet, Input, KnownHosts, RetryPolicy,
    Transport, collect, collect_with_retry,
};
use devicevault_core::{Retry, RetryClass};
use devicevault_sim::{Faults, SimConfig, SimDevice, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn sim(platform: &str, lines: usize) -> Simulator {
    Simulator::start(SimConfig {
        devices: 1,
        platforms: vec![platform.to_owned()],
        password: "pa55word".into(),
        enable_secret: "en4ble".into(),
        config_lines: lines,
        telnet_base_port: Some(0),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
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

fn opts() -> CollectOptions {
    let mut o = CollectOptions::new(Arc::new(KnownHosts::in_memory()));
    o.connect_timeout = Duration::from_secs(10);
    o.command_timeout = Duration::from_secs(20);
    o.job_timeout = Duration::from_secs(60);
    o
}

async fn assert_no_session_left(d: &SimDevice) {
    for _ in 0..150 {
        if d.open_shells() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} shell(s) still open on {}", d.open_shells(), d.name());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aaa_refusals_of_ios_and_eos_fail_permanently_with_the_device_text() {
    // The texts real devices print when TACACS+ command authorization
    // refuses `show running-config` (issue #12).
    let drivers = DriverSet::builtin();
    for (platform, refusal) in [
        ("cisco_ios", "Command authorization failed."),
        (
            "arista_eos",
            "% Authorization denied for command 'show running-config': Authorization denied by server",
        ),
    ] {
        let s = sim(platform, 120).await;
        let d = &s.devices()[0];
        d.set_faults(Faults {
            refuse_config_command: Some(refusal.into()),
            ..Faults::default()
        });
        let err = collect(&target(d), &drivers, &opts()).await.unwrap_err();
        assert!(
            matches!(err, CollectError::CommandRejected { .. }),
            "{platform}: {err}"
        );
        assert_eq!(err.retry(), Retry::Permanent, "{platform}");
        assert!(err.to_string().contains(refusal), "{platform}: {err}");
        assert_no_session_left(d).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_no_pattern_knows_is_incomplete_on_every_platform_that_checks() {
    let drivers = DriverSet::builtin();
    let refusal = "% Access to this command is denied by site policy 42";
    for name in DriverSet::builtin_names() {
        let s = sim(name, 120).await;
        let d = &s.devices()[0];
        d.set_faults(Faults {
            refuse_config_command: Some(refusal.into()),
            ..Faults::default()
        });
        if matches!(drivers.get(name).unwrap().input, Input::Https(_)) {
            // An API refuses with a status, not a text (tests/https_api.rs).
            continue;
        }
        let r = collect(&target(d), &drivers, &opts()).await;
        let driver = drivers.get(name).unwrap();
        if driver.exec || !driver.input.is_cli() {
            // Exec channels run the command itself, and a file input runs no
            // command: the refusal fault is a shell's.
            assert!(r.is_ok(), "{name}");
            continue;
        }
        let err = r.unwrap_err();
        assert!(
            matches!(err, CollectError::Incomplete { .. }),
            "{name}: {err}"
        );
        assert!(!err.is_transient(), "{name}");
        let msg = err.to_string();
        assert!(
            msg.contains(refusal),
            "{name}: the last line received: {msg}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_output_with_a_clean_prompt_is_incomplete_where_the_ending_is_known() {
    let drivers = DriverSet::builtin();
    for name in DriverSet::builtin_names() {
        let driver = drivers.get(name).unwrap();
        let s = sim(name, 200).await;
        let d = &s.devices()[0];
        let whole = d.running_config();
        // Half of it, cut at a line end, then the prompt as if complete.
        d.set_faults(Faults {
            truncate_after_bytes: Some(whole.len() / 2),
            ..Faults::default()
        });
        let r = collect(&target(d), &drivers, &opts()).await;
        let detectable = driver.complete.ends_with.is_some() || driver.complete.balanced_braces;
        match r {
            Err(CollectError::Incomplete { reason, .. }) => {
                assert!(detectable, "{name}: {reason}");
            }
            Ok(_) => assert!(
                !detectable,
                "{name} has an ending rule and stored a truncated output"
            ),
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lines_in_an_incomplete_error_have_their_secrets_masked() {
    let s = sim("cisco_ios", 200).await;
    let d = &s.devices()[0];
    let whole = d.running_config();
    // Cut right after the lines holding the enable secret and the user's.
    let cut = whole.find("username admin").unwrap();
    let cut = cut + whole[cut..].find('\n').unwrap() + 1;
    d.set_faults(Faults {
        truncate_after_bytes: Some(cut),
        ..Faults::default()
    });
    let err = collect(&target(d), &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    let CollectError::Incomplete {
        ref last_lines,
        ref reason,
        ..
    } = err
    else {
        panic!("{err}");
    };
    assert!(reason.contains("end"), "{reason}");
    assert!(last_lines.contains("username admin"), "{last_lines}");
    assert!(last_lines.contains("<removed>"), "{last_lines}");
    let hash = whole
        .lines()
        .find(|l| l.starts_with("enable secret"))
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap();
    assert!(!err.to_string().contains(hash), "a secret leaked: {err}");
    assert!(last_lines.len() <= 500 * 3, "{last_lines}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incomplete_output_is_not_retried() {
    let s = sim("cisco_ios", 120).await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        truncate_after_bytes: Some(800),
        ..Faults::default()
    });
    let policy = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(10),
    };
    let err = collect_with_retry(&target(d), &DriverSet::builtin(), &opts(), &policy)
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::Incomplete { .. }), "{err}");
    assert_eq!(d.sessions(), 1, "one attempt only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_device_stops_at_the_cap_permanently_and_is_not_retried() {
    let s = sim("cisco_ios", 200).await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        endless_output: true,
        ..Faults::default()
    });
    let mut o = opts();
    o.max_config_bytes = 2 * 1024 * 1024;
    let policy = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(10),
    };
    let started = Instant::now();
    let err = collect_with_retry(&target(d), &DriverSet::builtin(), &o, &policy)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, CollectError::OutputTooLarge { limit, .. } if limit == 2 * 1024 * 1024),
        "{err}"
    );
    assert!(!err.is_transient());
    assert!(err.to_string().contains("max_config_bytes"), "{err}");
    assert!(err.to_string().contains("show running-config"), "{err}");
    assert_eq!(d.sessions(), 1, "not retried");
    // Not the 20 s command timeout: reading stopped at the cap.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_no_session_left(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_may_raise_the_cap_for_its_platform() {
    let s = sim("cisco_ios", 200).await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        single_line_bytes: Some(600 * 1024),
        ..Faults::default()
    });
    let mut o = opts();
    o.max_config_bytes = 512 * 1024;
    let err = collect(&target(d), &DriverSet::builtin(), &o)
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::OutputTooLarge { .. }), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let ios = include_str!("../drivers/cisco_ios.toml").replacen(
        "exit = \"exit\"",
        "exit = \"exit\"\nmax_config_bytes = 2097152",
        1,
    );
    std::fs::write(dir.path().join("cisco_ios.toml"), ios).unwrap();
    let drivers = DriverSet::with_user_dir(dir.path()).unwrap();
    let got = collect(&target(d), &drivers, &o).await.unwrap();
    assert!(got.config.len() > 600 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_line_of_megabytes_is_collected_in_linear_time() {
    // 8 MiB without a line break: the shell path used to re-clean the whole
    // unterminated line on every chunk (about 250 times here).
    const LINE: usize = 8 * 1024 * 1024;
    let s = sim("cisco_ios", 100).await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        single_line_bytes: Some(LINE),
        ..Faults::default()
    });
    let started = Instant::now();
    let got = collect(&target(d), &DriverSet::builtin(), &opts())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let took = started.elapsed();
    let text = String::from_utf8(got.config).unwrap();
    let longest = text.lines().map(str::len).max().unwrap();
    assert_eq!(longest, LINE);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        d.stable_config_lines(),
        "the body around the long line is intact"
    );
    // A debug build on a shared 2-core machine takes about 1 s; the old
    // loop, which re-cleaned the unterminated line on every chunk, took over
    // two minutes for 7 MiB.
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exec_path_stops_at_the_cap_too() {
    let s = sim("linux", 200).await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        endless_output: true,
        ..Faults::default()
    });
    let mut o = opts();
    o.max_config_bytes = 1024 * 1024;
    let t = DeviceTarget::password("127.0.0.1", d.port(), "admin", "pa55word", "linux");
    let started = Instant::now();
    let err = collect(&t, &DriverSet::builtin(), &o).await.unwrap_err();
    assert!(matches!(err, CollectError::OutputTooLarge { .. }), "{err}");
    assert!(!err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_no_session_left(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telnet_device_that_never_stops_is_read_no_further_than_the_cap() {
    // A raw Telnet "device": a login, a prompt, then bytes without end after
    // the command. It counts what it could write before the collector hung up.
    const CAP: usize = 4 * 1024 * 1024;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let device = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let mut seen = Vec::new();
        let mut until = async |sock: &mut tokio::net::TcpStream, needle: &[u8]| {
            while !seen.windows(needle.len()).any(|w| w == needle) {
                let n = sock.read(&mut buf).await.unwrap();
                assert!(n > 0);
                seen.extend_from_slice(&buf[..n]);
            }
            seen.clear();
        };
        sock.write_all(b"Username: ").await.unwrap();
        until(&mut sock, b"\n").await;
        sock.write_all(b"Password: ").await.unwrap();
        until(&mut sock, b"\n").await;
        sock.write_all(b"\r\nR1#").await.unwrap();
        until(&mut sock, b"show running-config").await;
        sock.write_all(b"show running-config\r\n").await.unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0usize;
        while sock.write_all(&chunk).await.is_ok() {
            sent += chunk.len();
            if sent > 1024 * CAP {
                break;
            }
        }
        sent
    });
    // A driver without pager commands, so the first command is the backup.
    let ios = include_str!("../drivers/cisco_ios.toml").replace(
        "pager_disable = [\"terminal length 0\", \"terminal width 0\"]",
        "pager_disable = []",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cisco_ios.toml"), ios).unwrap();
    let drivers = DriverSet::with_user_dir(dir.path()).unwrap();
    let mut t = DeviceTarget::password("127.0.0.1", port, "admin", "x", "cisco_ios");
    t.transport = Transport::Telnet;
    let mut o = opts();
    o.max_config_bytes = CAP;
    let err = collect(&t, &drivers, &o).await.unwrap_err();
    assert!(matches!(err, CollectError::OutputTooLarge { .. }), "{err}");
    let sent = tokio::time::timeout(Duration::from_secs(10), device)
        .await
        .expect("the device saw the connection close")
        .unwrap();
    // What the device wrote is what was read, plus the kernel's socket
    // buffers in between (a few MiB on loopback); never the endless rest.
    assert!(sent >= CAP, "{sent}");
    assert!(sent < CAP + 16 * 1024 * 1024, "{sent} bytes sent");
}
