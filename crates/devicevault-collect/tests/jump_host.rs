//! Collection through an SSH jump host (OpenSSH's `ProxyJump`): the device
//! is one of the simulator's hidden devices, reachable only through the
//! simulator's jump host (cross-checked with the OpenSSH client in
//! `devicevault-sim/tests/openssh_jump.rs`).

use std::sync::Arc;
use std::time::Duration;

use devicevault_collect::{
    CollectError, CollectOptions, Credential, DeviceTarget, DriverSet, JumpTarget, KnownHosts,
    Transport, collect,
};
use devicevault_sim::{JumpHost, SimConfig, Simulator};

async fn bastion() -> (Simulator, JumpHost) {
    let fleet = Simulator::start_hidden(SimConfig {
        devices: 2,
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
    (fleet, jump)
}

fn behind(jump: &JumpHost, host: &str) -> DeviceTarget {
    let mut t = DeviceTarget::password(host, 22, "admin", "pa55word", "cisco_ios");
    t.enable_secret = Some("en4ble".into());
    t.jump = Some(JumpTarget {
        host: "127.0.0.1".into(),
        port: jump.addr().port(),
        username: "jump".into(),
        credential: Credential::Password("jump-pw".into()),
    });
    t
}

fn opts(known_hosts: Arc<KnownHosts>) -> CollectOptions {
    let mut o = CollectOptions::new(known_hosts);
    o.connect_timeout = Duration::from_secs(10);
    o.command_timeout = Duration::from_secs(10);
    o.job_timeout = Duration::from_secs(30);
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_reachable_only_through_the_jump_host_is_collected_and_both_keys_are_pinned() {
    let (fleet, jump) = bastion().await;
    let d = fleet.devices()[1].clone();
    let pins = Arc::new(KnownHosts::in_memory());
    let got = collect(
        &behind(&jump, &d.addr().ip().to_string()),
        &DriverSet::builtin(),
        &opts(pins.clone()),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8(got.config).unwrap();
    assert!(text.contains("hostname r0002"), "{text}");
    assert_eq!(jump.opened(), ["10.255.0.2:22"]);
    assert_eq!(d.sessions(), 1);
    // Both host keys were pinned on first use, each under its own name.
    let pinned = |host: &str, port: u16, fp: &str| {
        pins.pinned_fingerprint(host, port).is_some_and(|f| f == fp)
    };
    assert!(pinned("10.255.0.2", 22, &d.host_key_fingerprint()));
    assert!(pinned(
        "127.0.0.1",
        jump.addr().port(),
        &jump.host_key_fingerprint()
    ));

    // A changed device key behind the jump host is refused like a direct one.
    d.rotate_host_key();
    let e = collect(
        &behind(&jump, "10.255.0.2"),
        &DriverSet::builtin(),
        &opts(pins),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, CollectError::HostKeyMismatch { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_the_jump_host_refuses_and_a_wrong_jump_login_fail_with_their_reason() {
    let (_fleet, jump) = bastion().await;
    let pins = Arc::new(KnownHosts::in_memory());
    let e = collect(
        &behind(&jump, "10.255.0.99"),
        &DriverSet::builtin(),
        &opts(pins.clone()),
    )
    .await
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, CollectError::Connect { .. }) && msg.contains("AdministrativelyProhibited"),
        "{msg}"
    );
    assert!(
        msg.contains("admin@10.255.0.99:22"),
        "names the device: {msg}"
    );

    let mut t = behind(&jump, "10.255.0.1");
    if let Some(j) = &mut t.jump {
        j.credential = Credential::Password("wrong".into());
    }
    let e = collect(&t, &DriverSet::builtin(), &opts(pins))
        .await
        .unwrap_err();
    assert!(matches!(e, CollectError::AuthFailed { .. }), "{e}");
    assert!(
        e.to_string().contains("jump@127.0.0.1"),
        "names the jump host: {e}"
    );

    // Telnet through a jump host is refused before anything connects.
    t.transport = Transport::Telnet;
    let e = collect(
        &t,
        &DriverSet::builtin(),
        &opts(Arc::new(KnownHosts::in_memory())),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, CollectError::Unsupported { .. }), "{e}");
}
