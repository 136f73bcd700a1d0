//! A jump host (bastion): an SSH server whose one service is `direct-tcpip`
//! (RFC 4254 §7.2), what OpenSSH's `ssh -J` / `ssh -W` ask of it. It
//! reaches the devices of a fleet started with
//! [`Simulator::start_hidden`], which have no listener of their own: a
//! channel to a device's hidden address carries that device's SSH server.
//! Any other destination is refused as OpenSSH's `sshd` refuses one its
//! `PermitOpen` does not list: open failure 1, "administratively
//! prohibited". It offers no shell, like a bastion with `ForceCommand`
//! refusing sessions.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::keys::PrivateKey;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::server::{self, Auth, Msg, Session};
use russh::{Channel, ChannelOpenFailure, MethodKind, MethodSet, SshId};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::device::Shared;
use crate::{SimError, Simulator};

/// A running jump host. Dropping it stops the listener; the sessions it
/// carries end with the fleet behind it.
#[derive(Debug)]
pub struct JumpHost {
    addr: SocketAddr,
    host_key: PrivateKey,
    opened: Arc<Mutex<Vec<String>>>,
    authorized_keys: Arc<Mutex<Vec<russh::keys::PublicKey>>>,
    _stop: watch::Sender<bool>,
}

#[derive(Clone)]
struct Config {
    username: String,
    password: String,
    behind: Arc<HashMap<(String, u16), Arc<Shared>>>,
    opened: Arc<Mutex<Vec<String>>>,
    authorized_keys: Arc<Mutex<Vec<russh::keys::PublicKey>>>,
    fleet_stopping: watch::Receiver<bool>,
}

impl JumpHost {
    /// Listens on `bind` (port 0: any free port) for `username` with
    /// `password` (or an authorized key), and reaches the devices of
    /// `behind` at their hidden addresses.
    pub async fn start(
        bind: SocketAddr,
        username: &str,
        password: &str,
        behind: &Simulator,
    ) -> Result<JumpHost, SimError> {
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|source| SimError::Bind { addr: bind, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr: bind, source })?;
        let map = behind
            .devices()
            .iter()
            .map(|d| ((d.addr().ip().to_string(), d.port()), d.shared.clone()))
            .collect();
        let host_key = PrivateKey::from(Ed25519Keypair::from_seed(&[0x4a; 32]));
        let opened = Arc::new(Mutex::new(Vec::new()));
        let authorized_keys = Arc::new(Mutex::new(Vec::new()));
        let cfg = Config {
            username: username.to_owned(),
            password: password.to_owned(),
            behind: Arc::new(map),
            opened: opened.clone(),
            authorized_keys: authorized_keys.clone(),
            fleet_stopping: behind.stopping(),
        };
        let server = Arc::new(server::Config {
            server_id: SshId::Standard(Cow::Borrowed("SSH-2.0-OpenSSH_9.6 devicevault-sim-jump")),
            methods: MethodSet::from(&[MethodKind::PublicKey, MethodKind::Password][..]),
            auth_rejection_time: Duration::from_millis(50),
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: vec![host_key.clone()],
            inactivity_timeout: Some(Duration::from_secs(600)),
            nodelay: true,
            ..Default::default()
        });
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stopped.changed() => return,
                };
                let Ok((socket, _)) = accepted else { continue };
                let _ = socket.set_nodelay(true);
                let handler = JumpHandler { cfg: cfg.clone() };
                let server = server.clone();
                tokio::spawn(async move {
                    if let Ok(running) = server::run_stream(server, socket, handler).await {
                        let _ = running.await;
                    }
                });
            }
        });
        Ok(JumpHost {
            addr,
            host_key,
            opened,
            authorized_keys,
            _stop: stop,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its host key's fingerprint (`SHA256:...`).
    pub fn host_key_fingerprint(&self) -> String {
        self.host_key
            .public_key()
            .fingerprint(russh::keys::HashAlg::Sha256)
            .to_string()
    }

    /// Lets `key` log in (public-key authentication).
    pub fn authorize_key(&self, key: russh::keys::PublicKey) {
        self.authorized_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(key);
    }

    /// Every `host:port` a channel was opened to, in order.
    pub fn opened(&self) -> Vec<String> {
        self.opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

struct JumpHandler {
    cfg: Config,
}

impl server::Handler for JumpHandler {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if user == self.cfg.username && password == self.cfg.password {
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let known = self
            .cfg
            .authorized_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|k| k.key_data() == key.public_key.key_data());
        Ok(if user == self.cfg.username && known {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply
            .reject(ChannelOpenFailure::AdministrativelyProhibited)
            .await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let device = u16::try_from(port_to_connect)
            .ok()
            .and_then(|port| self.cfg.behind.get(&(host_to_connect.to_owned(), port)));
        let Some(device) = device else {
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        };
        self.cfg
            .opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(format!("{host_to_connect}:{port_to_connect}"));
        reply.accept().await;
        crate::server::spawn_session(
            device.clone(),
            channel.into_stream(),
            self.cfg.fleet_stopping.clone(),
        );
        Ok(())
    }
}
