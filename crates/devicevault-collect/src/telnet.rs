//! The Telnet transport (RFC 854): a TCP connection whose data carries
//! in-band option negotiation.
//!
//! Negotiation policy, the minimum a CLI session needs: we accept the device
//! echoing (`WILL ECHO` → `DO ECHO`) and suppressing go-ahead in both
//! directions (`WILL SGA` → `DO SGA`, `DO SGA` → `WILL SGA`), and refuse
//! every other option (`WILL x` → `DONT x`, `DO x` → `WONT x`: no terminal
//! type, window size or linemode). Following RFC 854's loop rule, we only
//! answer requests that change an option's state. Login (`Username:`,
//! `Password:`) is part of the CLI dialogue, in [`crate::session`].

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::CollectError;

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;
/// Option: the sender echoes what it receives.
pub(crate) const ECHO: u8 = 1;
/// Option: suppress go-ahead (full-duplex operation).
pub(crate) const SGA: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParseState {
    Data,
    /// After a CR in data: a NUL that follows is padding (NVT "CR NUL").
    Cr,
    Iac,
    /// After `IAC WILL|WONT|DO|DONT`, waiting for the option byte.
    Negotiate(u8),
    /// Inside a subnegotiation, until `IAC SE`.
    Sub,
    SubIac,
}

/// The protocol side of a Telnet connection, independent of I/O so that it
/// can be tested byte by byte.
#[derive(Debug)]
pub(crate) struct TelnetParser {
    state: ParseState,
    /// Options the device performs on its side with our agreement.
    remote: [bool; 256],
    /// Options we perform on our side.
    local: [bool; 256],
}

impl TelnetParser {
    pub(crate) fn new() -> TelnetParser {
        TelnetParser {
            state: ParseState::Data,
            remote: [false; 256],
            local: [false; 256],
        }
    }

    /// Whether the device agreed to perform `option` (e.g. [`ECHO`]).
    #[cfg(test)]
    pub(crate) fn remote_enabled(&self, option: u8) -> bool {
        self.remote[usize::from(option)]
    }

    /// Splits received bytes into terminal data (appended to `data`) and
    /// negotiation answers to send back (appended to `reply`).
    pub(crate) fn feed(&mut self, input: &[u8], data: &mut Vec<u8>, reply: &mut Vec<u8>) {
        for &b in input {
            self.state = match (self.state, b) {
                (ParseState::Data | ParseState::Cr, IAC) => ParseState::Iac,
                (ParseState::Cr, 0) => ParseState::Data,
                (ParseState::Data | ParseState::Cr, b) => {
                    data.push(b);
                    if b == b'\r' {
                        ParseState::Cr
                    } else {
                        ParseState::Data
                    }
                }
                (ParseState::Iac, IAC) => {
                    data.push(IAC);
                    ParseState::Data
                }
                (ParseState::Iac, WILL | WONT | DO | DONT) => ParseState::Negotiate(b),
                (ParseState::Iac, SB) => ParseState::Sub,
                // NOP, GA, data mark, break, ...: nothing to do for a collector.
                (ParseState::Iac, _) => ParseState::Data,
                (ParseState::Negotiate(cmd), option) => {
                    self.negotiate(cmd, option, reply);
                    ParseState::Data
                }
                (ParseState::Sub, IAC) => ParseState::SubIac,
                (ParseState::Sub, _) => ParseState::Sub,
                (ParseState::SubIac, SE) => ParseState::Data,
                (ParseState::SubIac, _) => ParseState::Sub,
            };
        }
    }

    fn negotiate(&mut self, cmd: u8, option: u8, reply: &mut Vec<u8>) {
        let o = usize::from(option);
        // Which side the option is on, the state asked for, whether we
        // agree, and the verbs that answer yes and no.
        let (table, wanted, agree, yes, no) = match cmd {
            WILL => (
                &mut self.remote,
                true,
                option == ECHO || option == SGA,
                DO,
                DONT,
            ),
            WONT => (&mut self.remote, false, true, DO, DONT),
            DO => (&mut self.local, true, option == SGA, WILL, WONT),
            DONT => (&mut self.local, false, true, WILL, WONT),
            _ => return,
        };
        if !agree {
            // Refused: the option stays off, and the device is told so.
            reply.extend([IAC, no, option]);
        } else if table[o] != wanted {
            // Only a change of state is acknowledged, so that two peers
            // cannot loop on acknowledgements (RFC 854).
            table[o] = wanted;
            reply.extend([IAC, if wanted { yes } else { no }, option]);
        }
    }
}

/// Encodes text for the wire: `IAC` doubled, every line end sent as the
/// NVT's `CR LF`, and a bare CR as `CR NUL`.
pub(crate) fn encode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            IAC => out.extend([IAC, IAC]),
            b'\r' if text.get(i + 1) == Some(&b'\n') => {
                out.extend(b"\r\n");
                i += 1;
            }
            b'\r' => out.extend([b'\r', 0]),
            b'\n' => out.extend(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// An open Telnet connection.
pub(crate) struct TelnetConn {
    stream: TcpStream,
    parser: TelnetParser,
    target: String,
    read_buf: Box<[u8]>,
}

/// What one read produced.
pub(crate) enum Received {
    /// Terminal data (possibly empty if only negotiation arrived).
    Data(Vec<u8>),
    /// The device closed the connection.
    Closed,
}

impl TelnetConn {
    /// Opens the TCP connection; negotiation happens as data is read.
    pub(crate) async fn connect(
        host: &str,
        port: u16,
        target: &str,
        timeout: Duration,
    ) -> Result<TelnetConn, CollectError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
            .await
            .map_err(|_| CollectError::Timeout {
                target: target.to_owned(),
                stage: "connecting".into(),
                elapsed: timeout,
            })?
            .map_err(|e| CollectError::Connect {
                target: target.to_owned(),
                reason: e.to_string(),
            })?;
        let _ = stream.set_nodelay(true);
        Ok(TelnetConn {
            stream,
            parser: TelnetParser::new(),
            target: target.to_owned(),
            read_buf: vec![0u8; 16 * 1024].into_boxed_slice(),
        })
    }

    fn lost(&self, stage: &str, e: std::io::Error) -> CollectError {
        CollectError::ConnectionLost {
            target: self.target.clone(),
            stage: stage.to_owned(),
            reason: e.to_string(),
        }
    }

    /// Sends text, encoded for the NVT.
    pub(crate) async fn send(&mut self, text: &[u8]) -> Result<(), CollectError> {
        let wire = encode(text);
        self.stream
            .write_all(&wire)
            .await
            .map_err(|e| self.lost("sending a command", e))
    }

    /// Reads once, answering any negotiation in it.
    pub(crate) async fn recv(&mut self) -> Result<Received, CollectError> {
        let n = match self.stream.read(&mut self.read_buf).await {
            Ok(0) => return Ok(Received::Closed),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Ok(Received::Closed);
            }
            Err(e) => return Err(self.lost("reading", e)),
        };
        let mut data = Vec::with_capacity(n);
        let mut reply = Vec::new();
        self.parser.feed(&self.read_buf[..n], &mut data, &mut reply);
        if !reply.is_empty() {
            self.stream
                .write_all(&reply)
                .await
                .map_err(|e| self.lost("negotiating Telnet options", e))?;
        }
        Ok(Received::Data(data))
    }

    /// Half-closes the connection (the device sees end of input).
    pub(crate) async fn shutdown(&mut self) {
        let _ = self.stream.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAWS: u8 = 31;
    const TTYPE: u8 = 24;

    fn feed(p: &mut TelnetParser, input: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut d, mut r) = (Vec::new(), Vec::new());
        p.feed(input, &mut d, &mut r);
        (d, r)
    }

    #[test]
    fn echo_and_sga_are_accepted_and_other_options_refused() {
        let mut p = TelnetParser::new();
        let (data, reply) = feed(
            &mut p,
            &[
                IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, NAWS, IAC, DO, TTYPE, IAC, DO, SGA, IAC,
                WILL, 42, b'U', b's', b'e', b'r', b':', b' ',
            ],
        );
        assert_eq!(data, b"User: ");
        assert_eq!(
            reply,
            [
                IAC, DO, ECHO, IAC, DO, SGA, IAC, WONT, NAWS, IAC, WONT, TTYPE, IAC, WILL, SGA,
                IAC, DONT, 42
            ]
        );
        assert!(p.remote_enabled(ECHO) && p.remote_enabled(SGA));
    }

    #[test]
    fn a_repeated_request_for_the_current_state_gets_no_answer() {
        let mut p = TelnetParser::new();
        feed(&mut p, &[IAC, WILL, ECHO]);
        let (_, reply) = feed(&mut p, &[IAC, WILL, ECHO, IAC, DONT, SGA]);
        assert!(reply.is_empty(), "{reply:?}");
        let (_, reply) = feed(&mut p, &[IAC, WONT, ECHO]);
        assert_eq!(reply, [IAC, DONT, ECHO]);
        assert!(!p.remote_enabled(ECHO));
    }

    #[test]
    fn commands_split_across_reads_and_subnegotiations_are_handled() {
        let mut p = TelnetParser::new();
        let (d1, r1) = feed(&mut p, &[b'a', IAC]);
        let (d2, r2) = feed(&mut p, &[WILL]);
        let (d3, r3) = feed(&mut p, &[ECHO, b'b', IAC, SB, TTYPE, 1, IAC, IAC, 7]);
        let (d4, r4) = feed(&mut p, &[IAC, SE, b'c', IAC, IAC, b'\r', 0, b'\r', b'\n']);
        assert_eq!(
            [d1, d2, d3, d4].concat(),
            [b'a', b'b', b'c', IAC, b'\r', b'\r', b'\n']
        );
        assert_eq!([r1, r2, r3, r4].concat(), [IAC, DO, ECHO]);
    }

    #[test]
    fn text_is_encoded_with_nvt_line_ends_and_doubled_iac() {
        assert_eq!(encode(b"show run\n"), b"show run\r\n");
        assert_eq!(encode(b"x\r\n"), b"x\r\n");
        assert_eq!(encode(b"x\r"), b"x\r\0");
        assert_eq!(encode(&[b'a', IAC]), [b'a', IAC, IAC]);
    }
}
