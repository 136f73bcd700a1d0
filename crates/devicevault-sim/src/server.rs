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

use crate::cli::{Resolved, resolve};
use crate::device::{Faults, Shared};
use crate::personality::{CISCO_EXEC_WORDS, LineBreaks, Style};

/// What every simulated SSH server offers, like OpenSSH and the network
/// OSes built on it (`publickey,password,keyboard-interactive`). PAN-OS in
/// particular is logged in to with keyboard-interactive by netmiko
/// (paloalto/paloalto_panos.py `SSHClient_interactive`).
const AUTH_METHODS: &[MethodKind] = &[
    MethodKind::PublicKey,
    MethodKind::Password,
    MethodKind::KeyboardInteractive,
];

/// A failed attempt: the methods that can continue, as real servers answer
/// (RFC 4252 §5.1), not an empty list.
fn rejected() -> Auth {
    Auth::Reject {
        proceed_with_methods: Some(MethodSet::from(AUTH_METHODS)),
        partial_success: false,
    }
}

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
        methods: MethodSet::from(AUTH_METHODS),
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
        spawn_session(dev.clone(), socket, shutdown.clone());
    }
}

/// Serves one SSH connection of `dev` over `stream` (a TCP socket, or a
/// jump host's `direct-tcpip` channel) until it ends or `stop` flips.
pub(crate) fn spawn_session<S>(dev: Arc<Shared>, stream: S, mut stop: watch::Receiver<bool>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let config = server_config(&dev);
    let handler = DeviceHandler {
        dev: dev.clone(),
        channel: None,
        faults: dev.lock().faults.clone(),
        login: LoginOptions::default(),
        sftp: None,
    };
    tokio::spawn(async move {
        let Ok(running) = server::run_stream(config, stream, handler).await else {
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

struct DeviceHandler {
    dev: Arc<Shared>,
    channel: Option<Channel<Msg>>,
    /// Snapshot at connection time, so a test changing faults mid-session
    /// affects the next session only.
    faults: Faults,
    /// Console options given with the login name (RouterOS `admin+ct`).
    login: LoginOptions,
    /// The channel running the `sftp` subsystem, if any.
    sftp: Option<ChannelId>,
}

/// RouterOS console options appended to the login name after a `+`
/// (netmiko mikrotik/mikrotik_ssh.py appends `+ct511w4098h`: "c: disable
/// console colors, e: enable dumb terminal mode, t: disable auto detect
/// terminal capabilities, 511w: set term width, 4098h: set term height";
/// annetutil/gnetcli pkg/device/ros appends `+cte999w255h`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LoginOptions {
    /// `c` or `e`: no colours.
    pub no_colours: bool,
    /// `<n>h`: terminal height, the lines of a page.
    pub height: Option<usize>,
}

impl DeviceHandler {
    /// The login name without its console options, and the options; `None`
    /// if the options do not parse (the device refuses such a login).
    fn split_login<'u>(&self, user: &'u str) -> Option<(&'u str, LoginOptions)> {
        let mut opts = LoginOptions::default();
        if self.dev.personality.style != Style::RouterOs {
            return Some((user, opts));
        }
        let Some((name, flags)) = user.split_once('+') else {
            return Some((user, opts));
        };
        let mut number = String::new();
        for c in flags.chars() {
            match c {
                '0'..='9' => number.push(c),
                'w' if !number.is_empty() => number.clear(),
                'h' if !number.is_empty() => {
                    opts.height = number.parse().ok();
                    number.clear();
                }
                'c' | 'e' => opts.no_colours = true,
                't' => {}
                _ => return None,
            }
        }
        number.is_empty().then_some((name, opts))
    }

    /// Whether `user` (console options allowed) is the device's user; the
    /// options are kept for the shell.
    fn user_ok(&mut self, user: &str) -> bool {
        match self.split_login(user) {
            Some((name, opts)) if name == self.dev.fleet.username => {
                self.login = opts;
                true
            }
            _ => false,
        }
    }
}

impl server::Handler for DeviceHandler {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if !self.faults.reject_password && self.user_ok(user) && password == self.dev.fleet.password
        {
            Ok(Auth::Accept)
        } else {
            Ok(rejected())
        }
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        response: Option<server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        let Some(mut response) = response else {
            return Ok(Auth::Partial {
                name: Cow::Borrowed(""),
                instructions: Cow::Borrowed(""),
                prompts: Cow::Owned(vec![(Cow::Borrowed("Password: "), false)]),
            });
        };
        let answer = response.next();
        let ok = !self.faults.reject_password
            && self.user_ok(user)
            && answer.is_some_and(|a| a.as_ref() == self.dev.fleet.password.as_bytes());
        Ok(if ok { Auth::Accept } else { rejected() })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let authorized = self.user_ok(user)
            && self
                .dev
                .lock()
                .authorized_keys
                .iter()
                .any(|k| k.key_data() == key.public_key.key_data());
        if authorized {
            Ok(Auth::Accept)
        } else {
            Ok(rejected())
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
        let mut cli = Cli::new(
            self.dev.clone(),
            self.faults.clone(),
            Io::ssh(ch, session.handle()),
            counter,
        );
        cli.set_login_options(self.login);
        tokio::spawn(cli.run());
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Only the platforms that serve files run an SFTP server; the
        // others refuse the subsystem, as a device without it does.
        let Some(ch) = self
            .channel
            .take_if(|_| name == "sftp" && self.dev.personality.serves_files())
        else {
            return session.channel_failure(channel);
        };
        session.channel_success(channel)?;
        self.sftp = Some(channel);
        tokio::spawn(crate::files::sftp(
            self.dev.clone(),
            self.faults.clone(),
            ch,
        ));
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // The SFTP client is done: the server process exits, as OpenSSH's
        // sftp-server does, and its exit status goes to the client (OpenSSH's
        // `scp`, in its SFTP mode, fails on a session without one).
        if self.sftp == Some(channel) {
            self.sftp = None;
            session.exit_status_request(channel, 0)?;
            session.eof(channel)?;
            session.close(channel)?;
        }
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(path) = crate::files::scp_source_path(&self.dev, data)
            && let Some(ch) = self.channel.take()
        {
            session.channel_success(channel)?;
            tokio::spawn(crate::files::scp(
                self.dev.clone(),
                self.faults.clone(),
                ch,
                path,
            ));
            return Ok(());
        }
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
        tokio::spawn(exec(
            self.dev.clone(),
            self.faults.clone(),
            ch,
            command,
            counter,
        ));
        Ok(())
    }
}

/// Runs one command without a PTY: plain `\n` output, errors on stderr,
/// an exit status, then the channel closes.
async fn exec(dev: Arc<Shared>, faults: Faults, ch: Channel<Msg>, command: String, counter: u64) {
    let p = dev.personality;
    let cmd = command.trim();
    // airOS's `sort /tmp/system.cfg` prints the file as its `cat` does.
    let config = cmd == p.config_command || p.config_aliases.contains(&cmd);
    if config && faults.endless_output {
        // Until the client closes the channel.
        let changes = dev.lock().changes.clone();
        let text = dev.render(&changes, counter, None);
        let chunk = text.into_bytes();
        let (mut read, write) = ch.split();
        'endless: loop {
            // Window space never comes back from a client that left: watch
            // the input side for the end meanwhile.
            let send = write.data_bytes(chunk.clone());
            tokio::pin!(send);
            loop {
                tokio::select! {
                    r = &mut send => if r.is_err() { break 'endless } else { break },
                    msg = read.wait() => if matches!(msg, None | Some(ChannelMsg::Close)) {
                        break 'endless;
                    },
                }
            }
        }
        dev.lock().open_shells -= 1;
        return;
    }
    let (out, err, status) = if config {
        let rev = dev.lock().changes.clone();
        let mut text = dev.render(&rev, counter, faults.single_line_bytes);
        if let Some(n) = faults.truncate_after_bytes
            && n < text.len()
        {
            // Cut at a line end, and a clean exit status as if complete.
            let cut = text[..n].rfind('\n').map_or(0, |i| i + 1);
            text.truncate(cut);
        }
        (text, String::new(), 0)
    } else if let Some(path) = crate::ucs::save_path(cmd).filter(|_| p.saves_ucs()) {
        let bytes = std::sync::Arc::new(crate::ucs::archive(&dev));
        dev.lock().saved_files.insert(path.clone(), bytes);
        (
            format!("Saving active configuration...\n{path} is saved.\n"),
            String::new(),
            0,
        )
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
        /// Input, read while output waits for window space (see `send`).
        read: russh::ChannelReadHalf,
        ch: russh::ChannelWriteHalf<Msg>,
        handle: server::Handle,
        /// Input that arrived while output was being sent.
        early: VecDeque<Vec<u8>>,
        /// The client will send nothing more (its input stays readable
        /// from `early`, and output may still go out).
        eof: bool,
        /// The channel closed or the session ended: nothing can be sent.
        gone: bool,
    },
    Telnet(crate::telnet::TelnetIo),
}

impl Io {
    pub(crate) fn ssh(ch: Channel<Msg>, handle: server::Handle) -> Io {
        let (read, ch) = ch.split();
        Io::Ssh {
            read,
            ch,
            handle,
            early: VecDeque::new(),
            eof: false,
            gone: false,
        }
    }

    async fn send(&mut self, data: Vec<u8>) -> Result<(), Gone> {
        match self {
            Io::Ssh {
                read,
                ch,
                early,
                eof,
                gone,
                ..
            } => {
                // Output waits for the client's window; a client that went
                // away never opens it again, so input (and its end) is read
                // meanwhile, or the device would wait forever.
                let send = ch.data_bytes(data);
                tokio::pin!(send);
                loop {
                    if *gone {
                        return Err(Gone);
                    }
                    tokio::select! {
                        r = &mut send => return r.map_err(|_| Gone),
                        msg = read.wait() => match msg {
                            Some(ChannelMsg::Data { data }) => early.push_back(data.to_vec()),
                            // Half-closed: what it sent is still to be read.
                            Some(ChannelMsg::Eof) => *eof = true,
                            Some(ChannelMsg::Close) | None => *gone = true,
                            Some(_) => {}
                        },
                    }
                }
            }
            Io::Telnet(t) => t.send(&data).await.map_err(|_| Gone),
        }
    }

    /// The next input bytes (Telnet commands removed).
    async fn recv(&mut self) -> Result<Vec<u8>, Gone> {
        match self {
            Io::Ssh {
                read,
                early,
                eof,
                gone,
                ..
            } => {
                if let Some(data) = early.pop_front() {
                    return Ok(data);
                }
                if *gone || *eof {
                    return Err(Gone);
                }
                loop {
                    match read.wait().await {
                        Some(ChannelMsg::Data { data }) => return Ok(data.to_vec()),
                        Some(ChannelMsg::Eof | ChannelMsg::Close) | None => return Err(Gone),
                        Some(_) => {}
                    }
                }
            }
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
    /// The last line ended with CR: a LF or NUL right after it, in this
    /// segment or the next, is part of that line end (RFC 854: "CR NUL" and
    /// "CR LF" are each one end of line).
    after_cr: bool,
    /// Lines per page while the pager is on.
    page_lines: usize,
    /// The prompt is coloured.
    colours: bool,
    /// FortiOS: inside `config system console`.
    console_mode: bool,
    /// Lines printed since the screen last scrolled (VT100 platforms).
    screen_row: usize,
    /// Commands run in this session plus one: EXOS shows it in its prompt.
    seq: u64,
}

const PAGE_LINES: usize = 24;

/// The most a simulated device sends in one write.
const CHUNK: usize = 32 * 1024;

impl Cli {
    pub(crate) fn new(dev: Arc<Shared>, faults: Faults, io: Io, counter: u64) -> Cli {
        Cli {
            privileged: dev.personality.privileged_prompt.is_none(),
            pager: !dev.personality.pager_text.is_empty(),
            colours: dev.personality.ansi,
            dev,
            faults,
            io,
            input: VecDeque::new(),
            counter,
            after_cr: false,
            page_lines: PAGE_LINES,
            console_mode: false,
            screen_row: 0,
            seq: 1,
        }
    }

    pub(crate) fn set_counter(&mut self, counter: u64) {
        self.counter = counter;
    }

    /// Applies the console options of the login name.
    pub(crate) fn set_login_options(&mut self, opts: LoginOptions) {
        if opts.no_colours {
            self.colours = false;
        }
        if let Some(h) = opts.height {
            self.page_lines = h.max(2);
        }
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

    fn vt100(&self) -> bool {
        self.dev.personality.line_breaks == LineBreaks::Vt100
    }

    fn prompt(&self) -> String {
        let p = self.dev.personality;
        let tpl = if self.console_mode {
            "{host} (console) # "
        } else if self.privileged {
            p.privileged_prompt.unwrap_or(p.prompt)
        } else {
            p.prompt
        };
        let text = tpl
            .replace("{host}", &self.dev.name)
            .replace("{user}", &self.dev.fleet.username)
            .replace("{seq}", &self.seq.to_string());
        if self.vt100() {
            // Redrawn on the bottom row, cursor shown again.
            format!("\x1b[24;1H\x1b[2K{text}\x1b[?25h")
        } else if self.colours {
            format!("\x1b[1;32m{text}\x1b[0m")
        } else {
            text
        }
    }

    /// Text in `\n` lines, as the platform puts it on the wire.
    fn encode(&mut self, text: &str) -> Vec<u8> {
        if !self.vt100() {
            return text.replace('\n', "\r\n").into_bytes();
        }
        let mut out = Vec::with_capacity(text.len() + text.len() / 8);
        let mut rest = text;
        while let Some(i) = rest.find('\n') {
            out.extend_from_slice(&rest.as_bytes()[..i]);
            // A run of line ends: the first ends the line (NEL, or the
            // scroll sequence once the screen is full), each further one
            // inserts a blank line. Always `ESC[1L`: netmiko replaces every
            // insert-line code with the count of the first one it finds.
            let run = rest[i..].bytes().take_while(|&b| b == b'\n').count();
            if self.screen_row >= 22 {
                // The screen is full: delete, go to the bottom row, insert.
                out.extend_from_slice(b"\x1b[1M\x1b[24;1H\x1b[1L");
                self.screen_row = 0;
            } else {
                out.extend_from_slice(b"\x1bE");
                self.screen_row += 1;
            }
            for _ in 1..run {
                out.extend_from_slice(b"\x1b[1L");
                self.screen_row += 1;
            }
            rest = &rest[i + run..];
        }
        out.extend_from_slice(rest.as_bytes());
        out
    }

    pub(crate) async fn write(&mut self, text: &str) -> Result<(), Gone> {
        let data = self.encode(text);
        self.io.send(data).await
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

    /// The next byte that is not the LF or NUL completing a CR line end.
    async fn key(&mut self) -> Result<u8, Gone> {
        loop {
            let b = self.byte().await?;
            let after_cr = std::mem::replace(&mut self.after_cr, b == b'\r');
            if !(after_cr && (b == b'\n' || b == 0)) {
                return Ok(b);
            }
        }
    }

    /// Reads a line as a terminal in cooked mode would, echoing unless `secret`.
    pub(crate) async fn line(&mut self, secret: bool) -> Result<String, Gone> {
        let mut line = Vec::new();
        loop {
            let b = self.key().await?;
            match b {
                b'\r' | b'\n' => {
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
                0 => {}
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
        if self.vt100() {
            // ProCurve sets its scroll region and homes the cursor first.
            self.io
                .send(b"\x1b[2J\x1b[?7l\x1b[1;24r\x1b[?6l\x1b[24;1H".to_vec())
                .await?;
        }
        self.write(&banner).await?;
        if p.press_any_key {
            self.key().await?;
            // A real ProCurve clears the screen here.
            self.io.send(b"\x1b[2J\x1b[H".to_vec()).await?;
            self.input.clear();
        }
        if p.inband_login() && !matches!(self.io, Io::Telnet(_)) && !self.inband_login().await? {
            return Ok(());
        }
        loop {
            let prompt = self.prompt();
            self.io.send(prompt.into_bytes()).await?;
            let line = self.line(false).await?;
            let cmd = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if cmd.is_empty() {
                continue;
            }
            self.seq += 1;
            if self.console_mode {
                self.console_command(&cmd).await?;
                continue;
            }
            if !self.command(&cmd).await? {
                return Ok(());
            }
        }
    }

    /// The CLI's own login after the SSH one; `false` after three wrong
    /// attempts (the session ends).
    async fn inband_login(&mut self) -> Result<bool, Gone> {
        let p = self.dev.personality;
        for _ in 0..3 {
            self.write(p.telnet_username_prompt()).await?;
            let user = self.line(false).await?;
            self.write("Password:").await?;
            let password = self.line(true).await?;
            if !self.faults.reject_password
                && user.trim() == self.dev.fleet.username
                && password == self.dev.fleet.password
            {
                return Ok(true);
            }
            self.write(p.inband_login_refused()).await?;
        }
        Ok(false)
    }

    /// FortiOS `config system console` context.
    async fn console_command(&mut self, cmd: &str) -> Result<(), Gone> {
        match cmd {
            "set output standard" => self.pager = false,
            "set output more" => self.pager = true,
            "end" | "abort" => self.console_mode = false,
            _ => {
                let msg = format!("{}\n", self.dev.personality.unknown_command);
                self.write(&msg).await?;
            }
        }
        Ok(())
    }

    /// Runs one command; `false` when it ends the session.
    async fn command(&mut self, cmd: &str) -> Result<bool, Gone> {
        let p = self.dev.personality;
        let (base, filters) = match cmd.split_once('|') {
            Some((b, f)) => (b.trim(), f.split('|').map(str::trim).collect::<Vec<_>>()),
            None => (cmd, Vec::new()),
        };
        let mut templates: Vec<&str> = vec![p.config_command];
        templates.extend(p.config_aliases);
        templates.extend(p.exit_commands);
        templates.extend(p.pager_off);
        templates.extend(p.settings.iter().map(|(t, _)| *t));
        templates.extend(p.commands.iter().map(|(t, _)| *t));
        if p.privileged_prompt.is_some() {
            templates.push("enable");
        }
        if p.style == Style::FortiOs {
            templates.extend(["config system console", "get system console"]);
        }
        // A platform read only as a file prints no configuration here.
        templates.retain(|t| !t.is_empty());
        let others: &[&str] = if p.abbreviations {
            CISCO_EXEC_WORDS
        } else {
            &[]
        };
        let (template, numbers) = match resolve(base, &templates, p.abbreviations, others) {
            Resolved::Command(t, n) => (t, n),
            Resolved::Ambiguous { known, word } => {
                self.error(p.ambiguous_command, base, &known, &word).await?;
                return Ok(true);
            }
            Resolved::Unknown { known, word } => {
                self.error(p.unknown_command, base, &known, &word).await?;
                return Ok(true);
            }
        };
        // FortiOS filters any output with `| grep` (netmiko runs
        // `get system status | grep Version`); other filters only follow
        // the configuration command where the platform has them.
        let grep: Option<&str> = match filters.as_slice() {
            [] => None,
            [f] if p.style == Style::FortiOs && f.starts_with("grep ") => Some(f[5..].trim()),
            fs if template == p.config_command
                && fs.iter().all(|f| p.config_filters.contains(f)) =>
            {
                None
            }
            _ => {
                self.error(p.unknown_command, cmd, base, filters[0]).await?;
                return Ok(true);
            }
        };
        if p.exit_commands.contains(&template) {
            return Ok(false);
        }
        let n = numbers.first().copied();
        if template == "enable" {
            self.enable().await?;
        } else if template == p.config_command || p.config_aliases.contains(&template) {
            if p.privileged_prompt.is_some() && !self.privileged {
                self.error(p.unknown_command, base, "", base).await?;
            } else {
                self.send_config().await?;
            }
        } else if p.pager_off.contains(&template) {
            if n.is_none_or(|n| n == 0) {
                self.pager = false;
            }
            if let Some((_, reply)) = p.settings.iter().find(|(t, _)| *t == template) {
                self.reply(reply, n).await?;
            }
        } else if let Some((_, reply)) = p.settings.iter().find(|(t, _)| *t == template) {
            self.reply(reply, n).await?;
        } else if template == "config system console" {
            self.console_mode = true;
        } else if template == "get system console" {
            let mode = if self.pager { "more" } else { "standard" };
            let text = format!(
                "mode                : line\nbaudrate            : 9600\noutput              : {mode}\nlogin               : enable\n"
            );
            self.write(&text).await?;
        } else if let Some((_, out)) = p.commands.iter().find(|(c, _)| *c == template) {
            let text = out.replace("{host}", &self.dev.name);
            let text = match grep {
                Some(pattern) => text
                    .lines()
                    .filter(|l| l.contains(pattern))
                    .map(|l| format!("{l}\n"))
                    .collect(),
                None => text,
            };
            self.write(&text).await?;
        }
        Ok(true)
    }

    async fn reply(&mut self, reply: &str, n: Option<u64>) -> Result<(), Gone> {
        if reply.is_empty() {
            return Ok(());
        }
        let text = reply.replace("{n}", &n.map(|n| n.to_string()).unwrap_or_default());
        self.write(&format!("{text}\n")).await
    }

    async fn error(&mut self, tpl: &str, cmd: &str, known: &str, word: &str) -> Result<(), Gone> {
        let text = tpl
            .replace("{cmd}", cmd)
            .replace("{known}", known)
            .replace("{word}", word);
        self.write(&format!("{text}\n")).await
    }

    async fn enable(&mut self) -> Result<(), Gone> {
        let p = self.dev.personality;
        if !p.enable_asks_secret() {
            if self.faults.refuse_enable {
                let msg = format!("{}\n", p.enable_denied);
                self.write(&msg).await?;
            } else {
                self.privileged = true;
            }
            return Ok(());
        }
        self.write("Password: ").await?;
        let secret = self.line(true).await?;
        if self.faults.refuse_enable || secret != self.dev.fleet.enable_secret {
            let msg = format!("{}\n", p.enable_denied);
            self.write(&msg).await?;
        } else {
            self.privileged = true;
        }
        Ok(())
    }

    /// Sends the configuration with paging and the misbehaviours applied.
    async fn send_config(&mut self) -> Result<(), Gone> {
        if let Some(refusal) = self.faults.refuse_config_command.clone() {
            return self.write(&format!("{refusal}\n")).await;
        }
        let (rev, counter) = (self.dev.lock().changes.clone(), self.counter);
        let mut text = self
            .dev
            .render(&rev, counter, self.faults.single_line_bytes);
        if let Some(n) = self.faults.truncate_after_bytes {
            // Cut at a line end: the device's last line looks whole, and the
            // prompt comes as if nothing were missing.
            let cut = text[..n.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
            text.truncate(cut);
        }
        if self.faults.endless_output {
            return self.send_endless(&text).await;
        }
        // A byte budget for the hang and disconnect misbehaviours.
        let (mut budget, reset) = match (
            self.faults.disconnect_after_bytes,
            self.faults.hang_after_bytes,
        ) {
            (Some(n), _) => (Some(n), true),
            (None, Some(n)) => (Some(n), false),
            (None, None) => (None, false),
        };
        let page_lines = if self.pager {
            self.page_lines
        } else {
            usize::MAX
        };
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let end = nth_line_end(rest, page_lines);
            let (page, more) = rest.split_at(end);
            rest = more;
            let wire = self.encode(page);
            if !self.send_throttled(&wire, &mut budget).await? {
                return self.misbehave(reset).await;
            }
            if !rest.is_empty() {
                let pt = self.dev.personality.pager_text;
                self.write(pt).await?;
                let key = self.key().await?;
                if self.vt100() {
                    self.io.send(b"\x1b[24;1H\x1b[2K".to_vec()).await?;
                } else {
                    let erase = format!("\r{}\r", " ".repeat(pt.len()));
                    self.write(&erase).await?;
                }
                if key == b'q' || key == 0x03 {
                    return Ok(());
                }
            }
        }
        if budget.is_some() {
            // The whole configuration fit in the budget: misbehave anyway,
            // where the prompt would have come.
            return self.misbehave(reset).await;
        }
        Ok(())
    }

    /// Sends `wire` in chunks, throttled if asked; `false` once the
    /// misbehaviour budget ran out (what fit was sent).
    async fn send_throttled(
        &mut self,
        wire: &[u8],
        budget: &mut Option<usize>,
    ) -> Result<bool, Gone> {
        let chunk_limit = match self.faults.throttle_bytes_per_sec {
            Some(bps) => (bps as usize / 10).max(1),
            None => CHUNK,
        };
        let mut start = 0;
        while start < wire.len() {
            let mut end = (start + chunk_limit).min(wire.len());
            if self.vt100() && end < wire.len() {
                // Never split an escape sequence between writes.
                if let Some(esc) = wire[start..end].iter().rposition(|&b| b == 0x1b)
                    && esc > 0
                    && end - (start + esc) < 16
                {
                    end = start + esc;
                }
            }
            let mut stop = false;
            if let Some(left) = budget {
                if end - start >= *left {
                    end = start + *left;
                    stop = true;
                }
                *left -= end - start;
            }
            self.io.send(wire[start..end].to_vec()).await?;
            start = end;
            if self.faults.throttle_bytes_per_sec.is_some() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if stop {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// After the budget: drop the connection, or hang.
    async fn misbehave(&mut self, reset: bool) -> Result<(), Gone> {
        if reset {
            self.io.reset().await;
            return Err(Gone);
        }
        // Hang: say nothing more, but keep reading so the session ends as
        // soon as the client gives up.
        loop {
            self.byte().await?;
        }
    }

    /// The configuration's lines again and again, never a prompt, until the
    /// client goes away.
    async fn send_endless(&mut self, text: &str) -> Result<(), Gone> {
        let body: String = text.lines().skip(5).map(|l| format!("{l}\n")).collect();
        let body = if body.is_empty() {
            "x\n".to_owned()
        } else {
            body
        };
        let wire = self.encode(&body);
        let head = self.encode(text);
        self.io.send(head).await?;
        loop {
            for chunk in wire.chunks(CHUNK) {
                self.io.send(chunk.to_vec()).await?;
            }
        }
    }
}

/// The byte offset just after the `n`-th `\n` of `text` (or its end).
fn nth_line_end(text: &str, n: usize) -> usize {
    if n == usize::MAX {
        return text.len();
    }
    text.match_indices('\n')
        .nth(n.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i + 1)
}
