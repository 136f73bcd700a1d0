//! The simulator's jump host against the real OpenSSH client, so it
//! behaves as a bastion running `sshd` does, not as our collector expects:
//! `ssh -W` (what `ProxyJump` runs) reaches a hidden device's SSH server,
//! a full login goes through it with `ProxyCommand` (keys only, so no
//! `sshpass` is needed), and a destination behind nothing is refused
//! "administratively prohibited".

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use devicevault_sim::{JumpHost, SimConfig, Simulator};
use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;

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

/// A hidden cisco_ios device, a jump host that lets a throwaway key in,
/// and that key in a file `ssh -i` accepts.
async fn bastion() -> (Simulator, JumpHost, tempfile::TempDir, String) {
    let fleet = Simulator::start_hidden(SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        password: "pa55word".into(),
        enable_secret: "en4ble".into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let jump = JumpHost::start("127.0.0.1:0".parse().unwrap(), "jump", "jump-pw", &fleet)
        .await
        .unwrap();
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&[0x11; 32]));
    jump.authorize_key(key.public_key().clone());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("id_ed25519");
    std::fs::write(&path, key.to_openssh(LineEnding::LF).unwrap().as_bytes()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (fleet, jump, dir, path)
}

/// `ssh` options for throwaway hosts and a key file.
fn common(key: &str) -> Vec<String> {
    [
        "-i",
        key,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=10",
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_w_reaches_a_hidden_device_and_another_destination_is_administratively_prohibited() {
    require("ssh");
    let (fleet, jump, _dir, key) = bastion().await;
    let d = fleet.devices()[0].clone();
    assert_eq!(d.addr().to_string(), "10.255.0.1:22");
    let port = jump.addr().port().to_string();
    let args = common(&key);
    let (banner, refused) = tokio::task::spawn_blocking(move || {
        // `ssh -W host:port` is the jump half of ProxyJump: its standard
        // output is the channel, so the device's SSH banner comes out.
        let mut child = Command::new("ssh")
            .args(&args)
            .args(["-o", "LogLevel=ERROR"])
            .args(["-p", &port, "-W", "10.255.0.1:22", "jump@127.0.0.1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ssh starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let _ = child.kill();
        let _ = child.wait();
        let refused = Command::new("ssh")
            .args(&args)
            .args(["-o", "LogLevel=INFO"])
            .args(["-p", &port, "-W", "10.255.0.99:22", "jump@127.0.0.1"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (line, refused)
    })
    .await
    .unwrap();
    assert!(
        banner.starts_with("SSH-2.0-Cisco"),
        "the device's banner through the channel: {banner:?}"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("administratively prohibited"),
        "as sshd refuses a destination PermitOpen does not list: {stderr}"
    );
    assert_eq!(jump.opened(), ["10.255.0.1:22"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssh_logs_in_to_a_hidden_device_through_the_jump_host() {
    require("ssh");
    let (fleet, jump, _dir, key) = bastion().await;
    let d = fleet.devices()[0].clone();
    let user_key = PrivateKey::from(Ed25519Keypair::from_seed(&[0x11; 32]));
    d.authorize_key(user_key.public_key().clone());
    // What `ssh -J` runs: ProxyCommand `ssh -W %h:%p` to the jump host.
    let proxy = format!(
        "ProxyCommand=ssh {} -o LogLevel=ERROR -p {} -W %h:%p jump@127.0.0.1",
        common(&key).join(" "),
        jump.addr().port()
    );
    let args = common(&key);
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("ssh")
            .arg("-tt")
            .args(&args)
            .args(["-o", "LogLevel=ERROR", "-o", &proxy, "admin@10.255.0.1"])
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
    assert!(stdout.contains("hostname r0001"), "no config:\n{stdout}");
    assert_eq!(d.sessions(), 1);
    // Nothing of the simulator listens at the device's address (a
    // sandbox may still accept the connection): no device answers there.
    assert!(
        !direct_banner(d.addr()).await.starts_with("SSH-2.0-Cisco"),
        "the hidden device must not be reachable directly"
    );
}

/// What a direct TCP connection to `addr` says within two seconds.
async fn direct_banner(addr: std::net::SocketAddr) -> String {
    use tokio::io::AsyncReadExt;
    let attempt = async {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
        let mut buf = [0u8; 64];
        let n = tcp.read(&mut buf).await.ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}
