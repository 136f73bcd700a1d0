//! `devicevault-bench login`: a flood of wrong logins against `serve` (a
//! child process, so its memory is its own), with a correct login of
//! another user in the middle of it.
//!
//! Each wrong login comes from its own loopback address (127.0.x.y), so the
//! per-address limit does not hide the cost of password verification: what
//! bounds the server's memory here is the verification concurrency alone.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::proc_stats::status_bytes;
use crate::util::{ms, percentile};

/// Arguments of `bench login`.
#[derive(Debug, Args)]
pub struct LoginBench {
    /// Wrong logins sent at once, each from its own loopback address.
    #[arg(long, default_value_t = 256)]
    concurrent: usize,
    /// Waves of `concurrent` logins.
    #[arg(long, default_value_t = 4)]
    waves: usize,
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// POSTs a login from `from`; returns the status and the elapsed time.
async fn login(
    from: IpAddr,
    server: SocketAddr,
    user: &str,
    password: &str,
) -> anyhow::Result<(u16, Duration)> {
    let started = Instant::now();
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    let mut s = socket.connect(server).await?;
    let body = serde_json::json!({"username": user, "password": password}).to_string();
    let req = format!(
        "POST /api/auth/login/ HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    let status = String::from_utf8_lossy(&out)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, started.elapsed()))
}

fn rss(pid: u32) -> f64 {
    status_bytes(&pid.to_string(), "VmRSS").unwrap_or(0) as f64 / 1e6
}

fn hwm(pid: u32) -> f64 {
    status_bytes(&pid.to_string(), "VmHWM").unwrap_or(0) as f64 / 1e6
}

fn user_create(exe: &Path, data: &Path, name: &str, password: &str) -> anyhow::Result<()> {
    let out = Command::new(exe)
        .args([
            "user",
            "create",
            "--username",
            name,
            "--password-env",
            "DV_BENCH_PW",
        ])
        .arg("--data-dir")
        .arg(data)
        .env("DV_BENCH_PW", password)
        .output()?;
    if !out.status.success() {
        bail!("user create: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

pub fn run(args: LoginBench) -> anyhow::Result<()> {
    if args.concurrent == 0 || args.concurrent > 60_000 {
        bail!("--concurrent must be between 1 and 60000");
    }
    devicevault_server::limits::raise_nofile_limit(args.concurrent as u64 * 2 + 256)?;
    let exe = crate::util::devicevault_exe()?;
    let work = tempfile::tempdir()?;
    let data = work.path().join("data");
    let port = crate::util::free_port_range(1)?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut child = Command::new(&exe)
        .args(["serve", "--http-addr", &addr.to_string()])
        .arg("--data-dir")
        .arg(&data)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("start devicevault serve")?;
    let stdout = child.stdout.take().context("serve's stdout")?;
    let server = Server(child);
    // Wait for the "is serving" line, then keep draining the output.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        let mut ready = Some(ready_tx);
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("is serving")
                && let Some(tx) = ready.take()
            {
                let _ = tx.send(());
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(60))
        .context("serve did not start within 60 s")?;
    let pid = server.0.id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        user_create(&exe, &data, "bob", "bob's correct password")?;
        println!(
            "login benchmark: {} waves of {} wrong logins at once against serve (pid {pid}), each from its own loopback address; bob logs in during each wave",
            args.waves, args.concurrent
        );
        let baseline = rss(pid);
        println!("server memory before   RSS {baseline:.1} MB");
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        let mut times = Vec::new();
        let mut bob = Vec::new();
        let started = Instant::now();
        for wave in 0..args.waves {
            let flood: Vec<_> = (0..args.concurrent)
                .map(|i| {
                    // 127.0.x.y from 127.0.1.1 on; wave w reuses addresses,
                    // staying under the per-address limit.
                    let n = i as u32 + 257;
                    let from = IpAddr::V4(Ipv4Addr::new(127, 0, (n >> 8) as u8, (n & 0xff) as u8));
                    let user = format!("attacker-{wave}-{i}");
                    tokio::spawn(async move { login(from, addr, &user, "not the password").await })
                })
                .collect();
            // Bob, in the middle of the flood, retrying when told to.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let t0 = Instant::now();
            let mut tries = 0;
            let bob_status = loop {
                tries += 1;
                let (s, _) = login(IpAddr::V4(Ipv4Addr::LOCALHOST), addr, "bob", "bob's correct password").await?;
                if s != 503 || tries >= 50 {
                    break s;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            bob.push((bob_status, t0.elapsed(), tries));
            for f in flood {
                let (s, t) = f.await??;
                *statuses.entry(s).or_default() += 1;
                times.push(t);
            }
        }
        let elapsed = started.elapsed();
        times.sort_unstable();
        let peak = hwm(pid);
        println!(
            "wrong logins           {} in {:.1} s; answers {}",
            times.len(),
            elapsed.as_secs_f64(),
            statuses
                .iter()
                .map(|(s, n)| format!("{s}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "answer time            p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(percentile(&times, 0.50)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO))
        );
        for (i, (s, t, tries)) in bob.iter().enumerate() {
            println!(
                "bob's login, wave {}    {s} after {:.0} ms ({tries} tries)",
                i + 1,
                ms(*t)
            );
        }
        println!(
            "server memory          peak {peak:.1} MB (VmHWM), now {:.1} MB   (target: peak < 300 MB)",
            rss(pid)
        );
        Ok::<_, anyhow::Error>(())
    })?;
    drop(server);
    Ok(())
}
