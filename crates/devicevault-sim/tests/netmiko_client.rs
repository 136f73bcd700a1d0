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

/// netmiko's stock device type for each simulated platform, and the command
/// that prints its configuration there.
const STOCK: &[(&str, &str, &str)] = &[
    ("cisco_ios", "cisco_ios", "show running-config"),
    // netmiko ubiquiti/edge_ssh.py, netgear/netgear_prosafe_ssh.py and
    // tplink/tplink_jetstream.py enable in their session preparation.
    (
        "ubiquiti_edgeswitch",
        "ubiquiti_edgeswitch",
        "show running-config",
    ),
    // aruba_instant is not here: netmiko has no device type for Instant
    // APs (its aruba_os is the controllers', which sends `no paging`, a
    // command oxidized never sends to an IAP).
    // netmiko brocade/brocade_fos_ssh.py: no enable, no pager command.
    ("brocade_fos", "brocade_fos", "configshow -all"),
    // netmiko has no airOS device type; its linux one drives BusyBox's
    // shell as it drives bash.
    ("ubiquiti_airos", "linux", "cat /tmp/system.cfg"),
    // netmiko zyxel/zyxel_ssh.py: no enable, no pager command; it finds
    // the base prompt before the `ESC 7` ZyNOS prints after it.
    ("zyxel_os", "zyxel_os", "show running-config"),
    // netmiko ciena/ciena_saos.py turns the session's pager off.
    ("ciena_saos", "ciena_saos", "configuration show"),
    ("netgear_prosafe", "netgear_prosafe", "show running-config"),
    (
        "tplink_jetstream",
        "tplink_jetstream",
        "show running-config",
    ),
    // netmiko dlink/dlink_ds.py: no enable, `disable clipaging`.
    ("dlink_ds", "dlink_ds", "show config current_config"),
    // edgecore, opengear and cisco_fxos are not here: netmiko has no
    // EdgeCOS device type (its edgecore_sonic is SONiC), none for Opengear's
    // classic firmware and none for FXOS.
    (
        "cumulus_nclu",
        "cumulus_linux",
        "net show configuration commands",
    ),
    ("ericsson_ipos", "ericsson_ipos", "show configuration"),
    ("cisco_nxos", "cisco_nxos", "show running-config"),
    ("cisco_iosxr", "cisco_xr", "show running-config"),
    ("cisco_asa", "cisco_asa", "show running-config"),
    ("arista_eos", "arista_eos", "show running-config"),
    // A plain `show configuration` prints the whole configuration on Junos.
    ("juniper_junos", "juniper_junos", "show configuration"),
    ("mikrotik_routeros", "mikrotik_routeros", "/export"),
    ("fortinet_fortios", "fortinet", "show full-configuration"),
    ("paloalto_panos", "paloalto_panos", "show config running"),
    ("huawei_vrp", "huawei", "display current-configuration"),
    ("hp_procurve", "hp_procurve", "show running-config"),
    ("dell_os10", "dell_os10", "show running-configuration"),
    ("vyos", "vyos", "show configuration commands"),
    ("linux", "linux", "cat /etc/network/interfaces"),
    // netmiko extreme/extreme_vsp_ssh.py; `enable()` sends no secret
    // unless the switch asks.
    ("extreme_voss", "extreme_vsp", "show running-config"),
    ("dell_os6", "dell_os6", "show running-config"),
    // sonicwall_sonicos is not here: netmiko has no SonicOS device type.
    ("a10_acos", "a10", "show running-config"),
    (
        "watchguard_fireware",
        "watchguard_fireware",
        "export config to console",
    ),
    // netmiko mellanox/mellanox_mlnxos_ssh.py: `enable()` sends no secret.
    ("nvidia_onyx", "mellanox_mlnxos", "show running-config"),
    ("nokia_sros", "nokia_sros", "admin display-config"),
    ("citrix_netscaler", "netscaler", "show ns runningConfig"),
    (
        "cumulus_nvue",
        "cumulus_linux",
        "nv config show -o commands",
    ),
    ("aruba_aoscx", "aruba_aoscx", "show running-config"),
    ("hp_comware", "hp_comware", "display current-configuration"),
    ("ruckus_fastiron", "ruckus_fastiron", "show running-config"),
    ("extreme_exos", "extreme_exos", "show configuration"),
    ("dell_os9", "dell_os9", "show running-config"),
    (
        "alliedtelesis_awplus",
        "allied_telesis_awplus",
        "show running-config",
    ),
    (
        "ubiquiti_edgeos",
        "ubiquiti_edgerouter",
        "show configuration commands",
    ),
    // netmiko answers the controller's in-band `User:` and `Password:`.
    ("cisco_wlc", "cisco_wlc", "show run-config commands"),
    // netmiko enters tmsh (`tmsh`) and sets the width through bash first.
    ("f5_tmos", "f5_tmsh", "show running-config"),
    ("checkpoint_gaia", "checkpoint_gaia", "show configuration"),
    ("aruba_os", "aruba_os", "show running-config"),
    ("cisco_viptela", "cisco_viptela", "show running-config"),
    ("juniper_screenos", "juniper_screenos", "get config"),
    ("brocade_ironware", "brocade_netiron", "show running-config"),
    // cisco_ftd is not here: netmiko's cisco_ftd sends no pager command and
    // relies on the 1000-line terminal it asks for, while the simulator
    // pages at its own page length whatever the terminal's height.
    // cisco_smb is not here: netmiko's cisco_s300 needs `ip ssh
    // password-auth` on the switch, i.e. no second, in-band login
    // (netmiko cisco/cisco_s300.py), and the simulator asks for it as the
    // switch does by default.
];

/// One Python process backs up every device given on stdin (a line of
/// `device_type port enable command` each, one thread per device) with
/// netmiko's defaults: only the
/// credentials are given, and `enable()` runs on the platforms whose
/// configuration needs privileged mode. Prints one JSON object per device.
const FLEET_SCRIPT: &str = r#"
import json, os, sys, traceback
from concurrent.futures import ThreadPoolExecutor
from netmiko import ConnectHandler

def backup(line):
    device_type, port, enable, command = line.split(" ", 3)
    result = {"device_type": device_type}
    try:
        conn = ConnectHandler(
            device_type=device_type,
            host="127.0.0.1",
            port=int(port),
            username="admin",
            password=os.environ["SIM_PASSWORD"],
            secret=os.environ["SIM_SECRET"],
        )
        if enable == "yes":
            conn.enable()
        result["output"] = conn.send_command(command)
        conn.disconnect()
    except Exception:
        result["error"] = traceback.format_exc()
    return result

# One thread per device: netmiko spends most of its time waiting.
lines = sys.stdin.read().splitlines()
with ThreadPoolExecutor(max_workers=len(lines)) as pool:
    for result in pool.map(backup, lines):
        print(json.dumps(result), flush=True)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netmiko_backs_up_every_simulated_platform_with_its_stock_device_type() {
    let sim = Simulator::start(SimConfig {
        devices: STOCK.len(),
        platforms: STOCK.iter().map(|(p, _, _)| (*p).to_owned()).collect(),
        password: "pa55word".into(),
        enable_secret: "en4ble".into(),
        config_lines: 120,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let input: String = sim
        .devices()
        .iter()
        .zip(STOCK)
        .map(|(d, (platform, device_type, command))| {
            let enable = devicevault_sim::personality::personality(platform)
                .is_some_and(|p| p.privileged_prompt.is_some());
            let enable = if enable { "yes" } else { "no" };
            format!("{device_type} {} {enable} {command}\n", d.port())
        })
        .collect();
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new(peers_python())
            .args(["-c", FLEET_SCRIPT])
            .env("SIM_PASSWORD", "pa55word")
            .env("SIM_SECRET", "en4ble")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut failures = Vec::new();
    for (line, (d, (platform, device_type, _))) in
        stdout.lines().zip(sim.devices().iter().zip(STOCK))
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(e) = v["error"].as_str() {
            // The exception's own lines, not the traceback's frames.
            let why: Vec<&str> = e
                .lines()
                .skip_while(|l| {
                    !l.starts_with(|c: char| c.is_ascii_alphabetic()) || l.starts_with("Traceback")
                })
                .collect();
            failures.push(format!(
                "{platform} ({device_type}): {}",
                why.join("\n    ")
            ));
            continue;
        }
        let output = v["output"].as_str().unwrap();
        let got: Vec<&str> = output.lines().collect();
        // What the device prints, line for line; a volatile line may carry
        // another date than the session netmiko saw, so only its place counts.
        let mut held = d.running_config_lines();
        while held.last().is_some_and(|l| l.text.is_empty()) {
            held.pop();
        }
        // netmiko citrix/netscaler_ssh.py strips the ` Done` that ends
        // every NetScaler command's output ("Strip 'Done' from command
        // output").
        if *device_type == "netscaler" && held.last().is_some_and(|l| l.text.trim() == "Done") {
            held.pop();
        }
        let mut got_trimmed = got.clone();
        while got_trimmed.last().is_some_and(|l| l.trim().is_empty()) {
            got_trimmed.pop();
        }
        while got_trimmed.first().is_some_and(|l| l.trim().is_empty())
            && held.first().is_some_and(|l| !l.text.is_empty())
        {
            got_trimmed.remove(0);
        }
        let differs = got_trimmed.len() != held.len()
            || got_trimmed
                .iter()
                .zip(&held)
                .any(|(g, h)| !h.volatile && *g != h.text);
        if differs {
            let at = got_trimmed
                .iter()
                .zip(&held)
                .position(|(g, h)| !h.volatile && *g != h.text);
            failures.push(format!(
                "{platform} ({device_type}): body differs at line {at:?} ({} lines, expected {}): got {:?}, expected {:?}",
                got_trimmed.len(),
                held.len(),
                at.map(|i| got_trimmed[i]),
                at.map(|i| &held[i].text),
            ));
        }
    }
    assert_eq!(
        stdout.lines().count(),
        STOCK.len(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        failures.is_empty(),
        "netmiko failed on:\n{}",
        failures.join("\n")
    );
}
