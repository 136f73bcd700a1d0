//! Simulated network devices over real SSH, for tests, demos and benchmarks.
//!
//! Design decisions:
//! - **One process, many devices, one listener each**: every device has its
//!   own port, host key, configuration and misbehaviours, like a real fleet.
//!   Each connection gets a fresh russh server config built from the device's
//!   current state, so a host-key change or a switch to legacy-only
//!   algorithms takes effect on the next connection.
//! - **Personalities are data** ([`personality::PERSONALITIES`]): banner,
//!   prompts, enable, pager, commands. They are written independently of the
//!   collector's drivers, so a disagreement shows up as a failing test.
//! - **Deterministic configurations** ([`config::generate`]): the body is a
//!   function of the device's seed, revision and size; the volatile lines are
//!   a function of the session, so they change every time.
//! - **Misbehaviours on demand** ([`Faults`]) and state changes
//!   ([`SimDevice::rotate_host_key`], [`SimDevice::change_config`]) are set
//!   from the test through a [`SimDevice`] handle.

pub mod config;
mod device;
pub mod personality;
mod server;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use device::{Faults, SimDevice};
pub use personality::{Personality, platforms};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A platform name that has no personality.
    #[error("unknown platform `{0}`; known: {1}")]
    UnknownPlatform(String, String),
    /// A port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The port range does not fit below 65536.
    #[error("{devices} devices from port {base_port} exceed port 65535")]
    PortRange {
        /// Number of devices.
        devices: usize,
        /// First port.
        base_port: u16,
    },
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of devices.
    pub devices: usize,
    /// Address to listen on.
    pub bind: IpAddr,
    /// First port; device `i` listens on `base_port + i`. 0: any free port per device.
    pub base_port: u16,
    /// Platforms, assigned round-robin. Empty: every platform in turn.
    pub platforms: Vec<String>,
    /// Login name every device accepts.
    pub username: String,
    /// Password every device accepts.
    pub password: String,
    /// Enable secret of platforms with an enable step.
    pub enable_secret: String,
    /// Lines of configuration per device (50..=50,000).
    pub config_lines: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            devices: 1,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            base_port: 0,
            platforms: Vec::new(),
            username: "admin".into(),
            password: "admin".into(),
            enable_secret: "enable".into(),
            config_lines: 200,
        }
    }
}

/// A running fleet of simulated devices. Dropping it stops the listeners and
/// disconnects open sessions.
#[derive(Debug)]
pub struct Simulator {
    devices: Vec<SimDevice>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Simulator {
    /// Binds every device's port, then starts serving. Returns once all listen.
    pub async fn start(cfg: SimConfig) -> Result<Simulator, SimError> {
        let names: Vec<&'static Personality> = if cfg.platforms.is_empty() {
            personality::PERSONALITIES.iter().collect()
        } else {
            cfg.platforms
                .iter()
                .map(|n| {
                    personality::personality(n)
                        .ok_or_else(|| SimError::UnknownPlatform(n.clone(), platforms().join(", ")))
                })
                .collect::<Result<_, _>>()?
        };
        if cfg.base_port != 0 && usize::from(cfg.base_port) + cfg.devices > 65_536 {
            return Err(SimError::PortRange {
                devices: cfg.devices,
                base_port: cfg.base_port,
            });
        }
        let (shutdown, rx) = watch::channel(false);
        let mut devices = Vec::with_capacity(cfg.devices);
        let mut listeners = Vec::with_capacity(cfg.devices);
        for i in 0..cfg.devices {
            let port = if cfg.base_port == 0 {
                0
            } else {
                cfg.base_port + i as u16
            };
            let addr = SocketAddr::new(cfg.bind, port);
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| SimError::Bind { addr, source })?;
            let addr = listener
                .local_addr()
                .map_err(|source| SimError::Bind { addr, source })?;
            let personality = names[i % names.len()];
            let shared = Arc::new(device::Shared {
                name: format!("r{:04}", i + 1),
                personality,
                addr,
                username: cfg.username.clone(),
                password: cfg.password.clone(),
                enable_secret: cfg.enable_secret.clone(),
                config_lines: cfg.config_lines.clamp(50, 50_000),
                seed: (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                state: Mutex::new(device::State {
                    faults: Faults::default(),
                    key_generation: 0,
                    revision: 0,
                    sessions: 0,
                    open_shells: 0,
                }),
            });
            devices.push(SimDevice { shared });
            listeners.push(listener);
        }
        let tasks = devices
            .iter()
            .zip(listeners)
            .map(|(d, l)| tokio::spawn(server::serve(d.shared.clone(), l, rx.clone())))
            .collect();
        Ok(Simulator {
            devices,
            shutdown,
            tasks: Mutex::new(tasks),
        })
    }

    /// Every device, in port order.
    pub fn devices(&self) -> &[SimDevice] {
        &self.devices
    }

    /// Device `i`.
    pub fn device(&self, i: usize) -> Option<&SimDevice> {
        self.devices.get(i)
    }

    /// One line for the operator once everything listens.
    pub fn summary(&self) -> String {
        let first = self.devices.first().map_or(0, SimDevice::port);
        let last = self.devices.last().map_or(0, SimDevice::port);
        format!(
            "devicevault-sim: {} devices listening on {}:{}-{}",
            self.devices.len(),
            self.devices
                .first()
                .map_or_else(|| "-".into(), |d| d.addr().ip().to_string()),
            first,
            last
        )
    }

    /// Stops listening and disconnects every session.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            t.abort();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a simulator until `until` completes (the CLI passes Ctrl-C), calling
/// `ready` once every device listens (the CLI prints [`Simulator::summary`]).
pub async fn run(
    cfg: SimConfig,
    ready: impl FnOnce(&Simulator),
    until: impl std::future::Future<Output = ()>,
) -> Result<(), SimError> {
    let sim = Simulator::start(cfg).await?;
    ready(&sim);
    until.await;
    sim.stop();
    Ok(())
}
