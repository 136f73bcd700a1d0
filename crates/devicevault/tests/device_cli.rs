//! `devicevault sim`, `collect` and `drivers`: the operator contract.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Sim {
    child: Child,
    port: u16,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_sim(platform: &str) -> Sim {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args(["sim", "--devices", "1", "--base-port", &port.to_string()])
        .args([
            "--platform",
            platform,
            "--username",
            "netops",
            "--password",
            "s3cret",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.contains(&format!("1 devices listening on 127.0.0.1:{port}")),
        "{line:?}"
    );
    Sim { child, port }
}

fn collect(
    sim: &Sim,
    driver: &str,
    password: &str,
    known_hosts: &std::path::Path,
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args([
            "collect",
            "--host",
            "127.0.0.1",
            "--port",
            &sim.port.to_string(),
        ])
        .args(["--driver", driver, "--username", "netops"])
        .args([
            "--password-env",
            "DV_TEST_PW",
            "--enable-env",
            "DV_TEST_EN",
            "--no-retry",
        ])
        .arg("--known-hosts")
        .arg(known_hosts)
        .env("DV_TEST_PW", password)
        .env("DV_TEST_EN", "enable")
        .output()
        .unwrap()
}

#[test]
fn collect_prints_the_configuration_of_a_simulated_device() {
    let sim = start_sim("cisco_ios");
    let dir = tempfile::tempdir().unwrap();
    let out = collect(&sim, "cisco_ios", "s3cret", &dir.path().join("known_hosts"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let config = String::from_utf8(out.stdout).unwrap();
    assert!(
        config.lines().any(|l| l.starts_with("hostname ")),
        "{config}"
    );
    assert!(
        !config.contains("Current configuration"),
        "volatile line kept"
    );
    // The host key was pinned on first use.
    let pins = std::fs::read_to_string(dir.path().join("known_hosts")).unwrap();
    assert!(pins.contains(&sim.port.to_string()), "{pins}");
    assert!(!stderr.contains("s3cret"));
}

#[test]
fn a_wrong_password_exits_non_zero_naming_the_device() {
    let sim = start_sim("arista_eos");
    let dir = tempfile::tempdir().unwrap();
    let out = collect(&sim, "arista_eos", "wrong", &dir.path().join("known_hosts"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!("authentication failed for netops@127.0.0.1:{}", sim.port);
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains("wrong"), "the password leaked: {stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unknown_driver_is_refused_before_connecting() {
    let out = Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args([
            "collect",
            "--host",
            "127.0.0.1",
            "--port",
            "1",
            "--driver",
            "nokia_sros",
        ])
        .args(["--username", "a", "--password-env", "DV_TEST_PW"])
        .env("DV_TEST_PW", "x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nokia_sros"), "{stderr}");
}

#[test]
fn drivers_lists_the_fourteen_built_in_platforms_and_user_ones() {
    let dir = tempfile::tempdir().unwrap();
    let ios = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../devicevault-collect/drivers/cisco_ios.toml"
    ))
    .unwrap();
    std::fs::write(
        dir.path().join("acme_os.toml"),
        ios.replace("name = \"cisco_ios\"", "name = \"acme_os\""),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args(["drivers", "--drivers-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "cisco_ios",
        "cisco_nxos",
        "cisco_iosxr",
        "cisco_asa",
        "arista_eos",
        "juniper_junos",
        "mikrotik_routeros",
        "fortinet_fortios",
        "paloalto_panos",
        "huawei_vrp",
        "hp_procurve",
        "dell_os10",
        "vyos",
        "linux",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from {stdout}"));
        assert!(line.ends_with("built-in"), "{line}");
    }
    let user = stdout.lines().find(|l| l.starts_with("acme_os")).unwrap();
    assert!(user.contains("user: "), "{user}");
}

/// A simulated device serving SSH and Telnet, started through the CLI.
fn start_sim_with_telnet(platform: &str) -> (Sim, u16) {
    let (port, telnet) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args(["sim", "--devices", "1", "--base-port", &port.to_string()])
        .args(["--telnet-base-port", &telnet.to_string()])
        .args(["--platform", platform, "--username", "netops"])
        .args(["--password", "s3cret"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "{line:?}");
    (Sim { child, port }, telnet)
}

fn collect_telnet(flag: &[&str], port: u16, password: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args([
            "collect",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args(flag)
        .args(["--driver", "cisco_ios", "--username", "netops"])
        .args(["--password-env", "DV_TEST_PW", "--enable-env", "DV_TEST_EN"])
        .arg("--no-retry")
        .env("DV_TEST_PW", password)
        .env("DV_TEST_EN", "enable")
        .output()
        .unwrap()
}

#[test]
fn collect_over_telnet_with_either_flag_and_a_wrong_password_fails_as_authentication() {
    let (_sim, telnet) = start_sim_with_telnet("cisco_ios");
    for flag in [&["--telnet"][..], &["--transport", "telnet"][..]] {
        let out = collect_telnet(flag, telnet, "s3cret");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{flag:?}: {stderr}");
        let config = String::from_utf8(out.stdout).unwrap();
        assert!(config.contains("hostname r0001\n"), "{config}");
    }
    let out = collect_telnet(&["--telnet"], telnet, "wr0ng");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "authentication failed for netops@127.0.0.1:{telnet}"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("wr0ng"), "the password leaked: {stderr}");
}

#[test]
fn an_unknown_transport_is_rejected_by_name() {
    let out = collect_telnet(&["--transport", "rlogin"], 1, "x");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rlogin"), "{stderr}");
}
