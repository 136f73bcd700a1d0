//! What the file-input tests share: a one-device simulator, a target and
//! options for it, user drivers written to a directory.

use std::sync::Arc;
use std::time::Duration;

use devicevault_collect::{CollectOptions, DeviceTarget, DriverSet, KnownHosts};
use devicevault_sim::{SimConfig, SimDevice, Simulator};

pub async fn sim(platform: &str) -> Simulator {
    Simulator::start(SimConfig {
        devices: 1,
        platforms: vec![platform.to_owned()],
        password: "pa55word".into(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

pub fn target(d: &SimDevice, driver: &str) -> DeviceTarget {
    DeviceTarget::password("127.0.0.1", d.port(), d.username(), d.password(), driver)
}

pub fn opts() -> CollectOptions {
    let mut o = CollectOptions::new(Arc::new(KnownHosts::in_memory()));
    o.connect_timeout = Duration::from_secs(10);
    o.command_timeout = Duration::from_secs(20);
    o.job_timeout = Duration::from_secs(60);
    o
}

/// The built-in drivers plus user drivers written from `files` (name, text).
pub fn with_user_drivers(files: &[(&str, &str)]) -> (tempfile::TempDir, DriverSet) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(format!("{name}.toml")), text).unwrap();
    }
    let set = DriverSet::with_user_dir(dir.path()).unwrap();
    (dir, set)
}
