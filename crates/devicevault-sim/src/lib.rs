//! Simulated network devices over real SSH, for tests, demos and benchmarks.
//!
//! Design decisions:
//! - **One process, many devices, one listener each**: every device has its
//!   own port, host key, configuration and misbehaviours, like a real fleet.
//!   Each connection gets a fresh russh server config built from the device's
//!   current state, so a host-key change or a switch to legacy-only
//!   algorithms takes effect on the next connection.
//! - **Or one listener for the whole fleet** ([`SimConfig::address_block`],
//!   issue 21): each device at its own loopback address, all on one port,
//!   the device found from the address the client dialled — 100,000
//!   devices in a process allowed 20,000 file descriptors.
//! - **A device costs little until it is contacted**: its host key is
//!   derived from its seed when a connection needs it, its configuration is
//!   generated when a session prints it and dropped after (never held per
//!   device; [`Simulator::configs_generated`] counts them), and what the
//!   fleet shares (credentials, clock, the HTTPS certificate) is held once.
//! - **Personalities are data** ([`personality::PERSONALITIES`]): banner,
//!   prompts, enable, pager, commands. They are written independently of the
//!   collector's drivers, so a disagreement shows up as a failing test.
//! - **Deterministic configurations** ([`config::generate`]): the body is a
//!   function of the device's seed, size and history of changes; the
//!   volatile lines are a function of the session, so they change every time.
//! - **Changes are an engineer's edits** ([`drift`]): a description, an ACL
//!   entry, a local user, a few lines in the platform's syntax, each picked
//!   from the seed and the revision; the lines that name the last change's
//!   author name whoever made it.
//! - **A platform backed up through its management API serves HTTPS on its
//!   port instead of SSH** ([`HttpsApi`]): a self-signed certificate made
//!   once per simulator (rcgen), which a test replaces on one device with
//!   [`SimDevice::rotate_certificate`].
//! - **Misbehaviours on demand** ([`Faults`]) and state changes
//!   ([`SimDevice::rotate_host_key`], [`SimDevice::change_config`]) are set
//!   from the test through a [`SimDevice`] handle.

mod block;
mod cli;
pub mod config;
pub mod control;
mod device;
pub mod drift;
mod files;
mod https;
mod jump;
pub mod personality;
mod server;
mod telnet;
mod ucs;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::ConfigLine;
pub use control::OnChange;
pub use device::{DATE_BOUNDARIES, Faults, SimClock, SimDevice};
pub use drift::{Change, Edit, InvalidAuthor};
pub use jump::JumpHost;
pub use personality::{HttpsApi, LineBreaks, Personality, platforms};

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
    /// An address block that does not start at a loopback host address
    /// (127.x.y.z, not .0 or .255) or does not fit in 127.0.0.0/8.
    #[error(
        "an address block of {devices} devices from {first} does not fit in 127.0.0.0/8 \
         (it must start at a loopback address not ending in .0 or .255)"
    )]
    AddressBlock {
        /// The first address asked for.
        first: Ipv4Addr,
        /// Number of devices.
        devices: usize,
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
    /// Address to listen on (not used with [`SimConfig::address_block`]).
    pub bind: IpAddr,
    /// First port; device `i` listens on `base_port + i`. 0: any free port
    /// per device. With [`SimConfig::address_block`]: the one port every
    /// device listens on (0: any free port).
    pub base_port: u16,
    /// Address-block mode: device `i` is at the `i`-th loopback address
    /// from this one (127.1.0.1, 127.1.0.2, …, skipping every `.0` and
    /// `.255`), all devices on the same port, served by one listener (one
    /// more for Telnet) however large the fleet. The listener is bound to
    /// 0.0.0.0 — a listener on one loopback address accepts only that
    /// address — and closes, before sending a byte, every connection that
    /// is not from a loopback peer to a device's address. `None` (the
    /// default): one listener per device on `bind`.
    pub address_block: Option<Ipv4Addr>,
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
    /// When set, sizes vary per device: device `i` gets a fixed number of
    /// lines between `config_lines` and this, spread evenly over the fleet
    /// (a function of `i`, so a device keeps its size across sessions).
    pub config_lines_max: Option<usize>,
    /// Also serve Telnet: device `i` listens on this port + `i` (0: any
    /// free port per device; with an address block, every device on this
    /// one port). `None`: SSH only.
    pub telnet_base_port: Option<u16>,
    /// Misbehaviours every device starts with (e.g. a throttled fleet for
    /// benchmarks); tests change one device's with [`SimDevice::set_faults`].
    pub faults: Faults,
    /// The wall clock that dates configurations (the system's by default;
    /// tests set instants on it).
    pub clock: SimClock,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            devices: 1,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            base_port: 0,
            address_block: None,
            platforms: Vec::new(),
            username: "admin".into(),
            password: "admin".into(),
            enable_secret: "enable".into(),
            config_lines: 200,
            config_lines_max: None,
            telnet_base_port: None,
            faults: Faults::default(),
            clock: SimClock::system(),
        }
    }
}

/// Where a fleet too large for one listener per device is spread
/// ([`SimConfig::spread_if_needed`]): 127.1.0.1 onwards, clear of
/// 127.0.0.1 where everything else listens.
pub const ADDRESS_BLOCK_START: Ipv4Addr = Ipv4Addr::new(127, 1, 0, 1);

impl SimConfig {
    /// Listening sockets the fleet holds: one per device and protocol (SSH,
    /// Telnet), or one per protocol with an address block.
    pub fn listening_sockets(&self) -> u64 {
        let protocols = if self.telnet_base_port.is_some() {
            2
        } else {
            1
        };
        let per_protocol = if self.address_block.is_some() {
            1
        } else {
            self.devices as u64
        };
        protocols * per_protocol
    }

    /// The one rule for choosing the mode: a fleet keeps one listener per
    /// device while its listeners and `reserve` more descriptors (sessions,
    /// clients) fit in `open_files` (the process's limit) and its ports fit
    /// below 65536; otherwise it moves to an address block from
    /// [`ADDRESS_BLOCK_START`] on `base_port`. Returns whether it did. A
    /// block chosen before is kept, and a fleet bound to an address other
    /// than loopback is never moved (its devices are meant to be reached
    /// from elsewhere; it fails to start instead).
    pub fn spread_if_needed(&mut self, open_files: u64, reserve: u64) -> bool {
        if self.address_block.is_some() || !self.bind.is_loopback() {
            return false;
        }
        let ports_fit = [Some(self.base_port), self.telnet_base_port]
            .into_iter()
            .flatten()
            .all(|p| usize::from(p) + self.devices <= 65_536);
        if ports_fit && self.listening_sockets().saturating_add(reserve) <= open_files {
            return false;
        }
        self.address_block = Some(ADDRESS_BLOCK_START);
        true
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
        Self::start_inner(cfg, false).await
    }

    /// Devices with no listener of their own: device `i` has the hidden
    /// address `10.255.0.<i+1>:22`, which only a [`JumpHost`] started with
    /// this fleet reaches (the `direct-tcpip` channels of its SSH server);
    /// nothing on the machine listens there. `bind`, the base ports and
    /// Telnet are ignored.
    pub async fn start_hidden(cfg: SimConfig) -> Result<Simulator, SimError> {
        Self::start_inner(cfg, true).await
    }

    /// The shutdown signal of this fleet's sessions.
    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    async fn start_inner(cfg: SimConfig, hidden: bool) -> Result<Simulator, SimError> {
        if hidden && cfg.devices > 254 {
            return Err(SimError::PortRange {
                devices: cfg.devices,
                base_port: 22,
            });
        }
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
        let block = match cfg.address_block {
            Some(first) if !hidden => Some(block::AddressBlock::new(first, cfg.devices)?),
            _ => None,
        };
        for base_port in [Some(cfg.base_port), cfg.telnet_base_port]
            .into_iter()
            .flatten()
            .filter(|_| block.is_none())
        {
            if base_port != 0 && usize::from(base_port) + cfg.devices > 65_536 {
                return Err(SimError::PortRange {
                    devices: cfg.devices,
                    base_port,
                });
            }
        }
        let (shutdown, rx) = watch::channel(false);
        // One certificate for the simulator's HTTPS devices, made only when
        // the fleet has one (a key pair costs a few milliseconds).
        let tls = names
            .iter()
            .any(|p| p.https_api().is_some())
            .then(|| Arc::new(https::TlsIdentity::generate("devicevault-sim")));
        let fleet = Arc::new(device::Fleet {
            username: cfg.username.clone(),
            password: cfg.password.clone(),
            enable_secret: cfg.enable_secret.clone(),
            clock: cfg.clock.clone(),
            generated: AtomicU64::new(0),
            no_changes: Arc::default(),
            faults: cfg.faults.clone(),
            tls,
        });
        let fleet = Fleet {
            cfg: &cfg,
            names: &names,
            shared: &fleet,
        };
        if let Some(block) = block {
            return Self::start_block(fleet, block, shutdown, rx).await;
        }
        let mut devices = Vec::with_capacity(cfg.devices);
        let mut listeners = Vec::with_capacity(cfg.devices);
        let mut telnet_listeners = Vec::new();
        for i in 0..cfg.devices {
            if hidden {
                let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 255, 0, i as u8 + 1)), 22);
                devices.push(SimDevice {
                    shared: fleet.device(i, addr, None),
                });
                continue;
            }
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
            let telnet_addr = match cfg.telnet_base_port {
                None => None,
                Some(base) => {
                    let port = if base == 0 { 0 } else { base + i as u16 };
                    let taddr = SocketAddr::new(cfg.bind, port);
                    let l = TcpListener::bind(taddr)
                        .await
                        .map_err(|source| SimError::Bind {
                            addr: taddr,
                            source,
                        })?;
                    let bound = l.local_addr().map_err(|source| SimError::Bind {
                        addr: taddr,
                        source,
                    })?;
                    telnet_listeners.push((i, l));
                    Some(bound)
                }
            };
            let shared = fleet.device(i, addr, telnet_addr);
            devices.push(SimDevice { shared });
            listeners.push(listener);
        }
        let mut tasks: Vec<JoinHandle<()>> = devices
            .iter()
            .zip(listeners)
            .map(|(d, l)| match d.shared.personality.https_api() {
                Some(api) => tokio::spawn(https::serve(d.shared.clone(), api, l, rx.clone())),
                None => tokio::spawn(server::serve(d.shared.clone(), l, rx.clone())),
            })
            .collect();
        for (i, l) in telnet_listeners {
            let shared = devices[i].shared.clone();
            tasks.push(tokio::spawn(telnet::serve(shared, l, rx.clone())));
        }
        Ok(Simulator {
            devices,
            shutdown,
            tasks: Mutex::new(tasks),
        })
    }

    /// The fleet at the addresses of `block`, behind one listener (and one
    /// for Telnet) on 0.0.0.0 ([`SimConfig::address_block`]).
    async fn start_block(
        fleet: Fleet<'_>,
        block: block::AddressBlock,
        shutdown: watch::Sender<bool>,
        rx: watch::Receiver<bool>,
    ) -> Result<Simulator, SimError> {
        async fn bind(port: u16) -> Result<(TcpListener, u16), SimError> {
            let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| SimError::Bind { addr, source })?;
            let port = listener
                .local_addr()
                .map_err(|source| SimError::Bind { addr, source })?
                .port();
            Ok((listener, port))
        }
        let (ssh, port) = bind(fleet.cfg.base_port).await?;
        let telnet = match fleet.cfg.telnet_base_port {
            Some(p) => Some(bind(p).await?),
            None => None,
        };
        let devices: Vec<SimDevice> = (0..fleet.cfg.devices)
            .map(|i| {
                let ip = IpAddr::V4(block.addr(i));
                SimDevice {
                    shared: fleet.device(
                        i,
                        SocketAddr::new(ip, port),
                        telnet.as_ref().map(|(_, t)| SocketAddr::new(ip, *t)),
                    ),
                }
            })
            .collect();
        let table: Arc<[Arc<device::Shared>]> = devices.iter().map(|d| d.shared.clone()).collect();
        let mut tasks = vec![tokio::spawn(block::serve(
            block,
            table.clone(),
            block::Protocol::Ssh,
            ssh,
            rx.clone(),
        ))];
        if let Some((listener, _)) = telnet {
            tasks.push(tokio::spawn(block::serve(
                block,
                table,
                block::Protocol::Telnet,
                listener,
                rx,
            )));
        }
        Ok(Simulator {
            devices,
            shutdown,
            tasks: Mutex::new(tasks),
        })
    }

    /// Configurations the fleet's devices have generated since the start
    /// (each session that prints or saves one generates it then; nothing
    /// is generated before a device is contacted).
    pub fn configs_generated(&self) -> u64 {
        self.devices
            .first()
            .map_or(0, |d| d.shared.fleet.generated.load(Ordering::Relaxed))
    }

    /// Every device, in port order.
    pub fn devices(&self) -> &[SimDevice] {
        &self.devices
    }

    /// Device `i`.
    pub fn device(&self, i: usize) -> Option<&SimDevice> {
        self.devices.get(i)
    }

    /// The device named `name`, e.g. `r0003`.
    pub fn device_named(&self, name: &str) -> Option<&SimDevice> {
        self.devices.iter().find(|d| d.name() == name)
    }

    /// Serves the control endpoint ([`control`]: `POST
    /// /devices/<name>/change`) on `addr` until the simulator stops;
    /// returns the address it listens on. `on_change` hears of every
    /// change made through it.
    pub async fn serve_control(
        &self,
        addr: SocketAddr,
        on_change: OnChange,
    ) -> Result<SocketAddr, SimError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        let task = tokio::spawn(control::serve(
            listener,
            Arc::new(self.devices.clone()),
            on_change,
            self.shutdown.subscribe(),
        ));
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task);
        Ok(bound)
    }

    /// Until the simulator stops, drifts one device every `every`
    /// ([`SimDevice::drift`]), the devices in turn from the first;
    /// `on_change` hears of each change.
    pub fn drift_every(&self, every: Duration, on_change: OnChange) {
        if self.devices.is_empty() || every.is_zero() {
            return;
        }
        let devices = self.devices.clone();
        let mut stop = self.shutdown.subscribe();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for d in devices.iter().cycle() {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stop.changed() => return,
                }
                let change = d.drift();
                on_change(d, &change);
            }
        });
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task);
    }

    /// One line for the operator once everything listens.
    pub fn summary(&self) -> String {
        if let (Some(first), Some(last)) = (self.devices.first(), self.devices.last())
            && first.addr().ip() != last.addr().ip()
        {
            return format!(
                "devicevault-sim: {} devices listening on {}-{} port {}",
                self.devices.len(),
                first.addr().ip(),
                last.addr().ip(),
                first.port()
            );
        }
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

/// Lines of configuration of device `i`: `config_lines`, or a size between
/// it and `config_lines_max` picked by a permutation of the index, so that
/// neighbouring devices differ and the whole range is covered evenly.
fn device_lines(cfg: &SimConfig, i: usize) -> usize {
    let min = cfg.config_lines.clamp(50, 50_000);
    let Some(max) = cfg.config_lines_max.map(|m| m.clamp(min, 50_000)) else {
        return min;
    };
    if cfg.devices <= 1 || max == min {
        return min;
    }
    // Multiplying by a prime permutes the indices (unless the fleet size is
    // a multiple of it), scattering the evenly spaced sizes over the fleet.
    let slot = (i.wrapping_mul(7919)) % cfg.devices;
    min + (max - min) * slot / (cfg.devices - 1)
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

/// What every device of a fleet being started is made from.
struct Fleet<'a> {
    cfg: &'a SimConfig,
    names: &'a [&'static Personality],
    shared: &'a Arc<device::Fleet>,
}

impl Fleet<'_> {
    /// Device `i` at `addr`. Allocates only itself and its name: its
    /// state is made on first use, from the fleet's defaults.
    fn device(
        &self,
        i: usize,
        addr: SocketAddr,
        telnet_addr: Option<SocketAddr>,
    ) -> Arc<device::Shared> {
        Arc::new(device::Shared {
            name: format!("r{:04}", i + 1),
            personality: self.names[i % self.names.len()],
            addr,
            telnet_addr,
            fleet: self.shared.clone(),
            config_lines: device_lines(self.cfg, i),
            seed: (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            reencrypt_secrets: std::sync::atomic::AtomicBool::new(false),
            state: Mutex::new(None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn without_state(sim: &Simulator) -> usize {
        sim.devices()
            .iter()
            .filter(|d| d.shared.state.lock().unwrap().is_none())
            .count()
    }

    #[tokio::test]
    async fn a_device_holds_no_state_until_it_is_contacted_or_steered() {
        let sim = Simulator::start(SimConfig {
            devices: 500,
            address_block: Some(ADDRESS_BLOCK_START),
            ..SimConfig::default()
        })
        .await
        .unwrap();
        assert_eq!(without_state(&sim), 500);
        let d = &sim.devices()[7];
        assert_eq!(d.name(), "r0008");
        let _ = (d.addr(), d.platform(), d.username(), d.config_lines());
        assert_eq!(without_state(&sim), 500, "reading its identity makes none");
        assert_eq!(d.revision(), 0);
        assert_eq!(without_state(&sim), 499);
        assert_eq!(sim.configs_generated(), 0);
    }

    #[test]
    fn per_device_sizes_cover_the_range_evenly_and_are_stable() {
        let cfg = SimConfig {
            devices: 1000,
            config_lines: 100,
            config_lines_max: Some(1900),
            ..SimConfig::default()
        };
        let sizes: Vec<usize> = (0..1000).map(|i| device_lines(&cfg, i)).collect();
        assert_eq!(*sizes.iter().min().unwrap(), 100);
        assert_eq!(*sizes.iter().max().unwrap(), 1900);
        let mut sorted = sizes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert!(sorted.len() > 900, "sizes should be nearly all distinct");
        assert_ne!(sizes[0], sizes[1], "neighbours should differ");
        assert_eq!(
            sizes,
            (0..1000).map(|i| device_lines(&cfg, i)).collect::<Vec<_>>()
        );
        let fixed = SimConfig {
            config_lines: 300,
            ..SimConfig::default()
        };
        assert_eq!(device_lines(&fixed, 5), 300);
    }
}
