//! A real client, OpenSSH's `ssh -tt` with `sshpass` for the password, logs
//! in to a simulated device and fetches its configuration.

use std::io::Write;
use std::process::{Command, Stdio};

use devicevault_sim::{SimConfig, Simulator};

fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is required by this test: install it with `apt-get install -y sshpass openssh-client`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssh_logs_in_enables_and_prints_the_running_config() {
    require("ssh");
    require("sshpass");
    let sim = Simulator::start(SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        password: "pa55word".into(),
        enable_secret: "en4ble".into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let d = sim.devices()[0].clone();
    let port = d.port().to_string();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("sshpass")
            .args(["-p", "pa55word", "ssh", "-tt", "-p", &port])
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "PubkeyAuthentication=no",
                "admin@127.0.0.1",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ssh starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"enable\nen4ble\nterminal length 0\nshow running-config\nexit\n")
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ssh failed: {stderr}\n{stdout}");
    assert!(stdout.contains("r0001>"), "no user prompt:\n{stdout}");
    assert!(stdout.contains("r0001#"), "enable failed:\n{stdout}");
    assert!(stdout.contains("hostname r0001"), "no config:\n{stdout}");
    assert!(
        stdout.contains("link-0 rev0") && stdout.contains("\nend"),
        "config cut:\n{stdout}"
    );
    assert_eq!(d.sessions(), 1);
}
