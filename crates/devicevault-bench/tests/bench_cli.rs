//! The benchmarks run end to end on a tiny workload, so a change that
//! breaks one is found by the suite rather than the next measurement. The
//! figures themselves are not asserted: benchmarks measure, tests check.
//! They start the `devicevault` binary built beside `devicevault-bench`
//! (the workspace's test build builds both).

use std::process::Command;

#[test]
fn the_collection_benchmark_runs_end_to_end_on_a_small_fleet() {
    let out = Command::new(env!("CARGO_BIN_EXE_devicevault-bench"))
        .args(["collect", "--devices", "12", "--config-lines", "60-400"])
        .args(["--concurrency", "4", "--ssh-runs", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{stdout}");
    assert!(
        stdout.contains("collected            12 of 12 devices"),
        "{stdout}"
    );
    for figure in ["devices/s", "ms per device", "peak", "configuration size"] {
        assert!(stdout.contains(figure), "`{figure}` missing:\n{stdout}");
    }
}
