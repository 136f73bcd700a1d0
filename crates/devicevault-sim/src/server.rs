//! The SSH side of a simulated device: one listener, one russh server session
//! per connection, one CLI task per shell.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use russh::server::{self, Auth, Msg, Session};
use russh::{
    Channel, ChannelId, ChannelMsg, MethodKind, MethodSet, Preferred, SshId, cipher, kex, mac,
};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::device::{Faults, Shared};

pub(crate) fn server_config(dev: &Shared) -> Arc<server::Config> {
    let (generation, legacy) = {
        let s = dev.lock();
        (s.key_generation, s.faults.legacy_only)
    };
    let preferred = if legacy {
        Preferred {
            kex: Cow::Borrowed(&[kex::DH_G14_SHA1, kex::DH_G1_SHA1]),
            cipher: Cow::Borrowed(&[cipher::AES_128_CBC, cipher::AES_256_CBC]),
            mac: Cow::Borrowed(&[mac::HMAC_SHA1]),
            ..Preferred::default()
        }
    } else {
        Preferred::default()
    };
    Arc::new(server::Config {
        server_id: SshId::Standard(Cow::Owned(format!(
            "SSH-2.0-{}",
            dev.personality.ssh_version
        ))),
        methods: MethodSet::from(&[MethodKind::Password][..]),
        auth_rejection_time: Duration::from_millis(50),
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![dev.host_key(generation)],
        inactivity_timeout: Some(Duration::from_secs(600)),
        preferred,
        nodelay: true,
        ..Default::default()
    })
}

/// Accepts connections until `shutdown` flips.
pub(crate) async fn serve(
    dev: Arc<Shared>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((socket, _)) = accepted else { continue };
        // Pager round trips would otherwise wait for delayed ACKs.
        let _ = socket.set_nodelay(true);
        let config = server_config(&dev);
        let handler = DeviceHandler {
            dev: dev.clone(),
            channel: None,
            faults: dev.lock().faults.clone(),
        };
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let Ok(running) = server::run_stream(config, socket, handler).await else {
                return;
            };
            let handle = running.handle();
            tokio::select! {
                _ = running => {}
                _ = stop.changed() => {
                    let _ = handle.disconnect(russh::Disconnect::ByApplication, "simulator stopping".into(), "en".into()).await;
                }
            }
        });
    }
}

struct DeviceHandler {
    dev: Arc<Shared>,
    channel: Option<Channel<Msg>>,
    /// Snapshot at connection time, so a test changing faults mid-session
    /// affects the next session only.
    faults: Faults,
}

impl server::Handler for DeviceHandler {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if !self.faults.reject_password
            && user == self.dev.username
            && password == self.dev.password
        {
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
        let authorized = user == self.dev.username
            && self
                .dev
                .lock()
                .authorized_keys
                .iter()
                .any(|k| k.key_data() == key.public_key.key_data());
        if authorized {
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel.is_some() {
            // Network devices serve one shell per connection.
            return Ok(());
        }
        self.channel = Some(channel);
        reply.accept().await;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        _value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(ch) = self.channel.take() else {
            return session.channel_failure(channel);
        };
        session.channel_success(channel)?;
        let counter = {
            let mut s = self.dev.lock();
            s.sessions += 1;
            s.open_shells += 1;
            s.sessions
        };
        let cli = Cli::new(
            self.dev.clone(),
            self.faults.clone(),
            Io::Ssh {
                ch,
                handle: session.handle(),
            },
            counter,
        );
        tokio::spawn(cli.run());
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Like most network OSes, only an interactive shell is offered,
        // except by the platforms that are Unix underneath.
        let Some(ch) = self
            .channel
            .take_if(|_| self.dev.personality.supports_exec())
        else {
            return session.channel_failure(channel);
        };
        session.channel_success(channel)?;
        let command = String::from_utf8_lossy(data).into_owned();
        let counter = {
            let mut s = self.dev.lock();
            s.sessions += 1;
            s.open_shells += 1;
            s.sessions
        };
        tokio::spawn(exec(self.dev.clone(), ch, command, counter));
        Ok(())
    }
}

/// Runs one command without a PTY: plain `\n` output, errors on stderr,
/// an exit status, then the channel closes.
async fn exec(dev: Arc<Shared>, ch: Channel<Msg>, command: String, counter: u64) {
    let p = dev.personality;
    let cmd = command.trim();
    let (out, err, status) = if cmd == p.config_command {
        let rev = dev.lock().revision;
        (dev.render(rev, counter), String::new(), 0)
    } else if let Some((_, out)) = p.commands.iter().find(|(c, _)| *c == cmd) {
        ((*out).to_owned(), String::new(), 0)
    } else {
        let name = cmd.split_whitespace().next().unwrap_or_default();
        (
            String::new(),
            format!("bash: line 1: {name}: command not found\n"),
            127,
        )
    };
    if !out.is_empty() {
        let _ = ch.data_bytes(out.into_bytes()).await;
    }
    if !err.is_empty() {
        let _ = ch.extended_data(1, err.as_bytes()).await;
    }
    let _ = ch.exit_status(status).await;
    let _ = ch.eof().await;
    let _ = ch.close().await;
    dev.lock().open_shells -= 1;
}

/// The byte stream under a simulated CLI.
pub(crate) enum Io {
    Ssh {
        ch: Channel<Msg>,
        handle: server::Handle,
    },
    Telnet(crate::telnet::TelnetIo),
}

impl Io {
    async fn send(&mut self, data: Vec<u8>) -> Result<(), Gone> {
        match self {
            Io::Ssh { ch, .. } => ch.data_bytes(data).await.map_err(|_| Gone),
            Io::Telnet(t) => t.send(&data).await.map_err(|_| Gone),
        }
    }

    /// The next input bytes (Telnet commands removed).
    async fn recv(&mut self) -> Result<Vec<u8>, Gone> {
        match self {
            Io::Ssh { ch, .. } => loop {
                match ch.wait().await {
                    Some(ChannelMsg::Data { data }) => return Ok(data.to_vec()),
                    Some(ChannelMsg::Eof | ChannelMsg::Close) | None => return Err(Gone),
                    Some(_) => {}
                }
            },
            Io::Telnet(t) => t.recv().await.map_err(|_| Gone),
        }
    }

    /// Ends the session; `clean` when the user logged out.
    async fn finish(&mut self, clean: bool) {
        match self {
            Io::Ssh { ch, .. } => {
                if clean {
                    // OpenSSH turns a missing exit status into a failure of `ssh`.
                    let _ = ch.exit_status(0).await;
                }
                let _ = ch.eof().await;
                let _ = ch.close().await;
            }
            Io::Telnet(t) => t.shutdown().await,
        }
    }

    /// Drops the connection abruptly (the disconnect misbehaviour).
    async fn reset(&mut self) {
        match self {
            Io::Ssh { handle, .. } => {
                let _ = handle
                    .disconnect(
                        russh::Disconnect::ByApplication,
                        "connection reset".into(),
                        "en".into(),
                    )
                    .await;
            }
            Io::Telnet(t) => t.shutdown().await,
        }
    }
}

/// The connection ended (or must end); unwinds the CLI task.
pub(crate) struct Gone;

pub(crate) struct Cli {
    dev: Arc<Shared>,
    faults: Faults,
    io: Io,
    input: VecDeque<u8>,
    privileged: bool,
    pager: bool,
    counter: u64,
}

const PAGE_LINES: usize = 24;

impl Cli {
    pub(crate) fn new(dev: Arc<Shared>, faults: Faults, io: Io, counter: u64) -> Cli {
        Cli {
            privileged: dev.personality.privileged_prompt.is_none(),
            pager: !dev.personality.pager_text.is_empty(),
            dev,
            faults,
            io,
            input: VecDeque::new(),
            counter,
        }
    }

    pub(crate) fn set_counter(&mut self, counter: u64) {
        self.counter = counter;
    }

    /// Ends a session that never reached the CLI (failed Telnet login).
    pub(crate) async fn hang_up(mut self) {
        self.io.finish(false).await;
    }

    /// Runs the CLI until the user logs out or the connection ends. The
    /// caller counted the session as open; this counts it closed.
    pub(crate) async fn run(mut self) {
        let clean = self.dialogue().await.is_ok();
        self.io.finish(clean).await;
        self.dev.lock().open_shells -= 1;
    }

    fn prompt(&self) -> String {
        let p = self.dev.personality;
        let tpl = if self.privileged {
            p.privileged_prompt.unwrap_or(p.prompt)
        } else {
            p.prompt
        };
        let text = tpl
            .replace("{host}", &self.dev.name)
            .replace("{user}", &self.dev.username);
        if p.ansi {
            format!("\x1b[1;32m{text}\x1b[0m")
        } else {
            text
        }
    }

    pub(crate) async fn write(&mut self, text: &str) -> Result<(), Gone> {
        let data = text.replace('\n', "\r\n");
        self.io.send(data.into_bytes()).await
    }

    async fn byte(&mut self) -> Result<u8, Gone> {
        loop {
            if let Some(b) = self.input.pop_front() {
                return Ok(b);
            }
            let data = self.io.recv().await?;
            self.input.extend(data);
        }
    }

    /// Reads a line as a terminal in cooked mode would, echoing unless `secret`.
    pub(crate) async fn line(&mut self, secret: bool) -> Result<String, Gone> {
        let mut line = Vec::new();
        loop {
            let b = self.byte().await?;
            match b {
                b'\r' | b'\n' => {
                    // CR LF and Telnet's CR NUL are one line end.
                    if b == b'\r' && matches!(self.input.front(), Some(&b'\n' | &0)) {
                        self.input.pop_front();
                    }
                    self.write("\n").await?;
                    return Ok(String::from_utf8_lossy(&line).into_owned());
                }
                0x7f | 0x08 => {
                    if line.pop().is_some() && !secret {
                        self.write("\x08 \x08").await?;
                    }
                }
                0x03 => {
                    self.write("^C\n").await?;
                    line.clear();
                    return Ok(String::new());
                }
                b => {
                    line.push(b);
                    if !secret {
                        self.io.send(vec![b]).await?;
                    }
                }
            }
        }
    }

    async fn dialogue(&mut self) -> Result<(), Gone> {
        let p = self.dev.personality;
        let banner = p.banner.replace("{host}", &self.dev.name);
        self.write(&banner).await?;
        if p.press_any_key {
            self.byte().await?;
            // A real ProCurve clears the screen here.
            self.write("\x1b[2J\x1b[H").await?;
            self.input.clear();
        }
        loop {
            let prompt = self.prompt();
            self.write(&prompt).await?;
            let line = self.line(false).await?;
            let cmd = line.trim();
            if cmd.is_empty() {
                continue;
            }
            if p.exit_commands.contains(&cmd) {
                return Ok(());
            }
            if cmd == "enable" && p.privileged_prompt.is_some() {
                self.write("Password: ").await?;
                let secret = self.line(true).await?;
                if self.faults.refuse_enable || secret != self.dev.enable_secret {
                    let msg = format!("{}\n", p.enable_denied);
                    self.write(&msg).await?;
                } else {
                    self.privileged = true;
                }
                continue;
            }
            if p.pager_off.contains(&cmd) {
                self.pager = false;
                continue;
            }
            if cmd == p.config_command {
                if p.privileged_prompt.is_some() && !self.privileged {
                    self.write(&format!("{}\n", p.unknown_command)).await?;
                    continue;
                }
                let (rev, counter) = (self.dev.lock().revision, self.counter);
                let text = self.dev.render(rev, counter);
                self.send_config(&text).await?;
                continue;
            }
            if let Some((_, out)) = p.commands.iter().find(|(c, _)| *c == cmd) {
                self.write(out).await?;
                continue;
            }
            self.write(&format!("{}\n", p.unknown_command)).await?;
        }
    }

    /// Sends the configuration with paging and the misbehaviours applied.
    async fn send_config(&mut self, text: &str) -> Result<(), Gone> {
        let wire = text.replace('\n', "\r\n");
        let mut bytes = wire.as_bytes();
        let mut cut = None;
        if let Some(n) = self.faults.hang_after_bytes {
            cut = Some((n.min(bytes.len()), false));
        }
        if let Some(n) = self.faults.disconnect_after_bytes {
            cut = Some((n.min(bytes.len()), true));
        }
        if let Some((n, _)) = cut {
            bytes = &bytes[..n];
        }
        let pager = self.pager;
        let mut sent_lines = 0usize;
        let mut start = 0usize;
        let chunk_limit = match self.faults.throttle_bytes_per_sec {
            Some(bps) => (bps as usize / 10).max(1),
            None => 32 * 1024,
        };
        while start < bytes.len() {
            // Next piece: up to a page boundary when paging, up to the chunk limit.
            let mut end = (start + chunk_limit).min(bytes.len());
            let mut page_break = false;
            if pager {
                let mut i = start;
                while i < end {
                    if bytes[i] == b'\n' {
                        sent_lines += 1;
                        if sent_lines.is_multiple_of(PAGE_LINES) {
                            end = i + 1;
                            page_break = end < bytes.len();
                            break;
                        }
                    }
                    i += 1;
                }
            }
            self.io.send(bytes[start..end].to_vec()).await?;
            start = end;
            if let Some(_bps) = self.faults.throttle_bytes_per_sec {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if page_break {
                let pt = self.dev.personality.pager_text;
                self.write(pt).await?;
                let key = self.byte().await?;
                let erase = format!("\r{}\r", " ".repeat(pt.len()));
                self.write(&erase).await?;
                if key == b'q' || key == 0x03 {
                    return Ok(());
                }
            }
        }
        match cut {
            Some((_, true)) => {
                self.io.reset().await;
                Err(Gone)
            }
            Some((_, false)) => {
                // Hang: say nothing more, but keep reading so the session
                // ends as soon as the client gives up.
                loop {
                    self.byte().await?;
                }
            }
            None => Ok(()),
        }
    }
}
