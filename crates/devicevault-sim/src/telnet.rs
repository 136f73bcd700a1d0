//! The Telnet side of a simulated device: the greeting a Cisco-like device
//! sends (it offers to echo and suppress go-ahead, and asks for the window
//! size and terminal type, which a client may refuse), an in-band login,
//! then the same CLI as over SSH.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::device::Shared;
use crate::server::{Cli, Gone, Io};

const IAC: u8 = 255;
const SE: u8 = 240;
const SB: u8 = 250;
const WILL: u8 = 251;
const WONT: u8 = 252;
const DO: u8 = 253;
const DONT: u8 = 254;
const ECHO: u8 = 1;
const SGA: u8 = 3;
const TTYPE: u8 = 24;
const NAWS: u8 = 31;

/// How many login attempts a connection gets before the device hangs up.
const LOGIN_ATTEMPTS: usize = 3;

fn option_name(o: u8) -> String {
    match o {
        ECHO => "ECHO".into(),
        SGA => "SGA".into(),
        TTYPE => "TTYPE".into(),
        NAWS => "NAWS".into(),
        o => o.to_string(),
    }
}

/// A Telnet connection seen from the device: client commands are removed
/// from the input and recorded.
pub(crate) struct TelnetIo {
    stream: TcpStream,
    state: u8,
    dev: Arc<Shared>,
    buf: Box<[u8]>,
}

impl TelnetIo {
    pub(crate) async fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
        if data.contains(&IAC) {
            let mut escaped = Vec::with_capacity(data.len() + 1);
            for &b in data {
                escaped.push(b);
                if b == IAC {
                    escaped.push(IAC);
                }
            }
            return self.stream.write_all(&escaped).await;
        }
        self.stream.write_all(data).await
    }

    pub(crate) async fn recv(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            let n = self.stream.read(&mut self.buf).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let mut data = Vec::with_capacity(n);
            for i in 0..n {
                let b = self.buf[i];
                // state: 0 data, 1 after IAC, WILL..DONT waiting for the
                // option, SB inside a subnegotiation, SE after IAC in one.
                self.state = match (self.state, b) {
                    (0, IAC) => 1,
                    (0, b) => {
                        data.push(b);
                        0
                    }
                    (1, IAC) => {
                        data.push(IAC);
                        0
                    }
                    (1, WILL | WONT | DO | DONT | SB) => b,
                    (1, _) => 0,
                    (WILL | WONT | DO | DONT, o) => {
                        let verb = match self.state {
                            WILL => "WILL",
                            WONT => "WONT",
                            DO => "DO",
                            _ => "DONT",
                        };
                        self.dev
                            .lock()
                            .telnet_negotiation
                            .push(format!("{verb} {}", option_name(o)));
                        0
                    }
                    (SB, IAC) => SE,
                    (SB, _) => SB,
                    (SE, SE) => 0,
                    (SE, _) => SB,
                    (_, _) => 0,
                };
            }
            if !data.is_empty() {
                return Ok(data);
            }
        }
    }

    pub(crate) async fn shutdown(&mut self) {
        let _ = self.stream.shutdown().await;
    }
}

/// Accepts Telnet connections until `shutdown` flips.
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
        spawn_session(dev.clone(), socket, shutdown.clone());
    }
}

/// Serves one Telnet connection of `dev` until it ends or `stop` flips.
pub(crate) fn spawn_session(dev: Arc<Shared>, socket: TcpStream, mut stop: watch::Receiver<bool>) {
    let _ = socket.set_nodelay(true);
    tokio::spawn(async move {
        tokio::select! {
            _ = session(dev, socket) => {}
            _ = stop.changed() => {}
        }
    });
}

async fn session(dev: Arc<Shared>, mut socket: TcpStream) {
    dev.lock().telnet_negotiation.clear();
    // What IOS sends first: it will echo and suppress go-ahead, and would
    // like the terminal type and window size.
    let greeting = [
        IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, TTYPE, IAC, DO, NAWS,
    ];
    if socket.write_all(&greeting).await.is_err() {
        return;
    }
    let faults = dev.lock().faults.clone();
    let io = Io::Telnet(TelnetIo {
        stream: socket,
        state: 0,
        dev: dev.clone(),
        buf: vec![0u8; 4096].into_boxed_slice(),
    });
    let mut cli = Cli::new(dev.clone(), faults.clone(), io, 0);
    match login(&mut cli, &dev, faults.reject_password).await {
        Ok(true) => {
            let counter = {
                let mut s = dev.lock();
                s.sessions += 1;
                s.open_shells += 1;
                s.sessions
            };
            cli.set_counter(counter);
            cli.run().await;
        }
        Ok(false) | Err(Gone) => cli.hang_up().await,
    }
}

/// The in-band login; `Ok(false)` after too many wrong attempts.
async fn login(cli: &mut Cli, dev: &Shared, reject: bool) -> Result<bool, Gone> {
    let username_prompt = dev.personality.telnet_username_prompt();
    cli.write("\nUser Access Verification\n\n").await?;
    for _ in 0..LOGIN_ATTEMPTS {
        cli.write(username_prompt).await?;
        let user = cli.line(false).await?;
        cli.write("Password: ").await?;
        let password = cli.line(true).await?;
        if !reject && user.trim() == dev.fleet.username && password == dev.fleet.password {
            return Ok(true);
        }
        cli.write("% Login invalid\n\n").await?;
    }
    Ok(false)
}
