//! Configuration drift through a running simulator: the control endpoint
//! over real HTTP, and the periodic drift.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devicevault_sim::{Change, SimConfig, SimDevice, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn sim(platforms: &[&str]) -> Simulator {
    Simulator::start(SimConfig {
        devices: platforms.len(),
        platforms: platforms.iter().map(|p| (*p).to_owned()).collect(),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// Sends `request` as is; returns the status and the body.
async fn raw(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {out:?}"));
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
}

async fn call(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    raw(
        addr,
        &format!("{method} {path} HTTP/1.1\r\nhost: sim\r\ncontent-length: 2\r\n\r\n{{}}"),
    )
    .await
}

#[tokio::test]
async fn a_named_device_changes_over_http_and_an_unknown_name_is_a_404() {
    let s = sim(&["cisco_ios", "juniper_junos"]).await;
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = heard.clone();
    let addr = s
        .serve_control(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(move |d: &SimDevice, c: &Change| {
                log.lock().unwrap().push(format!("{} {c}", d.name()))
            }),
        )
        .await
        .unwrap();
    let junos = s.device_named("r0002").unwrap().clone();
    let before = junos.stable_config_lines();

    let (status, body) = call(addr, "POST", "/devices/r0002/change?author=jdoe").await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["device"], "r0002");
    assert_eq!(v["platform"], "juniper_junos");
    assert_eq!(v["revision"], 1);
    assert_eq!(v["author"], "jdoe");
    assert!(
        ["description", "acl-entry", "local-user"].contains(&v["kind"].as_str().unwrap()),
        "{v}"
    );
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .starts_with("revision 1 by jdoe: "),
        "{v}"
    );
    // Only that device changed, by a few lines, and says who did it.
    assert_eq!(junos.revision(), 1);
    assert_eq!(s.device_named("r0001").unwrap().revision(), 0);
    let after = junos.stable_config_lines();
    let added = after.iter().filter(|l| !before.contains(l)).count();
    assert!((1..=9).contains(&added), "{added} lines added");
    assert!(junos.running_config_lines().iter().any(|l| l.volatile
        && l.text.starts_with("## Last commit: ")
        && l.text.ends_with(" by jdoe")),);
    assert_eq!(heard.lock().unwrap().len(), 1);
    assert!(heard.lock().unwrap()[0].starts_with("r0002 revision 1 by jdoe: "));

    // Without an author, one is picked; again and again, each a new revision.
    let (status, body) = call(addr, "POST", "/devices/r0001/change").await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(addr, "POST", "/devices/r0001/change").await;
    assert_eq!(status, 200);
    assert_eq!(s.device_named("r0001").unwrap().revision(), 2);

    for (method, path, want) in [
        ("POST", "/devices/r0009/change", 404),
        ("POST", "/devices//change", 404),
        ("POST", "/devices/r0001", 404),
        ("GET", "/", 404),
        ("GET", "/devices/r0001/change", 405),
        ("PUT", "/devices/r0001/change", 405),
        ("POST", "/devices/r0001/change?author=two%20words", 400),
    ] {
        let (status, body) = call(addr, method, path).await;
        assert_eq!(status, want, "{method} {path}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(v["error"].is_string(), "{v}");
    }
    let (status, _) = raw(addr, "hello there\r\n\r\n").await;
    assert_eq!(status, 400);
    assert_eq!(s.device_named("r0001").unwrap().revision(), 2);
    assert_eq!(heard.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn periodic_drift_changes_the_devices_in_turn() {
    let s = sim(&["cisco_ios", "arista_eos", "mikrotik_routeros"]).await;
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = heard.clone();
    s.drift_every(
        Duration::from_millis(20),
        Arc::new(move |d: &SimDevice, _: &Change| log.lock().unwrap().push(d.name().to_owned())),
    );
    let started = Instant::now();
    while heard.lock().unwrap().len() < 4 {
        assert!(started.elapsed() < Duration::from_secs(10), "no drift");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let order = heard.lock().unwrap()[..4].to_vec();
    assert_eq!(order, ["r0001", "r0002", "r0003", "r0001"]);
    assert!(s.devices().iter().all(|d| d.revision() >= 1));
    s.stop();
    let n = heard.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(heard.lock().unwrap().len(), n, "no drift after stop");
}
