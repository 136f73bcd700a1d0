//! The file inputs (`input = "sftp"` / `"scp"`): a driver's `files` read
//! over the device's SSH login.
//!
//! The connection is [`ssh::connect`]'s, the one every SSH input uses
//! (jump host, host-key pins, authentication); only the channel differs:
//! the `sftp` subsystem (the `russh-sftp` client), or `scp -f <path>` on an
//! exec channel, the source side of the SCP protocol that OpenSSH's `scp`
//! speaks without `-s` (written here: it is a header line, the bytes and a
//! status byte). The size limit is enforced while the bytes arrive: the
//! SFTP size or the SCP header announcing too much stops the transfer
//! before it starts, and a file that keeps growing is cut off at the limit.
//!
//! A driver's `prepare` commands run first, each on an exec channel of the
//! same connection (a platform that writes its backup file on request:
//! BIG-IP's `tmsh save /sys ucs <path>`); one that does not exit 0 fails the
//! backup with what it printed. A binary driver's file is kept byte for
//! byte; with `archive = "tar"` its files become the members of one tar
//! archive, written so that the same files always give the same bytes.

use russh::ChannelMsg;
use russh::client::{self, Msg};
use russh_sftp::client::SftpSession;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::StatusCode;
use tokio::io::AsyncReadExt;

use crate::CollectOptions;
use crate::driver::{Archive, Driver, FileInput, FileProtocol};
use crate::error::CollectError;
use crate::ssh::{self, HostKeyVerifier, map_ssh_error};
use crate::target::DeviceTarget;

/// The longest SCP control line accepted (`C0644 <size> <name>` or an error
/// message); OpenSSH's own limit is its 2048-byte buffer.
const MAX_SCP_LINE: usize = 2048;
/// The longest message of a device quoted in an error.
const MAX_REASON_CHARS: usize = 200;

/// Runs `input`'s `prepare` commands, then reads every file of `input`
/// from `device`, in order, and joins them (one file: its bytes; several:
/// each after its header line, or each a member of one archive).
pub(crate) async fn fetch(
    device: &DeviceTarget,
    driver: &Driver,
    input: &FileInput,
    opts: &CollectOptions,
) -> Result<Vec<u8>, CollectError> {
    let target = device.display();
    let legacy = device.legacy_algorithms || driver.legacy_algorithms;
    let deadline = tokio::time::Instant::now() + opts.connect_timeout;
    let ssh::Connected { handle, jump } = ssh::connect(
        device,
        legacy,
        opts.known_hosts.clone(),
        deadline,
        opts.connect_timeout,
    )
    .await?;
    let max = opts.max_config_bytes_for(device, driver);
    let result = async {
        prepare(&handle, &target, input, opts).await?;
        read_all(&handle, &target, input, opts, max, driver.binary).await
    }
    .await;
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        handle.disconnect(russh::Disconnect::ByApplication, "backup done", "en"),
    )
    .await;
    drop(jump);
    result
}

/// The longest output of a `prepare` command that is read (it is only
/// quoted in an error).
const MAX_PREPARE_OUTPUT: usize = 64 * 1024;

/// Runs each `prepare` command on an exec channel, in order; a command
/// that does not exit 0, or a device that refuses exec, fails the backup.
async fn prepare(
    handle: &client::Handle<HostKeyVerifier>,
    target: &str,
    input: &FileInput,
    opts: &CollectOptions,
) -> Result<(), CollectError> {
    for cmd in &input.prepare {
        let r = tokio::time::timeout(
            opts.command_timeout,
            ssh::exec(handle, target, cmd, MAX_PREPARE_OUTPUT),
        )
        .await
        .map_err(|_| CollectError::Timeout {
            target: target.to_owned(),
            stage: format!("waiting for `{cmd}` (prepare) to finish"),
            elapsed: opts.command_timeout,
        })?
        .map_err(|e| match e {
            CollectError::ShellRefused { .. } => CollectError::FileInputRefused {
                target: target.to_owned(),
                input: input.protocol.name().into(),
                reason: format!("the exec request for `{cmd}` (prepare) was denied"),
            },
            e => e,
        })?;
        if r.status != Some(0) {
            let status = r.status.map_or_else(
                || "no exit status".to_owned(),
                |s| format!("exit status {s}"),
            );
            let said = quoted(if r.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
                &r.stderr
            } else {
                &r.stdout
            });
            return Err(CollectError::CommandRejected {
                target: target.to_owned(),
                command: cmd.clone(),
                reply: if said.is_empty() {
                    status
                } else {
                    format!("{status}: {said}")
                },
            });
        }
    }
    Ok(())
}

/// A tar archive of `files` (path, bytes), in order: each member named by
/// its path without the leading `/`, a regular file of mode 0644 owned by
/// 0:0 with time 0, so the same files always make the same bytes.
fn tar_archive(files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    b.mode(tar::HeaderMode::Deterministic);
    for (path, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        b.append_data(&mut h, path.trim_start_matches('/'), bytes.as_slice())?;
    }
    b.into_inner()
}

async fn read_all(
    handle: &client::Handle<HostKeyVerifier>,
    target: &str,
    input: &FileInput,
    opts: &CollectOptions,
    max: usize,
    binary: bool,
) -> Result<Vec<u8>, CollectError> {
    let proto = input.protocol;
    let timed_out = |stage: String| CollectError::Timeout {
        target: target.to_owned(),
        stage,
        elapsed: opts.command_timeout,
    };
    let sftp = match proto {
        FileProtocol::Sftp => Some(
            tokio::time::timeout(opts.command_timeout, open_sftp(handle, target))
                .await
                .map_err(|_| timed_out("opening the sftp subsystem".into()))??,
        ),
        FileProtocol::Scp => None,
    };
    let mut out = String::new();
    let mut members = Vec::new();
    let mut used = 0usize;
    let several = input.paths.len() > 1;
    for path in &input.paths {
        let budget = max - used;
        let mut bytes = Vec::new();
        let read = async {
            match &sftp {
                Some(s) => sftp_read(s, target, path, budget, max, &mut bytes).await,
                None => scp_read(handle, target, path, budget, max, &mut bytes).await,
            }
        };
        tokio::time::timeout(opts.command_timeout, read)
            .await
            .map_err(|_| timed_out(format!("reading {path} over {}", proto.name())))??;
        used += bytes.len();
        if binary {
            members.push((path.clone(), bytes));
            continue;
        }
        let text = String::from_utf8(bytes).map_err(|e| CollectError::FileRefused {
            target: target.to_owned(),
            path: path.clone(),
            input: proto.name().into(),
            reason: format!(
                "it is not UTF-8 text (byte {} is not); a binary file cannot be stored as a configuration",
                e.utf8_error().valid_up_to()
            ),
        })?;
        if several {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&input.header.replace("{path}", path));
            out.push('\n');
        }
        out.push_str(&text);
    }
    if let Some(s) = sftp {
        let _ = s.close().await;
    }
    if !binary {
        return Ok(out.into_bytes());
    }
    match input.archive {
        Some(Archive::Tar) => tar_archive(&members).map_err(|e| CollectError::FileRefused {
            target: target.to_owned(),
            path: input.paths.join(" "),
            input: proto.name().into(),
            reason: format!("the files cannot be made a tar archive: {e}"),
        }),
        // One file (the loader refuses several without an archive).
        None => Ok(members.pop().map(|(_, b)| b).unwrap_or_default()),
    }
}

/// The error of a file whose bytes went beyond the limit.
fn too_large(target: &str, proto: FileProtocol, path: &str, max: usize) -> CollectError {
    CollectError::OutputTooLarge {
        target: target.to_owned(),
        command: format!("{} {path}", proto.name()),
        limit: max,
    }
}

/// A device's message fit for an error: one line, no control characters,
/// bounded.
fn quoted(msg: &[u8]) -> String {
    let text = String::from_utf8_lossy(msg);
    let mut s: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON_CHARS)
        .collect();
    if text.trim().chars().count() > MAX_REASON_CHARS {
        s.push('…');
    }
    s
}

/// Opens an `sftp` subsystem channel and starts the SFTP session.
async fn open_sftp(
    handle: &client::Handle<HostKeyVerifier>,
    target: &str,
) -> Result<SftpSession, CollectError> {
    let mut channel = handle
        .channel_open_session()
        .await
        .map_err(|e| map_ssh_error(target, "opening a channel for sftp", e))?;
    channel
        .request_subsystem(true, "sftp")
        .await
        .map_err(|e| map_ssh_error(target, "requesting the sftp subsystem", e))?;
    loop {
        match channel.wait().await {
            Some(ChannelMsg::Success) => break,
            Some(ChannelMsg::Failure) => {
                return Err(CollectError::FileInputRefused {
                    target: target.to_owned(),
                    input: "sftp".into(),
                    reason: "the `sftp` subsystem request was denied (SFTP is not enabled on the device; \
                             `input = \"scp\"` may work)"
                        .into(),
                });
            }
            Some(ChannelMsg::Close | ChannelMsg::Eof) | None => {
                return Err(CollectError::FileInputRefused {
                    target: target.to_owned(),
                    input: "sftp".into(),
                    reason: "the device closed the channel instead of starting the sftp subsystem"
                        .into(),
                });
            }
            Some(_) => {}
        }
    }
    SftpSession::new(channel.into_stream())
        .await
        .map_err(|e| sftp_error(target, None, e))
}

/// An SFTP client error in the collection's words.
fn sftp_error(target: &str, path: Option<&str>, e: SftpError) -> CollectError {
    let target = target.to_owned();
    let input = "sftp".to_owned();
    let path_or = || path.unwrap_or("(session start)").to_owned();
    match e {
        SftpError::Status(s) if s.status_code == StatusCode::NoSuchFile => {
            CollectError::FileMissing {
                target,
                path: path_or(),
                input,
                reason: quoted(s.error_message.as_bytes()),
            }
        }
        SftpError::Status(s) => CollectError::FileRefused {
            target,
            path: path_or(),
            input,
            reason: format!("{}: {}", s.status_code, quoted(s.error_message.as_bytes())),
        },
        SftpError::Timeout => CollectError::Timeout {
            target,
            stage: format!("waiting for the sftp server ({})", path_or()),
            elapsed: std::time::Duration::ZERO,
        },
        SftpError::IO(reason) => CollectError::ConnectionLost {
            target,
            stage: format!("reading {} over sftp", path_or()),
            reason,
        },
        e => CollectError::FileRefused {
            target,
            path: path_or(),
            input,
            reason: format!("the sftp server broke the protocol: {e}"),
        },
    }
}

/// Reads one file over SFTP into `out`, at most `budget` bytes (`max` is
/// the limit the error names).
async fn sftp_read(
    sftp: &SftpSession,
    target: &str,
    path: &str,
    budget: usize,
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), CollectError> {
    let meta = sftp
        .metadata(path)
        .await
        .map_err(|e| sftp_error(target, Some(path), e))?;
    if meta.is_dir() {
        return Err(CollectError::FileRefused {
            target: target.to_owned(),
            path: path.to_owned(),
            input: "sftp".into(),
            reason: "it is a directory".into(),
        });
    }
    if meta.size.is_some_and(|s| s > budget as u64) {
        return Err(too_large(target, FileProtocol::Sftp, path, max));
    }
    let mut file = sftp
        .open(path)
        .await
        .map_err(|e| sftp_error(target, Some(path), e))?;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .await
            .map_err(|e| CollectError::ConnectionLost {
                target: target.to_owned(),
                stage: format!("reading {path} over sftp"),
                reason: e.to_string(),
            })?;
        if n == 0 {
            break;
        }
        if out.len() + n > budget {
            return Err(too_large(target, FileProtocol::Sftp, path, max));
        }
        out.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

/// The source side of an SCP transfer on an exec channel: what it sent
/// (`buf`), what it printed on stderr, and whether it ended.
struct ScpSource<'a> {
    ch: russh::Channel<Msg>,
    buf: Vec<u8>,
    stderr: Vec<u8>,
    status: Option<u32>,
    ended: bool,
    target: &'a str,
    path: &'a str,
}

impl ScpSource<'_> {
    fn refused(&self, reason: String) -> CollectError {
        CollectError::FileRefused {
            target: self.target.to_owned(),
            path: self.path.to_owned(),
            input: "scp".into(),
            reason,
        }
    }

    /// Waits for more bytes; `false` when the channel ended.
    async fn more(&mut self) -> Result<bool, CollectError> {
        while !self.ended {
            match self.ch.wait().await {
                Some(ChannelMsg::Data { data }) => {
                    self.buf.extend_from_slice(&data);
                    return Ok(true);
                }
                Some(ChannelMsg::ExtendedData { data, .. }) => {
                    if self.stderr.len() < MAX_SCP_LINE {
                        self.stderr.extend_from_slice(&data);
                    }
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => self.status = Some(exit_status),
                Some(ChannelMsg::Close) | None => self.ended = true,
                Some(_) => {}
            }
        }
        Ok(false)
    }

    /// Sends the one-byte acknowledgement (`\0`).
    async fn ack(&self) -> Result<(), CollectError> {
        self.ch
            .data(&b"\0"[..])
            .await
            .map_err(|e| map_ssh_error(self.target, "answering scp", e))
    }

    /// What the device said when it ended without a file: its stderr, or
    /// its exit status.
    fn ended_early(&self) -> CollectError {
        let said = quoted(&self.stderr);
        let reason = match (said.is_empty(), self.status) {
            (false, _) => said,
            (true, Some(s)) => format!("exit status {s}"),
            (true, None) => "no exit status".into(),
        };
        CollectError::FileInputRefused {
            target: self.target.to_owned(),
            input: "scp".into(),
            reason: format!("`scp -f` ended without sending {}: {reason}", self.path),
        }
    }

    /// One control line, without its `\n`.
    async fn line(&mut self) -> Result<Vec<u8>, CollectError> {
        loop {
            if let Some(at) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=at).collect();
                line.pop();
                return Ok(line);
            }
            if self.buf.len() > MAX_SCP_LINE {
                return Err(self.refused(format!(
                    "a control line longer than {MAX_SCP_LINE} bytes (not the SCP protocol)"
                )));
            }
            if !self.more().await? {
                return Err(if self.buf.is_empty() {
                    self.ended_early()
                } else {
                    self.refused("the transfer ended in the middle of a control line".into())
                });
            }
        }
    }

    /// The first byte of the next message, without taking it.
    async fn peek(&mut self) -> Result<u8, CollectError> {
        while self.buf.is_empty() {
            if !self.more().await? {
                return Err(self.ended_early());
            }
        }
        Ok(self.buf[0])
    }

    /// An error line (`\x01` warning or `\x02` fatal) as an error: a
    /// missing file names its path.
    async fn error_line(&mut self) -> CollectError {
        let line = match self.line().await {
            Ok(l) => l,
            Err(e) => return e,
        };
        let msg = quoted(&line[1..]);
        if msg.contains("No such file") {
            CollectError::FileMissing {
                target: self.target.to_owned(),
                path: self.path.to_owned(),
                input: "scp".into(),
                reason: msg,
            }
        } else {
            self.refused(msg)
        }
    }
}

/// `C0644 1234 config.ini`: the size, or why the line is not a file header.
fn scp_header_size(line: &[u8]) -> Result<u64, String> {
    let text = std::str::from_utf8(line).map_err(|_| "a header that is not text".to_owned())?;
    let mut parts = text.splitn(3, ' ');
    let (mode, size, name) = (parts.next(), parts.next(), parts.next());
    match (mode, size, name) {
        (Some(m), Some(s), Some(n))
            if m.len() == 5
                && m[1..].bytes().all(|b| (b'0'..=b'7').contains(&b))
                && !n.is_empty() =>
        {
            s.parse::<u64>().map_err(|_| {
                format!(
                    "a header with a size that is not a number: `{}`",
                    quoted(line)
                )
            })
        }
        _ => Err(format!("a malformed file header: `{}`", quoted(line))),
    }
}

/// Reads one file with `scp -f` into `out`, at most `budget` bytes.
async fn scp_read(
    handle: &client::Handle<HostKeyVerifier>,
    target: &str,
    path: &str,
    budget: usize,
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), CollectError> {
    let ch = handle
        .channel_open_session()
        .await
        .map_err(|e| map_ssh_error(target, "opening a channel for scp", e))?;
    // The path is absolute and holds no quote or control character (the
    // driver's loader refuses them), so single quotes keep it one word for
    // the device's shell.
    ch.exec(true, format!("scp -f '{path}'"))
        .await
        .map_err(|e| map_ssh_error(target, "requesting scp", e))?;
    let mut src = ScpSource {
        ch,
        buf: Vec::new(),
        stderr: Vec::new(),
        status: None,
        ended: false,
        target,
        path,
    };
    loop {
        match src.ch.wait().await {
            Some(ChannelMsg::Success) => break,
            Some(ChannelMsg::Failure) => {
                return Err(CollectError::FileInputRefused {
                    target: target.to_owned(),
                    input: "scp".into(),
                    reason: "the exec request for `scp -f` was denied (SCP is not enabled on the device)"
                        .into(),
                });
            }
            Some(ChannelMsg::Data { data }) => src.buf.extend_from_slice(&data),
            Some(ChannelMsg::Close) | None => return Err(src.ended_early()),
            Some(_) => {}
        }
    }
    src.ack().await?;
    let size = loop {
        match src.peek().await? {
            b'C' => {
                let line = src.line().await?;
                break scp_header_size(&line).map_err(|r| src.refused(r))?;
            }
            1 | 2 => return Err(src.error_line().await),
            b'D' => return Err(src.refused("it is a directory".into())),
            // A time line comes only with `-p`, which is not asked: still,
            // acknowledge it and go on as OpenSSH's sink does.
            b'T' => {
                src.line().await?;
                src.ack().await?;
            }
            _ => {
                let line = src.line().await?;
                return Err(src.refused(format!(
                    "a malformed answer instead of a file header: `{}`",
                    quoted(&line)
                )));
            }
        }
    };
    if size > budget as u64 {
        let _ = src.ch.close().await;
        return Err(too_large(target, FileProtocol::Scp, path, max));
    }
    let size = size as usize;
    src.ack().await?;
    out.reserve(size);
    while out.len() < size {
        if src.buf.is_empty() && !src.more().await? {
            return Err(CollectError::ConnectionLost {
                target: target.to_owned(),
                stage: format!("reading {path} over scp"),
                reason: format!("the channel ended after {} of {size} bytes", out.len()),
            });
        }
        let take = (size - out.len()).min(src.buf.len());
        out.extend(src.buf.drain(..take));
    }
    match src.peek().await? {
        0 => {
            src.buf.remove(0);
        }
        1 | 2 => return Err(src.error_line().await),
        _ => {
            return Err(src.refused(format!("more bytes than the {size} its header announced")));
        }
    }
    src.ack().await?;
    let _ = src.ch.eof().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_scp_header_gives_the_size_and_a_malformed_one_says_so() {
        assert_eq!(scp_header_size(b"C0644 1234 config.ini"), Ok(1234));
        assert_eq!(scp_header_size(b"C0600 0 a b"), Ok(0));
        assert!(scp_header_size(b"C0644 12x config.ini").is_err());
        assert!(scp_header_size(b"C644 12 config.ini").is_err());
        assert!(scp_header_size(b"C0644 12").is_err());
        assert!(scp_header_size(b"C0964 12 x").is_err());
    }

    #[test]
    fn a_device_message_is_one_bounded_line() {
        assert_eq!(
            quoted(b" scp: /x: No such file\r\n"),
            "scp: /x: No such file"
        );
        let long = vec![b'a'; 500];
        assert_eq!(quoted(&long).chars().count(), MAX_REASON_CHARS + 1);
    }
}
