//! `devicevault-bench collect`: collection throughput, CPU and memory against
//! a simulated fleet, with OpenSSH's `ssh` as the per-session reference.
//!
//! The simulator runs as a child process (`devicevault sim`), so that the
//! CPU time and peak memory read from `/proc/self` are the collector's alone;
//! the simulator's own figures are read from `/proc/<pid>` and printed beside.

use crate::util::{free_port_range, ms, parse_lines};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use devicevault_collect::{CollectOptions, DeviceTarget, DriverSet, KnownHosts, collect};

use crate::proc_stats::{cpu_time, open_sockets, status_bytes};
use devicevault_server::limits::raise_nofile_limit;

const USERNAME: &str = "admin";
const PASSWORD: &str = "admin";
const ENABLE: &str = "enable";

#[derive(Debug, Clone, Args)]
pub struct CollectBench {
    /// Devices in the simulated fleet (one listener each).
    #[arg(long, default_value_t = 1000)]
    devices: usize,
    /// Lines of configuration per device: `N`, or `MIN-MAX` to give each
    /// device a fixed size in that range (the default makes Cisco IOS
    /// configurations of about 2 KB to 40 KB).
    #[arg(long, default_value = "100-1800")]
    config_lines: String,
    /// Collections in flight at once.
    #[arg(long, default_value_t = 100)]
    concurrency: usize,
    /// Instead of throughput: open every device's session at once (devices
    /// throttled so that sessions last long enough to overlap) and report
    /// the collector's peak memory with that many sessions open.
    #[arg(long)]
    hold_open: bool,
    /// Platforms of the fleet, comma-separated, assigned in turn (`all`:
    /// every built-in driver).
    #[arg(long, value_delimiter = ',', default_value = "cisco_ios")]
    platform: Vec<String>,
    /// First port of the fleet (default: the first free range below the
    /// ephemeral port range, so the collector's own connections keep theirs).
    #[arg(long)]
    base_port: Option<u16>,
    /// OpenSSH fetches (and single collections) timed for the reference.
    #[arg(long, default_value_t = 10)]
    ssh_runs: usize,
    /// Instead of throughput: one device that never stops sending (it would
    /// send 1 GB and more), collected with the default `max_config_bytes`
    /// (peak memory above the baseline), then one whose configuration holds
    /// a 16,000,000-byte line (time).
    #[arg(long)]
    unbounded_output: bool,
}

/// The simulator child; killed when dropped, so no path leaves it running.
struct SimChild {
    child: Child,
    pid: String,
}

impl Drop for SimChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(
    args: &CollectBench,
    base_port: u16,
    lines: (usize, Option<usize>),
    throttle: Option<u32>,
) -> anyhow::Result<SimChild> {
    start_sim_with(args, base_port, lines, throttle, &[])
}

fn start_sim_with(
    args: &CollectBench,
    base_port: u16,
    lines: (usize, Option<usize>),
    throttle: Option<u32>,
    extra: &[String],
) -> anyhow::Result<SimChild> {
    let exe = crate::util::devicevault_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args(["sim", "--devices", &args.devices.to_string()])
        .args(["--base-port", &base_port.to_string()])
        .args(["--platform", &args.platform.join(",")])
        .args(["--username", USERNAME, "--password", PASSWORD])
        .args(["--enable-secret", ENABLE])
        .args(["--config-lines", &lines.0.to_string()]);
    if let Some(max) = lines.1 {
        cmd.args(["--config-lines-max", &max.to_string()]);
    }
    if let Some(bps) = throttle {
        cmd.args(["--throttle-bytes-per-sec", &bps.to_string()]);
    }
    cmd.args(extra);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("start `devicevault sim`")?;
    let pid = child.id().to_string();
    let stdout = child.stdout.take().context("simulator stdout")?;
    let sim = SimChild { child, pid };
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("read the simulator's ready line")?;
    if !line.contains("listening") {
        bail!("the simulator did not start (see its error above)");
    }
    Ok(sim)
}

fn target(port: u16, driver: &str) -> DeviceTarget {
    let mut t = DeviceTarget::password("127.0.0.1", port, USERNAME, PASSWORD, driver);
    t.enable_secret = Some(ENABLE.into());
    // The FortiOS REST driver sends the credential's API key, which the
    // simulator takes to be the password (PAN-OS's makes its key itself,
    // from the password: a stored key would be used instead).
    if driver == "fortinet_fortios_api" {
        t.api_key = Some(PASSWORD.into());
    }
    t
}

/// What one fleet run measured.
#[derive(Debug, Default)]
struct FleetRun {
    ok: usize,
    failures: Vec<String>,
    /// Configuration size of each successful device, by index.
    sizes: Vec<Option<usize>>,
    latencies: Vec<Duration>,
    wall: Duration,
    cpu: Duration,
    max_sockets: usize,
    max_rss: u64,
}

/// Collects every device, `concurrency` at a time, sampling memory and open
/// sockets while it runs.
async fn collect_fleet(
    devices: usize,
    base_port: u16,
    platforms: &[String],
    concurrency: usize,
    opts: Arc<CollectOptions>,
) -> anyhow::Result<FleetRun> {
    let drivers = Arc::new(DriverSet::builtin());
    let done = Arc::new(AtomicBool::new(false));
    let max_sockets = Arc::new(AtomicUsize::new(0));
    let max_rss = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, max_sockets, max_rss) = (done.clone(), max_sockets.clone(), max_rss.clone());
        // A plain thread: it must keep sampling when the runtime is saturated.
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                max_sockets.fetch_max(open_sockets(), Ordering::Relaxed);
                if let Ok(rss) = status_bytes("self", "VmRSS") {
                    max_rss.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let mut run = FleetRun {
        sizes: vec![None; devices],
        ..FleetRun::default()
    };
    let cpu0 = cpu_time("self", false)?;
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut next = 0usize;
    loop {
        while next < devices && set.len() < concurrency {
            let port = base_port + next as u16;
            let driver = platforms[next % platforms.len()].clone();
            let (drivers, opts, i) = (drivers.clone(), opts.clone(), next);
            set.spawn(async move {
                let t = target(port, &driver);
                let started = Instant::now();
                let r = collect(&t, &drivers, &opts).await;
                // Only the size is kept: holding 10,000 configurations would
                // measure the benchmark's memory, not the collector's.
                (i, r.map(|c| c.config.len()), started.elapsed())
            });
            next += 1;
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        let (i, r, took) = joined.context("a collection task panicked")?;
        match r {
            Ok(size) => {
                run.ok += 1;
                run.sizes[i] = Some(size);
                run.latencies.push(took);
            }
            Err(e) => run.failures.push(e.to_string()),
        }
    }
    run.wall = t0.elapsed();
    run.cpu = cpu_time("self", false)? - cpu0;
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    run.max_sockets = max_sockets.load(Ordering::Relaxed);
    run.max_rss = max_rss.load(Ordering::Relaxed);
    run.latencies.sort();
    Ok(run)
}

/// Median wall time and mean CPU (ssh and sshpass) of OpenSSH fetching the
/// configuration as an engineer would: `ssh -tt`, enable, `terminal length
/// 0`, `show running-config`, `exit`.
fn time_openssh(port: u16, runs: usize) -> anyhow::Result<Option<(Duration, Duration, usize)>> {
    let have = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("ssh") || !have("sshpass") {
        println!(
            "OpenSSH reference skipped: install it with `apt-get install -y openssh-client sshpass`"
        );
        return Ok(None);
    }
    let mut walls = Vec::with_capacity(runs);
    let mut cpu = Duration::ZERO;
    let mut bytes = 0;
    for _ in 0..runs {
        let children0 = cpu_time("self", true)? - cpu_time("self", false)?;
        let t0 = Instant::now();
        let mut child = Command::new("sshpass")
            .args(["-p", PASSWORD, "ssh", "-tt", "-p", &port.to_string()])
            .args(["-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null"])
            .args(["-o", "LogLevel=ERROR", "-o", "PubkeyAuthentication=no"])
            .arg(format!("{USERNAME}@127.0.0.1"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("run sshpass ssh")?;
        child
            .stdin
            .take()
            .context("ssh stdin")?
            .write_all(
                format!("enable\n{ENABLE}\nterminal length 0\nshow running-config\nexit\n")
                    .as_bytes(),
            )
            .context("write to ssh")?;
        let out = child.wait_with_output().context("wait for ssh")?;
        walls.push(t0.elapsed());
        cpu += (cpu_time("self", true)? - cpu_time("self", false)?) - children0;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !text.contains("\nend") {
            bail!(
                "OpenSSH did not fetch the configuration: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        bytes = out.stdout.len();
    }
    walls.sort();
    Ok(Some((walls[walls.len() / 2], cpu / runs as u32, bytes)))
}

/// Median wall time and mean CPU of our collector fetching one device, one
/// collection at a time.
async fn time_single(
    port: u16,
    driver: &str,
    runs: usize,
    opts: &CollectOptions,
) -> anyhow::Result<(Duration, Duration)> {
    let drivers = DriverSet::builtin();
    let t = target(port, driver);
    let mut walls = Vec::with_capacity(runs);
    let cpu0 = cpu_time("self", false)?;
    for _ in 0..runs {
        let t0 = Instant::now();
        collect(&t, &drivers, opts)
            .await
            .context("collect the reference device")?;
        walls.push(t0.elapsed());
    }
    let cpu = (cpu_time("self", false)? - cpu0) / runs as u32;
    walls.sort();
    Ok((walls[walls.len() / 2], cpu))
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// `--unbounded-output`: the size limit against a runaway device, and the
/// cost of one huge line. The collector runs in this process and the devices
/// in a child, so VmHWM is the collector's alone; this mode runs first and
/// alone, so the peak is this measurement's.
fn run_unbounded(args: &CollectBench) -> anyhow::Result<()> {
    const LINE: usize = 16_000_000;
    let base_port = match args.base_port {
        Some(p) => p,
        None => free_port_range(1)?,
    };
    let platform = args.platform[0].clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let opts = CollectOptions::new(Arc::new(KnownHosts::in_memory()));
    let drivers = DriverSet::builtin();
    let one = CollectBench {
        devices: 1,
        ..args.clone()
    };
    println!(
        "unbounded output: one {platform} device, max_config_bytes {} (the default)",
        opts.max_config_bytes
    );

    let sim = start_sim_with(
        &one,
        base_port,
        (200, None),
        None,
        &["--endless-output".into()],
    )?;
    let t = target(base_port, &platform);
    let baseline = status_bytes("self", "VmRSS")?;
    let started = Instant::now();
    let r = runtime.block_on(collect(&t, &drivers, &opts));
    let took = started.elapsed();
    let hwm = status_bytes("self", "VmHWM")?;
    let sim_cpu = cpu_time(&sim.pid, false)?;
    drop(sim);
    match r {
        Err(e @ devicevault_collect::CollectError::OutputTooLarge { .. }) => {
            println!(
                "endless device       stopped after {:.2} s: {e}",
                took.as_secs_f64()
            );
        }
        Err(e) => bail!("the endless device failed otherwise: {e}"),
        Ok(c) => bail!("the endless device was stored ({} bytes)", c.config.len()),
    }
    println!(
        "collector memory     baseline {:.1} MB, peak {:.1} MB (VmHWM): {:.1} MB above the baseline (target < 100 MB)",
        mb(baseline),
        mb(hwm),
        mb(hwm.saturating_sub(baseline))
    );
    println!(
        "simulator (child)    CPU {:.2} s sending",
        sim_cpu.as_secs_f64()
    );

    let port = base_port;
    let sim = start_sim_with(
        &one,
        port,
        (200, None),
        None,
        &["--single-line-bytes".into(), LINE.to_string()],
    )?;
    let t = target(port, &platform);
    let mut walls = Vec::new();
    let mut size = 0;
    for _ in 0..args.ssh_runs.clamp(1, 5) {
        let started = Instant::now();
        let c = runtime
            .block_on(collect(&t, &drivers, &opts))
            .context("collect the device with one huge line")?;
        walls.push(started.elapsed());
        size = c.config.len();
    }
    drop(sim);
    walls.sort();
    println!(
        "one {LINE}-byte line collected in {:.2} s (median of {}, {:.2} s to {:.2} s), {:.1} MB stored, target < 1 s",
        walls[walls.len() / 2].as_secs_f64(),
        walls.len(),
        walls[0].as_secs_f64(),
        walls[walls.len() - 1].as_secs_f64(),
        size as f64 / 1e6
    );
    Ok(())
}

pub fn run(mut args: CollectBench) -> anyhow::Result<()> {
    if args.platform.is_empty() {
        bail!("--platform needs at least one platform");
    }
    if args.platform == ["all"] {
        args.platform = DriverSet::builtin_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
    }
    if args.unbounded_output {
        return run_unbounded(&args);
    }
    if args.devices == 0 || args.concurrency == 0 || args.ssh_runs == 0 {
        bail!("--devices, --concurrency and --ssh-runs must be positive");
    }
    let lines = parse_lines(&args.config_lines)?;
    let concurrency = if args.hold_open {
        args.devices
    } else {
        args.concurrency.min(args.devices)
    };
    raise_nofile_limit(concurrency as u64 + 256)?;
    let base_port = match args.base_port {
        Some(p) => p,
        None => free_port_range(args.devices)?,
    };
    if usize::from(base_port) + args.devices > 65_536 {
        bail!(
            "{} devices from port {base_port} run past port 65535",
            args.devices
        );
    }

    // Holding sessions open: throttle the devices so that the average
    // configuration takes about `hold` seconds to arrive, long enough for
    // every session to be opened while the first ones still run.
    let hold = Duration::from_secs((args.devices as u64 / 50).max(30));
    let avg_lines = lines.1.map_or(lines.0, |max| (lines.0 + max) / 2);
    let throttle = args
        .hold_open
        .then(|| ((avg_lines as u64 * 24) / hold.as_secs()).max(10) as u32);

    let sim = start_sim(&args, base_port, lines, throttle)?;
    let sim_cpu0 = cpu_time(&sim.pid, false)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let mut opts = CollectOptions::new(Arc::new(KnownHosts::in_memory()));
    opts.connect_timeout = Duration::from_secs(60);
    opts.command_timeout = if args.hold_open {
        hold * 10
    } else {
        Duration::from_secs(120)
    };
    opts.job_timeout = opts.command_timeout * 2;
    let opts = Arc::new(opts);
    let rss_before = status_bytes("self", "VmRSS")?;

    let mode = if args.hold_open {
        format!(
            "hold-open: all {} sessions at once, devices throttled to {} B/s",
            args.devices,
            throttle.unwrap_or_default()
        )
    } else {
        format!("concurrency {concurrency}")
    };
    println!(
        "collection benchmark: {} devices ({}), {} lines of configuration each, {mode}, ports {base_port}-{}",
        args.devices,
        args.platform.join(","),
        args.config_lines,
        usize::from(base_port) + args.devices - 1
    );

    let fleet = runtime.block_on(collect_fleet(
        args.devices,
        base_port,
        &args.platform,
        concurrency,
        opts.clone(),
    ))?;
    let hwm = status_bytes("self", "VmHWM")?;
    let sim_cpu = cpu_time(&sim.pid, false)? - sim_cpu0;
    let sim_hwm = status_bytes(&sim.pid, "VmHWM")?;

    let sizes: Vec<(usize, usize)> = fleet
        .sizes
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .collect();
    let total_bytes: usize = sizes.iter().map(|(_, s)| s).sum();
    let rate = fleet.ok as f64 / fleet.wall.as_secs_f64();
    let per_device_cpu = fleet.cpu / (fleet.ok.max(1) as u32);
    let pct = |p: f64| {
        fleet
            .latencies
            .get(((fleet.latencies.len().saturating_sub(1)) as f64 * p).round() as usize)
            .copied()
            .unwrap_or_default()
    };

    println!();
    println!(
        "collected            {} of {} devices in {:.2} s ({} failed)",
        fleet.ok,
        args.devices,
        fleet.wall.as_secs_f64(),
        fleet.failures.len()
    );
    for f in fleet.failures.iter().take(5) {
        println!("  failure: {f}");
    }
    if let (Some(min), Some(max)) = (
        sizes.iter().map(|(_, s)| *s).min(),
        sizes.iter().map(|(_, s)| *s).max(),
    ) {
        println!(
            "configuration size   {:.1} KB to {:.1} KB, {:.1} KB average (after filtering)",
            min as f64 / 1000.0,
            max as f64 / 1000.0,
            total_bytes as f64 / sizes.len() as f64 / 1000.0
        );
    }
    println!(
        "latency per device   p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(pct(0.5)),
        ms(pct(0.99)),
        ms(pct(1.0))
    );
    if !args.hold_open {
        println!(
            "throughput           {rate:.0} devices/s (target: >= 200 devices/s for 10,000 devices)"
        );
    }
    println!(
        "collector CPU        {:.2} s in all, {:.2} ms per device",
        fleet.cpu.as_secs_f64(),
        ms(per_device_cpu)
    );
    println!(
        "collector memory     peak {:.1} MB (VmHWM), {:.1} MB before the run, sampled RSS max {:.1} MB",
        mb(hwm),
        mb(rss_before),
        mb(fleet.max_rss)
    );
    println!(
        "sockets open at once {} (sampled every 100 ms)",
        fleet.max_sockets
    );
    if args.hold_open {
        println!("target: collector peak memory < 300 MB with 2,000 sessions open at once");
    }
    println!(
        "simulator (child)    CPU {:.2} s ({:.2} ms per device), peak {:.1} MB",
        sim_cpu.as_secs_f64(),
        ms(sim_cpu / (fleet.ok.max(1) as u32)),
        mb(sim_hwm)
    );

    if args.hold_open || sizes.is_empty() {
        return Ok(());
    }
    // The reference device: the one of median size, among the Cisco IOS
    // devices when the fleet has some (the OpenSSH reference speaks IOS's
    // dialogue).
    let ios = |idx: &usize| args.platform[idx % args.platform.len()] == "cisco_ios";
    let mut by_size: Vec<_> = sizes.iter().copied().filter(|(i, _)| ios(i)).collect();
    if by_size.is_empty() {
        by_size = sizes.clone();
    }
    by_size.sort_by_key(|(_, s)| *s);
    let (idx, size) = by_size[by_size.len() / 2];
    let port = base_port + idx as u16;
    let driver = &args.platform[idx % args.platform.len()];
    println!();
    println!(
        "reference: one device (port {port}, {driver}, {:.1} KB after filtering), {} runs each",
        size as f64 / 1000.0,
        args.ssh_runs
    );
    let (our_wall, our_cpu) = runtime.block_on(time_single(port, driver, args.ssh_runs, &opts))?;
    println!(
        "devicevault collect, one at a time  wall p50 {:.1} ms, CPU {:.2} ms",
        ms(our_wall),
        ms(our_cpu)
    );
    if driver != "cisco_ios" {
        println!("OpenSSH reference skipped: it speaks Cisco IOS's dialogue, and no device is one");
    } else if let Some((ssh_wall, ssh_cpu, ssh_bytes)) = time_openssh(port, args.ssh_runs)? {
        println!(
            "OpenSSH ssh -tt (+sshpass)          wall p50 {:.1} ms, CPU {:.2} ms ({:.1} KB of terminal output)",
            ms(ssh_wall),
            ms(ssh_cpu),
            ssh_bytes as f64 / 1000.0
        );
        println!(
            "ratios to one OpenSSH fetch: fleet CPU per device {:.3}x, fleet wall per device (1/throughput) {:.3}x, single collection wall {:.2}x",
            per_device_cpu.as_secs_f64() / ssh_cpu.as_secs_f64().max(1e-9),
            (1.0 / rate) / ssh_wall.as_secs_f64(),
            our_wall.as_secs_f64() / ssh_wall.as_secs_f64()
        );
    }
    drop(sim);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lines_take_a_number_or_a_range() {
        assert_eq!(parse_lines("300").unwrap(), (300, None));
        assert_eq!(parse_lines("90-1800").unwrap(), (90, Some(1800)));
        assert!(parse_lines("1800-90").is_err());
        assert!(parse_lines("lots").is_err());
    }
}
