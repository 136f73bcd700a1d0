//! The SSH transport: connect, verify the host key, authenticate, open an
//! interactive PTY shell.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse};
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, MethodKind, Preferred, cipher, kex, mac};
use tokio::net::TcpStream;

use crate::error::CollectError;
use crate::known_hosts::{HostKeyCheck, KnownHosts, fingerprint};
use crate::target::{Credential, DeviceTarget};

/// An authenticated SSH connection with one interactive shell channel.
pub(crate) struct ShellChannel {
    pub handle: client::Handle<HostKeyVerifier>,
    pub channel: russh::Channel<client::Msg>,
    /// Bytes that arrived while the shell was being set up.
    pub early: Vec<u8>,
    /// The jump host's connection that carries this one, if any (boxed:
    /// most shells have none).
    pub jump: Option<Box<client::Handle<HostKeyVerifier>>>,
}

/// Checks the server key against the known-hosts pins and remembers a
/// mismatch, because russh only reports "unknown key" to the caller.
pub(crate) struct HostKeyVerifier {
    host: String,
    port: u16,
    known_hosts: Arc<KnownHosts>,
    verdict: Arc<Mutex<Option<Result<HostKeyCheck, CollectError>>>>,
}

impl client::Handler for HostKeyVerifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            // We never advertise certificate algorithms, so a certificate here
            // is a protocol violation.
            return Ok(false);
        };
        // A known host is answered from memory; a first contact appends
        // the pin and flushes it to disk, which must not stall the
        // runtime's threads (thousands of first contacts at once).
        let check = match self.known_hosts.lookup(&self.host, self.port, key) {
            Some(known) => Ok(known),
            None => {
                let (known_hosts, host, port, key) = (
                    self.known_hosts.clone(),
                    self.host.clone(),
                    self.port,
                    key.clone(),
                );
                tokio::task::spawn_blocking(move || known_hosts.check(&host, port, &key))
                    .await
                    .unwrap_or_else(|e| {
                        Err(CollectError::KnownHosts {
                            path: self
                                .known_hosts
                                .path()
                                .map_or_else(|| "(memory)".into(), |p| p.display().to_string()),
                            reason: format!("pinning panicked: {e}"),
                        })
                    })
            }
        };
        let ok = matches!(check, Ok(HostKeyCheck::Known | HostKeyCheck::Pinned));
        if let Ok(HostKeyCheck::Pinned) = &check {
            tracing::info!(host = %self.host, port = self.port, fingerprint = %fingerprint(key), "pinned host key on first use");
        }
        *self.verdict.lock().unwrap_or_else(|p| p.into_inner()) = Some(check);
        Ok(ok)
    }
}

/// Algorithms old devices still speak: SHA-1 key exchange, CBC ciphers, HMAC-SHA1.
fn preferred(legacy: bool) -> Preferred {
    if !legacy {
        return Preferred::default();
    }
    let d = Preferred::default();
    let mut kexes = d.kex.to_vec();
    kexes.extend([kex::DH_GEX_SHA1, kex::DH_G14_SHA1, kex::DH_G1_SHA1]);
    let mut ciphers = d.cipher.to_vec();
    ciphers.extend([
        cipher::AES_128_CBC,
        cipher::AES_192_CBC,
        cipher::AES_256_CBC,
    ]);
    let mut macs = d.mac.to_vec();
    macs.extend([mac::HMAC_SHA1, mac::HMAC_SHA1_ETM]);
    Preferred {
        kex: Cow::Owned(kexes),
        cipher: Cow::Owned(ciphers),
        mac: Cow::Owned(macs),
        ..d
    }
}

/// Maps a russh error to what happened, in the words of a network engineer.
pub(crate) fn map_ssh_error(target: &str, stage: &str, e: russh::Error) -> CollectError {
    match e {
        russh::Error::NoCommonAlgo { kind, ours, theirs } => CollectError::NoCommonAlgorithm {
            target: target.to_owned(),
            reason: format!("{kind:?}: we offer {ours:?}, the device offers {theirs:?}"),
        },
        russh::Error::ConnectionTimeout
        | russh::Error::KeepaliveTimeout
        | russh::Error::InactivityTimeout => CollectError::Timeout {
            target: target.to_owned(),
            stage: stage.to_owned(),
            elapsed: Duration::ZERO,
        },
        e @ (russh::Error::Disconnect
        | russh::Error::HUP
        | russh::Error::IO(_)
        | russh::Error::SendError
        | russh::Error::RecvError) => CollectError::ConnectionLost {
            target: target.to_owned(),
            stage: stage.to_owned(),
            reason: e.to_string(),
        },
        e => CollectError::Handshake {
            target: target.to_owned(),
            reason: format!("{stage}: {e}"),
        },
    }
}

/// An authenticated SSH connection to a device, with the connection to
/// its jump host that carries it (kept open as long as the device's).
pub(crate) struct Connected {
    pub handle: client::Handle<HostKeyVerifier>,
    pub jump: Option<client::Handle<HostKeyVerifier>>,
}

/// Connects (through the target's jump host when it has one), verifies the
/// host keys and authenticates.
pub(crate) async fn connect(
    t: &DeviceTarget,
    legacy: bool,
    known_hosts: Arc<KnownHosts>,
    deadline: tokio::time::Instant,
    connect_timeout: Duration,
) -> Result<Connected, CollectError> {
    let target = t.display();
    let timeout = |target: &str, stage: &str| CollectError::Timeout {
        target: target.to_owned(),
        stage: stage.to_owned(),
        elapsed: connect_timeout,
    };
    let tcp_to = |host: String, port: u16, target: String| async move {
        let tcp = tokio::time::timeout_at(deadline, TcpStream::connect((host.as_str(), port)))
            .await
            .map_err(|_| timeout(&target, "connecting"))?
            .map_err(|e| CollectError::Connect {
                target: target.clone(),
                reason: e.to_string(),
            })?;
        let _ = tcp.set_nodelay(true);
        Ok::<_, CollectError>(tcp)
    };
    let Some(jump) = &t.jump else {
        let tcp = tcp_to(t.host.clone(), t.port, target.clone()).await?;
        let end = End {
            host: &t.host,
            port: t.port,
            username: &t.username,
            credential: &t.credential,
            target: &target,
        };
        let handle = handshake(tcp, &end, legacy, &known_hosts, deadline, connect_timeout).await?;
        return Ok(Connected { handle, jump: None });
    };
    // What OpenSSH's ProxyJump does: log in to the jump host, ask it for a
    // direct-tcpip channel to the device, and speak SSH to the device over
    // that channel. Both host keys are pinned.
    let jump_target = format!("{}@{}:{}", jump.username, jump.host, jump.port);
    let tcp = tcp_to(jump.host.clone(), jump.port, jump_target.clone()).await?;
    let jump_end = End {
        host: &jump.host,
        port: jump.port,
        username: &jump.username,
        credential: &jump.credential,
        target: &jump_target,
    };
    let jump_handle = handshake(
        tcp,
        &jump_end,
        legacy,
        &known_hosts,
        deadline,
        connect_timeout,
    )
    .await?;
    let channel = tokio::time::timeout_at(
        deadline,
        jump_handle.channel_open_direct_tcpip(t.host.as_str(), u32::from(t.port), "127.0.0.1", 0),
    )
    .await
    .map_err(|_| timeout(&target, "opening a channel through the jump host"))?
    .map_err(|e| match e {
        russh::Error::ChannelOpenFailure(reason) => CollectError::Connect {
            target: target.clone(),
            reason: format!("the jump host {jump_target} refused to connect to it ({reason:?})"),
        },
        e => map_ssh_error(&target, "opening a channel through the jump host", e),
    })?;
    let end = End {
        host: &t.host,
        port: t.port,
        username: &t.username,
        credential: &t.credential,
        target: &target,
    };
    let handle = handshake(
        channel.into_stream(),
        &end,
        legacy,
        &known_hosts,
        deadline,
        connect_timeout,
    )
    .await?;
    Ok(Connected {
        handle,
        jump: Some(jump_handle),
    })
}

/// One end of an SSH connection: where, and how to log in.
struct End<'a> {
    host: &'a str,
    port: u16,
    username: &'a str,
    credential: &'a Credential,
    /// `user@host:port`, how errors name it.
    target: &'a str,
}

/// The SSH handshake over `stream`, the host key checked against the pins
/// of `end`, then the login.
async fn handshake<S>(
    stream: S,
    end: &End<'_>,
    legacy: bool,
    known_hosts: &Arc<KnownHosts>,
    deadline: tokio::time::Instant,
    connect_timeout: Duration,
) -> Result<client::Handle<HostKeyVerifier>, CollectError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let target = end.target.to_owned();
    let timeout = |stage: &str| CollectError::Timeout {
        target: target.clone(),
        stage: stage.to_owned(),
        elapsed: connect_timeout,
    };
    let config = Arc::new(client::Config {
        preferred: preferred(legacy),
        inactivity_timeout: None,
        nodelay: true,
        ..Default::default()
    });
    let verdict = Arc::new(Mutex::new(None));
    let verifier = HostKeyVerifier {
        host: end.host.to_owned(),
        port: end.port,
        known_hosts: known_hosts.clone(),
        verdict: verdict.clone(),
    };
    let connected =
        tokio::time::timeout_at(deadline, client::connect_stream(config, stream, verifier))
            .await
            .map_err(|_| timeout("during the SSH handshake"))?;
    let mut handle = match connected {
        Ok(h) => h,
        Err(e) => {
            let v = verdict.lock().unwrap_or_else(|p| p.into_inner()).take();
            return Err(match v {
                Some(Err(e)) => e,
                Some(Ok(HostKeyCheck::Mismatch { pinned, offered })) => {
                    CollectError::HostKeyMismatch {
                        host: format!("{}:{}", end.host, end.port),
                        pinned,
                        offered,
                        known_hosts: known_hosts.path().map_or_else(
                            || "the in-memory pins".to_owned(),
                            |p| p.display().to_string(),
                        ),
                    }
                }
                _ => map_ssh_error(&target, "during the SSH handshake", e),
            });
        }
    };

    let auth = tokio::time::timeout_at(
        deadline,
        authenticate(&mut handle, end.username, end.credential, &target),
    )
    .await
    .map_err(|_| timeout("authenticating"))??;
    if !auth {
        return Err(CollectError::AuthFailed { target });
    }
    Ok(handle)
}

/// Connects, verifies the host key, authenticates and opens a PTY shell.
pub(crate) async fn open_shell(
    t: &DeviceTarget,
    legacy: bool,
    known_hosts: Arc<KnownHosts>,
    connect_timeout: Duration,
) -> Result<ShellChannel, CollectError> {
    let target = t.display();
    let deadline = tokio::time::Instant::now() + connect_timeout;
    let Connected { handle, jump } =
        connect(t, legacy, known_hosts, deadline, connect_timeout).await?;
    let open = async {
        let mut channel = handle
            .channel_open_session()
            .await
            .map_err(|e| map_ssh_error(&target, "opening a session channel", e))?;
        channel
            .request_pty(false, "vt100", 511, 24, 0, 0, &[])
            .await
            .map_err(|e| map_ssh_error(&target, "requesting a PTY", e))?;
        channel
            .request_shell(true)
            .await
            .map_err(|e| map_ssh_error(&target, "requesting a shell", e))?;
        let mut early = Vec::new();
        loop {
            match channel.wait().await {
                Some(ChannelMsg::Success) => break,
                Some(ChannelMsg::Failure) => {
                    return Err(CollectError::ShellRefused {
                        target: target.clone(),
                        reason: "the shell request was denied".into(),
                    });
                }
                Some(ChannelMsg::Data { data }) | Some(ChannelMsg::ExtendedData { data, .. }) => {
                    early.extend_from_slice(&data)
                }
                Some(_) => {}
                None => {
                    return Err(CollectError::ConnectionLost {
                        target: target.clone(),
                        stage: "opening the shell".into(),
                        reason: "the device closed the session".into(),
                    });
                }
            }
        }
        Ok((channel, early))
    };
    let (channel, early) = tokio::time::timeout_at(deadline, open)
        .await
        .map_err(|_| CollectError::Timeout {
            target: target.clone(),
            stage: "opening the shell".into(),
            elapsed: connect_timeout,
        })??;
    Ok(ShellChannel {
        handle,
        channel,
        early,
        jump: jump.map(Box::new),
    })
}

/// What an exec channel returned.
pub(crate) struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// `None` if the device closed the channel without an exit status.
    pub status: Option<u32>,
}

/// Runs one command on its own exec channel (no PTY) and reads it to the
/// end, or until more than `max_bytes` arrived: then the channel is closed at
/// once and the output dropped.
pub(crate) async fn exec(
    handle: &client::Handle<HostKeyVerifier>,
    target: &str,
    command: &str,
    max_bytes: usize,
) -> Result<ExecOutput, CollectError> {
    let mut channel = handle
        .channel_open_session()
        .await
        .map_err(|e| map_ssh_error(target, "opening an exec channel", e))?;
    channel
        .exec(true, command)
        .await
        .map_err(|e| map_ssh_error(target, "requesting exec", e))?;
    let mut out = ExecOutput {
        stdout: Vec::new(),
        stderr: Vec::new(),
        status: None,
    };
    loop {
        if out.stdout.len() + out.stderr.len() > max_bytes {
            let _ = channel.close().await;
            return Err(CollectError::OutputTooLarge {
                target: target.to_owned(),
                command: command.to_owned(),
                limit: max_bytes,
            });
        }
        match channel.wait().await {
            Some(ChannelMsg::Failure) => {
                return Err(CollectError::ShellRefused {
                    target: target.to_owned(),
                    reason: "the exec request was denied (set `exec = false` in the driver to use an interactive shell)".into(),
                });
            }
            Some(ChannelMsg::Data { data }) => out.stdout.extend_from_slice(&data),
            Some(ChannelMsg::ExtendedData { data, .. }) => out.stderr.extend_from_slice(&data),
            Some(ChannelMsg::ExitStatus { exit_status }) => out.status = Some(exit_status),
            // Exit status may follow EOF: wait for the channel to close.
            Some(ChannelMsg::Close) | None => break,
            Some(_) => {}
        }
    }
    Ok(out)
}

async fn authenticate(
    handle: &mut client::Handle<HostKeyVerifier>,
    username: &str,
    credential: &Credential,
    target: &str,
) -> Result<bool, CollectError> {
    let lost = |e| map_ssh_error(target, "authenticating", e);
    match credential {
        Credential::Password(password) => {
            let r = handle
                .authenticate_password(username, password.expose())
                .await
                .map_err(lost)?;
            let remaining = match r {
                AuthResult::Success => return Ok(true),
                AuthResult::Failure {
                    remaining_methods, ..
                } => remaining_methods,
            };
            if !remaining.contains(&MethodKind::KeyboardInteractive) {
                return Ok(false);
            }
            // Many network OSes offer only keyboard-interactive: answer every
            // prompt with the password, a bounded number of rounds.
            let mut r = handle
                .authenticate_keyboard_interactive_start(username, None)
                .await
                .map_err(lost)?;
            for _ in 0..4 {
                match r {
                    KeyboardInteractiveAuthResponse::Success => return Ok(true),
                    KeyboardInteractiveAuthResponse::Failure { .. } => return Ok(false),
                    KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                        let answers = prompts
                            .iter()
                            .map(|_| password.expose().to_owned())
                            .collect();
                        r = handle
                            .authenticate_keyboard_interactive_respond(answers)
                            .await
                            .map_err(lost)?;
                    }
                }
            }
            Ok(false)
        }
        Credential::Key { pem, passphrase } => {
            let key = russh::keys::decode_secret_key(
                pem.expose(),
                passphrase.as_ref().map(|p| p.expose()),
            )
            .map_err(|e| CollectError::BadKey {
                target: target.to_owned(),
                reason: e.to_string(),
            })?;
            let hash = handle
                .best_supported_rsa_hash()
                .await
                .map_err(lost)?
                .flatten();
            let r = handle
                .authenticate_publickey(username, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
                .await
                .map_err(lost)?;
            Ok(r.success())
        }
    }
}
