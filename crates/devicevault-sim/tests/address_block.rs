//! Address-block mode (issue 21): a fleet behind one listener, each device
//! at its own loopback address, found from the address the client dialled.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use devicevault_sim::{SimConfig, SimDevice, Simulator};
use russh::ChannelMsg;
use russh::client::{self, Handler};
use russh::keys::PublicKeyOrCertificate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DEVICES: usize = 3_000;

/// Accepts any host key and remembers its fingerprint.
struct SeenKey(Arc<Mutex<Option<String>>>);

impl Handler for SeenKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        if let PublicKeyOrCertificate::PublicKey { key: k, .. } = key {
            *self.0.lock().unwrap() = Some(k.fingerprint(russh::keys::HashAlg::Sha256).to_string());
        }
        Ok(true)
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Even devices are Linux hosts (configuration over exec), odd ones IOS.
async fn fleet() -> Simulator {
    Simulator::start(SimConfig {
        devices: DEVICES,
        address_block: Some(Ipv4Addr::new(127, 1, 0, 1)),
        platforms: vec!["linux".into(), "cisco_ios".into()],
        password: "pa55word".into(),
        config_lines: 60,
        telnet_base_port: Some(0),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// The host key fingerprint presented at `d`'s address and the
/// configuration its Linux shell prints there.
async fn fetch(d: &SimDevice) -> (String, String) {
    let seen = Arc::new(Mutex::new(None));
    let config = Arc::new(client::Config::default());
    let mut h = client::connect(config, d.addr(), SeenKey(seen.clone()))
        .await
        .unwrap();
    let auth = h.authenticate_password("admin", "pa55word").await.unwrap();
    assert!(auth.success(), "{} refused the login", d.name());
    let mut ch = h.channel_open_session().await.unwrap();
    ch.exec(true, "cat /etc/network/interfaces").await.unwrap();
    let mut out = Vec::new();
    let read = async {
        while let Some(msg) = ch.wait().await {
            match msg {
                ChannelMsg::Data { data } => out.extend_from_slice(&data),
                ChannelMsg::Eof | ChannelMsg::Close => break,
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the configuration within 10 s");
    let key = seen.lock().unwrap().clone().expect("a host key");
    (key, String::from_utf8(out).unwrap())
}

/// Connects to `addr` and returns what arrives before the connection ends
/// (an error counts as the end: a reset).
async fn bytes_before_close(addr: SocketAddr) -> Vec<u8> {
    let Ok(mut sock) = TcpStream::connect(addr).await else {
        return Vec::new();
    };
    let mut got = Vec::new();
    let read = async {
        let mut buf = [0u8; 256];
        while let Ok(n @ 1..) = sock.read(&mut buf).await {
            got.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("closed within 5 s");
    got
}

#[tokio::test]
async fn a_fleet_in_an_address_block_holds_a_few_descriptors_and_each_address_is_its_own_device() {
    let before = open_fds();
    let sim = fleet().await;
    let held = open_fds().saturating_sub(before);
    assert!(
        held < 20,
        "{DEVICES} devices should share their listeners; {held} descriptors were opened"
    );
    let devices = sim.devices();
    assert_eq!(
        devices[0].addr().ip(),
        IpAddr::V4(Ipv4Addr::new(127, 1, 0, 1))
    );
    assert!(devices.iter().all(|d| d.port() == devices[0].port()));
    assert_eq!(
        devices[254].addr().ip(),
        IpAddr::V4(Ipv4Addr::new(127, 1, 1, 1))
    );
    assert_eq!(
        devices[DEVICES - 1].addr().ip(),
        IpAddr::V4(Ipv4Addr::new(127, 1, 11, 206))
    );

    // Devices at different addresses, across /24 boundaries: each answers
    // with its own host key and its own configuration.
    let mut configs = Vec::new();
    for i in [0, 2, 254, 1016, DEVICES - 2] {
        let d = &devices[i];
        assert_eq!(d.platform(), "linux");
        let (key, config) = fetch(d).await;
        assert_eq!(key, d.host_key_fingerprint(), "host key at {}", d.addr());
        let expected = d.stable_config_lines();
        let got: Vec<&str> = config.lines().collect();
        for line in &expected {
            assert!(got.contains(&line.as_str()), "{} lacks {line:?}", d.name());
        }
        assert!(
            config.contains(d.name()),
            "{} not named in its configuration",
            d.name()
        );
        configs.push(config);
    }
    configs.dedup();
    assert_eq!(
        configs.len(),
        5,
        "every device prints its own configuration"
    );

    // Telnet shares one listener too, and finds its device the same way.
    let d = &devices[DEVICES - 1];
    assert_eq!(d.platform(), "cisco_ios");
    let telnet = SocketAddr::new(d.addr().ip(), d.telnet_port().unwrap());
    let mut sock = TcpStream::connect(telnet).await.unwrap();
    let mut seen = Vec::new();
    until(&mut sock, &mut seen, b"Username: ").await;
    sock.write_all(b"admin\r\n").await.unwrap();
    until(&mut sock, &mut seen, b"Password: ").await;
    sock.write_all(b"pa55word\r\n").await.unwrap();
    until(&mut sock, &mut seen, b"r3000>").await;
}

async fn until(sock: &mut TcpStream, seen: &mut Vec<u8>, needle: &[u8]) {
    let read = async {
        let mut buf = [0u8; 1024];
        while !seen.windows(needle.len()).any(|w| w == needle) {
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed; got {:?}", String::from_utf8_lossy(seen));
            seen.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no {:?}; got {:?}",
                String::from_utf8_lossy(needle),
                String::from_utf8_lossy(seen)
            )
        });
    seen.clear();
}

#[tokio::test]
async fn an_address_of_the_block_that_is_no_device_is_closed_unanswered() {
    let sim = fleet().await;
    let d = &sim.devices()[0];
    let port = d.port();
    // A device's address answers with its SSH banner...
    let mut sock = TcpStream::connect(d.addr()).await.unwrap();
    let mut banner = [0u8; 8];
    sock.read_exact(&mut banner).await.unwrap();
    assert_eq!(&banner, b"SSH-2.0-");
    // ...the address after the last device, a .0 inside the block and
    // 127.0.0.1 (not in it) get nothing on SSH or Telnet.
    let last = sim.devices()[DEVICES - 1].addr().ip();
    let IpAddr::V4(last) = last else {
        unreachable!()
    };
    let past = Ipv4Addr::from(u32::from(last) + 1);
    for ip in [past, Ipv4Addr::new(127, 1, 1, 0), Ipv4Addr::LOCALHOST] {
        for p in [port, d.telnet_port().unwrap()] {
            let got = bytes_before_close(SocketAddr::new(IpAddr::V4(ip), p)).await;
            assert!(
                got.is_empty(),
                "{ip}:{p} answered {:?}",
                String::from_utf8_lossy(&got)
            );
        }
    }
}

#[tokio::test]
async fn no_configuration_is_generated_before_a_device_is_contacted() {
    let sim = fleet().await;
    assert_eq!(sim.configs_generated(), 0);
    let d = &sim.devices()[4];
    let _ = fetch(d).await;
    assert_eq!(sim.configs_generated(), 1, "one session, one configuration");
}

#[tokio::test]
async fn a_block_that_leaves_loopback_is_refused() {
    let err = Simulator::start(SimConfig {
        devices: 300,
        address_block: Some(Ipv4Addr::new(127, 255, 255, 1)),
        ..SimConfig::default()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("127.0.0.0/8"), "{err}");
}

#[test]
fn a_fleet_moves_to_an_address_block_only_when_one_listener_each_does_not_fit() {
    let mut small = SimConfig {
        devices: 10_000,
        ..SimConfig::default()
    };
    assert!(!small.spread_if_needed(20_000, 4096));
    assert_eq!(small.address_block, None);
    let mut large = SimConfig {
        devices: 100_000,
        ..SimConfig::default()
    };
    assert!(large.spread_if_needed(20_000, 4096));
    assert_eq!(
        large.address_block,
        Some(devicevault_sim::ADDRESS_BLOCK_START)
    );
    assert_eq!(large.listening_sockets(), 1);
    let mut past_the_ports = SimConfig {
        devices: 20_000,
        base_port: 50_000,
        ..SimConfig::default()
    };
    assert!(past_the_ports.spread_if_needed(1_000_000, 0));
    let mut exposed = SimConfig {
        devices: 100_000,
        bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        ..SimConfig::default()
    };
    assert!(
        !exposed.spread_if_needed(20_000, 4096),
        "never moved off the address it was given"
    );
}
