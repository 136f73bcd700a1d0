//! Figures about a process from `/proc`: CPU time, peak memory, sockets.

use anyhow::Context;

/// CPU time (user + system) the process `pid` (`self` for this one) has used,
/// and with `children` also that of its waited-for children.
pub fn cpu_time(pid: &str, children: bool) -> anyhow::Result<std::time::Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15,
    // cutime 16, cstime 17 (proc(5)).
    let field = |n: usize| -> anyhow::Result<u64> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .with_context(|| format!("field {n} of /proc/{pid}/stat"))
    };
    let mut ticks = field(14)? + field(15)?;
    if children {
        ticks += field(16)? + field(17)?;
    }
    let hz = rustix::param::clock_ticks_per_second().max(1);
    Ok(std::time::Duration::from_secs_f64(ticks as f64 / hz as f64))
}

/// A `kB` field of `/proc/<pid>/status` (`VmHWM`, `VmRSS`), in bytes.
pub fn status_bytes(pid: &str, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("read /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .with_context(|| format!("{field} in /proc/{pid}/status"))
}

/// How many sockets this process holds open.
pub fn open_sockets() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| {
        dir.filter_map(Result::ok)
            .filter(|e| {
                std::fs::read_link(e.path())
                    .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
            })
            .count()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_figures_of_this_process_are_plausible() {
        let hwm = status_bytes("self", "VmHWM").unwrap();
        let rss = status_bytes("self", "VmRSS").unwrap();
        // The kernel updates VmHWM lazily, so it may trail VmRSS by a page or two.
        assert!(rss > 100_000 && hwm > rss / 2, "hwm {hwm} rss {rss}");
        let before = cpu_time("self", false).unwrap();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(100) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_time("self", true).unwrap() >= cpu_time("self", false).unwrap());
        assert!(cpu_time("self", false).unwrap() > before);
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(open_sockets() >= 1);
        drop(l);
    }
}
