//! Starts a large fleet in this process and reports what it costs: start
//! time, peak and current RSS, open file descriptors; then fetches some
//! devices' configurations over SSH and reports the memory again.
//!
//! `cargo run --release -p devicevault-sim --example sim_scale -- <devices> [ports|block] [fetch]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use devicevault_sim::{SimConfig, SimDevice, Simulator};
use russh::ChannelMsg;
use russh::client::{self, Handler};
use russh::keys::PublicKeyOrCertificate;

struct AnyKey;

impl Handler for AnyKey {
    type Error = russh::Error;

    async fn check_server_key(&mut self, _: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn report(what: &str) {
    println!(
        "{what:<28} VmHWM {:>7.1} MiB  VmRSS {:>7.1} MiB  fds {}",
        status_kb("VmHWM") as f64 / 1024.0,
        status_kb("VmRSS") as f64 / 1024.0,
        open_fds()
    );
}

/// The configuration of `d` over an exec channel (the fleet is Linux hosts).
async fn fetch(d: &SimDevice) -> usize {
    let config = Arc::new(client::Config::default());
    let mut h = client::connect(config, d.addr(), AnyKey)
        .await
        .expect("connect");
    let auth = h
        .authenticate_password(d.username(), d.password())
        .await
        .expect("authenticate");
    assert!(auth.success());
    let mut ch = h.channel_open_session().await.expect("channel");
    ch.exec(true, "cat /etc/network/interfaces")
        .await
        .expect("exec");
    let mut n = 0;
    while let Some(msg) = ch.wait().await {
        match msg {
            ChannelMsg::Data { data } => n += data.len(),
            ChannelMsg::Eof | ChannelMsg::Close => break,
            _ => {}
        }
    }
    n
}

fn main() {
    let mut args = std::env::args().skip(1);
    let devices: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let mode = args.next().unwrap_or_else(|| "block".into());
    let fetches: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        report("before start");
        let fds = open_fds();
        let t = Instant::now();
        let mut cfg = SimConfig {
            devices,
            platforms: vec!["linux".into()],
            config_lines: 200,
            ..SimConfig::default()
        };
        if mode == "block" {
            cfg.address_block = Some(std::net::Ipv4Addr::new(127, 1, 0, 1));
        }
        let sim = Simulator::start(cfg).await.expect("start");
        let took = t.elapsed();
        println!(
            "started {devices} devices ({mode}) in {:.2} s; {} more fds",
            took.as_secs_f64(),
            open_fds() - fds
        );
        println!("{}", sim.summary());
        report("after start");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = Instant::now();
        let step = (devices / fetches.max(1)).max(1);
        let mut bytes = 0;
        for chunk in sim
            .devices()
            .iter()
            .step_by(step)
            .take(fetches)
            .collect::<Vec<_>>()
            .chunks(16)
        {
            let got = futures_join(chunk).await;
            bytes += got;
        }
        println!(
            "fetched {fetches} configurations ({bytes} bytes) in {:.2} s",
            t.elapsed().as_secs_f64()
        );
        report("after the fetches");
    });
}

async fn futures_join(devs: &[&SimDevice]) -> usize {
    let tasks: Vec<_> = devs
        .iter()
        .map(|d| {
            let d = (*d).clone();
            tokio::spawn(async move { fetch(&d).await })
        })
        .collect();
    let mut n = 0;
    for t in tasks {
        n += t.await.expect("fetch task");
    }
    n
}
