//! Against a real peer nobody on this project wrote: fakenos (PyPI), a
//! Python simulator of network operating systems over paramiko SSH.
//!
//! Needs `python3 -m venv .venv-peers && .venv-peers/bin/pip install fakenos`
//! at the workspace root, or `DEVICEVAULT_FAKENOS` naming the `fakenos` binary.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use devicevault_collect::{CollectOptions, DeviceTarget, DriverSet, KnownHosts, collect};

struct Fakenos(Child);

impl Drop for Fakenos {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fakenos_binary() -> PathBuf {
    let path = std::env::var_os("DEVICEVAULT_FAKENOS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-peers/bin/fakenos"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "fakenos not found at {}: run `python3 -m venv .venv-peers && .venv-peers/bin/pip install fakenos` \
         at the workspace root, or set DEVICEVAULT_FAKENOS",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_backs_up_fakenos_cisco_ios_and_arista_eos() {
    let bin = fakenos_binary();
    let (ios_port, eos_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yaml");
    std::fs::write(
        &inventory,
        format!(
            "default:\n  username: admin\n  password: admin\n  server: {{plugin: ParamikoSshServer, configuration: {{address: 127.0.0.1, timeout: 1}}}}\n\
             hosts:\n  R1: {{port: {ios_port}, platform: cisco_ios}}\n  SW1: {{port: {eos_port}, platform: arista_eos}}\n"
        ),
    )
    .unwrap();
    let _peer = Fakenos(
        Command::new(&bin)
            .arg("-i")
            .arg(&inventory)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("fakenos starts"),
    );
    // fakenos needs a few seconds to listen; wait for both ports, bounded.
    for port in [ios_port, eos_port] {
        let mut up = false;
        for _ in 0..150 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(up, "fakenos did not listen on {port} within 15 s");
    }
    let drivers = DriverSet::builtin();
    let opts = CollectOptions::new(Arc::new(KnownHosts::in_memory()));

    let mut r1 = DeviceTarget::password("127.0.0.1", ios_port, "admin", "admin", "cisco_ios");
    r1.enable_secret = Some("admin".into());
    let ios = String::from_utf8(collect(&r1, &drivers, &opts).await.unwrap().config).unwrap();
    assert!(ios.lines().any(|l| l == "hostname R1"), "{ios}");
    assert!(ios.lines().any(|l| l == "aaa new-model"), "{ios}");
    assert!(ios.lines().any(|l| l == "vrf definition MGMT"), "{ios}");
    assert!(
        !ios.contains("R1#") && !ios.contains("show running-config"),
        "{ios}"
    );

    let mut sw1 = DeviceTarget::password("127.0.0.1", eos_port, "admin", "admin", "arista_eos");
    sw1.enable_secret = Some("admin".into());
    let eos = String::from_utf8(collect(&sw1, &drivers, &opts).await.unwrap().config).unwrap();
    assert!(
        eos.lines().any(|l| l.starts_with("! device: SW1 (cEOSLab")),
        "{eos}"
    );
    assert!(
        eos.lines()
            .any(|l| l == "service routing protocols model ribd"),
        "{eos}"
    );
    assert!(
        eos.lines().any(|l| l == "logging host 1.1.1.1 514"),
        "{eos}"
    );
    // The volatile header line is filtered out.
    assert!(!eos.contains("! Command: show running-config"), "{eos}");
    assert!(!eos.contains("SW1#"), "{eos}");
}
