//! A real client, netmiko (PyPI; what most network automation scripts use),
//! logs in to a simulated Cisco IOS device, enters enable mode and fetches
//! the running configuration.
//!
//! Needs `python3 -m venv .venv-peers && .venv-peers/bin/pip install netmiko`
//! at the workspace root (`scripts/test` does it), or `DEVICEVAULT_PEERS_PYTHON`
//! naming a Python that can `import netmiko`.

use std::path::PathBuf;
use std::process::Command;

use devicevault_sim::{SimConfig, Simulator};

const INSTALL: &str = "python3 -m venv .venv-peers && .venv-peers/bin/pip install netmiko";

fn peers_python() -> PathBuf {
    let path = std::env::var_os("DEVICEVAULT_PEERS_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-peers/bin/python"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "no Python with netmiko at {}: run `{INSTALL}` at the workspace root \
         (or `scripts/test`), or set DEVICEVAULT_PEERS_PYTHON",
        path.display()
    );
    let has_netmiko = Command::new(&path)
        .args(["-c", "import netmiko"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_netmiko,
        "{} cannot import netmiko: run `{INSTALL}` at the workspace root",
        path.display()
    );
    path
}

/// Connects with `ConnectHandler(device_type="cisco_ios")`, runs `enable`
/// and `show running-config`, and prints the output between markers. The
/// password and secret come from the environment, never the command line.
const SCRIPT: &str = r#"
import os, sys
from netmiko import ConnectHandler
conn = ConnectHandler(
    device_type="cisco_ios",
    host="127.0.0.1",
    port=int(sys.argv[1]),
    username="admin",
    password=os.environ["SIM_PASSWORD"],
    secret=os.environ["SIM_SECRET"],
    conn_timeout=10,
    timeout=30,
)
print("PROMPT-BEFORE=" + conn.find_prompt())
conn.enable()
print("PROMPT-AFTER=" + conn.find_prompt())
out = conn.send_command("show running-config")
print("BEGIN-CONFIG")
print(out)
print("END-CONFIG")
conn.disconnect()
"#;

fn run_netmiko(port: u16, password: &str, secret: &str) -> std::process::Output {
    Command::new(peers_python())
        .args(["-c", SCRIPT, &port.to_string()])
        .env("SIM_PASSWORD", password)
        .env("SIM_SECRET", secret)
        .output()
        .expect("python starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netmiko_cisco_ios_logs_in_enables_and_fetches_the_running_config() {
    let sim = Simulator::start(SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        password: "pa55word".into(),
        enable_secret: "en4ble".into(),
        config_lines: 400,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let d = sim.devices()[0].clone();
    let port = d.port();
    let out = tokio::task::spawn_blocking(move || run_netmiko(port, "pa55word", "en4ble"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "netmiko failed:\n{stderr}\n{stdout}");
    assert!(stdout.contains("PROMPT-BEFORE=r0001>"), "{stdout}");
    assert!(stdout.contains("PROMPT-AFTER=r0001#"), "{stdout}");
    let config = stdout
        .split_once("BEGIN-CONFIG\n")
        .and_then(|(_, rest)| rest.split_once("END-CONFIG"))
        .map(|(c, _)| c)
        .expect("markers in output");
    let lines: Vec<&str> = config.lines().collect();
    // netmiko strips the echo and the trailing prompt: the output is the
    // device's configuration, line for line, as the device printed it.
    assert_eq!(
        lines.first(),
        Some(&"Building configuration..."),
        "{config}"
    );
    assert_eq!(lines.last(), Some(&"end"), "{config}");
    for expected in [
        "hostname r0001",
        "interface GigabitEthernet0/0",
        " description link-0 rev0",
        "line vty 0 4",
        " transport input ssh",
    ] {
        assert!(lines.contains(&expected), "`{expected}` missing:\n{config}");
    }
    assert!(
        !config.contains("--More--") && !config.contains('\r'),
        "debris:\n{config}"
    );
    assert!(
        !config.contains("r0001#"),
        "prompt left in output:\n{config}"
    );
    // The body matches what the device holds, apart from the volatile lines.
    // Line for line: the volatile lines (dated when printed) may differ.
    let held = d.running_config_lines();
    assert_eq!(lines.len(), held.len(), "{config}");
    for (got, want) in lines.iter().zip(&held) {
        if !want.volatile {
            assert_eq!(*got, want.text);
        }
    }
    assert_eq!(d.sessions(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netmiko_reports_an_authentication_failure_for_a_wrong_password() {
    let sim = Simulator::start(SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        password: "pa55word".into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let port = sim.devices()[0].port();
    let out = tokio::task::spawn_blocking(move || run_netmiko(port, "wrong", "x"))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("NetmikoAuthenticationException"),
        "expected an authentication failure:\n{stderr}"
    );
}
