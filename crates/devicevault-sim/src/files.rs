//! The files a simulated platform serves over SSH: the `sftp` subsystem
//! (russh-sftp's server side) and `scp -f` on an exec channel (the source
//! side of the SCP protocol, as OpenSSH's `scp` in its legacy mode, `-O`,
//! asks it). Each path of [`Personality::served_files`] holds the
//! generated configuration, rendered when it is opened (volatile lines
//! and secrets included, as the CLI prints them); a file the device saved
//! on request (BIG-IP's UCS archive, [`crate::ucs`]) holds the bytes it was
//! saved with; any other path is "No such file", read-only like a
//! device's configuration store.
//!
//! [`Personality::served_files`]: crate::personality::Personality::served_files

use std::collections::HashMap;
use std::sync::Arc;

use russh::server::Msg;
use russh::{Channel, ChannelMsg};
use russh_sftp::protocol::{
    Attrs, Data, File, FileAttributes, Handle, Name, OpenFlags, Status, StatusCode, Version,
};

use crate::device::{Faults, Shared};

/// What an endless file sends at a time.
const CHUNK: usize = 32 * 1024;

/// The bytes of `path` (a served file) for a fresh session of `dev`: a
/// saved file's bytes, else the configuration as that session prints it;
/// `open` counts that session, a `stat` only looks at what it would print.
fn content(dev: &Shared, faults: &Faults, path: &str, open: bool) -> Vec<u8> {
    let saved = dev.lock().saved_files.get(path).cloned();
    if let Some(bytes) = saved {
        let mut bytes = bytes.as_ref().clone();
        if let Some(n) = faults.truncate_after_bytes {
            bytes.truncate(n);
        }
        return bytes;
    }
    let (changes, counter) = {
        let mut s = dev.lock();
        if open {
            s.sessions += 1;
        }
        (s.changes.clone(), s.sessions + u64::from(!open))
    };
    let mut bytes = dev
        .render(&changes, counter, faults.single_line_bytes)
        .into_bytes();
    if let Some(n) = faults.truncate_after_bytes.filter(|&n| n < bytes.len()) {
        // Cut short at a line end, as a file half written when the disk
        // filled up.
        let end = bytes[..n]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        bytes.truncate(end);
    }
    bytes
}

/// `path` with `.` and repeated `/` resolved against `/` (the simulated
/// file systems have no symbolic links to follow but pfSense's `/conf`,
/// which is served as a path of its own).
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn served(dev: &Shared, path: &str) -> bool {
    dev.personality.served_files().contains(&path) || dev.lock().saved_files.contains_key(path)
}

/// A directory that holds a served file (`/`, `/conf`, `/cf/conf`...).
fn is_dir(dev: &Shared, path: &str) -> bool {
    let holds = |f: &str| {
        f.strip_prefix(path)
            .is_some_and(|rest| path == "/" || rest.starts_with('/'))
    };
    dev.personality.served_files().iter().any(|f| holds(f))
        || dev.lock().saved_files.keys().any(|f| holds(f))
}

fn file_attrs(size: u64) -> FileAttributes {
    FileAttributes {
        size: Some(size),
        uid: Some(0),
        gid: Some(0),
        permissions: Some(0o100_644),
        atime: Some(0),
        mtime: Some(0),
        ..Default::default()
    }
}

fn dir_attrs() -> FileAttributes {
    FileAttributes {
        size: Some(512),
        uid: Some(0),
        gid: Some(0),
        permissions: Some(0o040_755),
        atime: Some(0),
        mtime: Some(0),
        ..Default::default()
    }
}

/// Serves the `sftp` subsystem on `ch` until the client leaves.
pub(crate) async fn sftp(dev: Arc<Shared>, faults: Faults, ch: Channel<Msg>) {
    let handler = SftpFiles {
        dev,
        faults,
        open: HashMap::new(),
        next: 0,
    };
    russh_sftp::server::run(ch.into_stream(), handler).await;
}

struct SftpFiles {
    dev: Arc<Shared>,
    faults: Faults,
    /// Open handles and the bytes each reads (`None`: endless).
    open: HashMap<String, Option<Vec<u8>>>,
    next: u64,
}

impl SftpFiles {
    fn attrs(&self, id: u32, path: &str) -> Result<Attrs, StatusCode> {
        let path = normalize(path);
        if served(&self.dev, &path) {
            // Rendered for its size only; an open renders it again.
            let size = if self.faults.endless_output {
                0
            } else {
                content(&self.dev, &self.faults, &path, false).len() as u64
            };
            Ok(Attrs {
                id,
                attrs: file_attrs(size),
            })
        } else if is_dir(&self.dev, &path) {
            Ok(Attrs {
                id,
                attrs: dir_attrs(),
            })
        } else {
            Err(StatusCode::NoSuchFile)
        }
    }
}

impl russh_sftp::server::Handler for SftpFiles {
    type Error = StatusCode;

    fn unimplemented(&self) -> Self::Error {
        StatusCode::OpUnsupported
    }

    async fn init(
        &mut self,
        _version: u32,
        _extensions: HashMap<String, String>,
    ) -> Result<Version, Self::Error> {
        Ok(Version::new())
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, Self::Error> {
        // The login's home is the root of the served files.
        Ok(Name {
            id,
            files: vec![File::dummy(normalize(&path))],
        })
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, Self::Error> {
        self.attrs(id, &path)
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, Self::Error> {
        self.attrs(id, &path)
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        _attrs: FileAttributes,
    ) -> Result<Handle, Self::Error> {
        let path = normalize(&filename);
        if !served(&self.dev, &path) {
            return Err(if is_dir(&self.dev, &path) {
                StatusCode::Failure
            } else {
                StatusCode::NoSuchFile
            });
        }
        if pflags.intersects(
            OpenFlags::WRITE | OpenFlags::APPEND | OpenFlags::CREATE | OpenFlags::TRUNCATE,
        ) {
            return Err(StatusCode::PermissionDenied);
        }
        self.next += 1;
        let handle = format!("h{}", self.next);
        let bytes =
            (!self.faults.endless_output).then(|| content(&self.dev, &self.faults, &path, true));
        self.open.insert(handle.clone(), bytes);
        Ok(Handle { id, handle })
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Result<Attrs, Self::Error> {
        match self.open.get(&handle) {
            Some(bytes) => Ok(Attrs {
                id,
                attrs: file_attrs(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            }),
            None => Err(StatusCode::Failure),
        }
    }

    async fn read(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        len: u32,
    ) -> Result<Data, Self::Error> {
        let bytes = self.open.get(&handle).ok_or(StatusCode::Failure)?;
        let len = (len as usize).min(CHUNK);
        let data = match bytes {
            // An endless file: lines of configuration at every offset.
            None => b"# endless\n".iter().copied().cycle().take(len).collect(),
            Some(b) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                if self
                    .faults
                    .disconnect_after_bytes
                    .is_some_and(|n| start + len > n)
                {
                    // The link broke in the middle of the file.
                    return Err(StatusCode::ConnectionLost);
                }
                if start >= b.len() {
                    return Err(StatusCode::Eof);
                }
                b[start..(start + len).min(b.len())].to_vec()
            }
        };
        Ok(Data { id, data })
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, Self::Error> {
        self.open.remove(&handle);
        Ok(Status {
            id,
            status_code: StatusCode::Ok,
            error_message: "Ok".into(),
            language_tag: "en-US".into(),
        })
    }
}

/// What `scp -f` was asked: the path, and whether times go first (`-p`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ScpRequest {
    path: String,
    times: bool,
}

/// The request when `command` is `scp -f [options] [--] <path>` to a
/// platform that serves files; `None` for anything else (the exec
/// request is then the CLI's business).
pub(crate) fn scp_source_path(dev: &Shared, command: &[u8]) -> Option<ScpRequest> {
    if !dev.personality.serves_files() {
        return None;
    }
    let text = std::str::from_utf8(command).ok()?;
    let mut words = text.split_whitespace();
    if words.next()? != "scp" {
        return None;
    }
    let (mut from, mut times, mut path) = (false, false, None);
    let mut options = true;
    for w in words {
        match w {
            "--" if options => options = false,
            w if options && w.starts_with('-') => {
                for c in w[1..].chars() {
                    match c {
                        'f' => from = true,
                        'p' => times = true,
                        // Verbose, directory target, recursion: no effect here.
                        'v' | 'd' | 'r' => {}
                        _ => return None,
                    }
                }
            }
            w if path.is_none() => {
                path = Some(w.trim_matches(|c| c == '\'' || c == '"').to_owned());
            }
            // One file at a time, as the collectors ask.
            _ => return None,
        }
    }
    Some(ScpRequest { path: path?, times }).filter(|_| from)
}

/// Waits for the client's next byte; `None` when it left.
async fn client_byte(ch: &mut Channel<Msg>, pending: &mut Vec<u8>) -> Option<u8> {
    loop {
        if !pending.is_empty() {
            return Some(pending.remove(0));
        }
        match ch.wait().await? {
            ChannelMsg::Data { data } => pending.extend_from_slice(&data),
            ChannelMsg::Eof | ChannelMsg::Close => return None,
            _ => {}
        }
    }
}

/// Serves one `scp -f`: the file, or an error line for a path it does not
/// have, then the exit status.
pub(crate) async fn scp(dev: Arc<Shared>, faults: Faults, mut ch: Channel<Msg>, req: ScpRequest) {
    let mut pending = Vec::new();
    let status = serve_scp(&dev, &faults, &mut ch, &mut pending, &req).await;
    let _ = ch.exit_status(status).await;
    let _ = ch.eof().await;
    let _ = ch.close().await;
}

async fn serve_scp(
    dev: &Shared,
    faults: &Faults,
    ch: &mut Channel<Msg>,
    pending: &mut Vec<u8>,
    req: &ScpRequest,
) -> u32 {
    // The sink speaks first: one `\0` when it is ready.
    if client_byte(ch, pending).await != Some(0) {
        return 1;
    }
    let path = normalize(&req.path);
    if !served(dev, &path) {
        let why = if is_dir(dev, &path) {
            "not a regular file"
        } else {
            "No such file or directory"
        };
        let line = format!("\u{1}scp: {}: {why}\n", req.path);
        let _ = ch.data(line.as_bytes()).await;
        return 1;
    }
    let name = path.rsplit('/').next().unwrap_or_default();
    if req.times {
        let _ = ch.data(&b"T1733500800 0 1733500800 0\n"[..]).await;
        if client_byte(ch, pending).await != Some(0) {
            return 1;
        }
    }
    if faults.endless_output {
        // A file that never ends announces a size no sink takes.
        let header = format!("C0644 {} {name}\n", 1u64 << 40);
        let _ = ch.data(header.as_bytes()).await;
        if client_byte(ch, pending).await != Some(0) {
            return 1;
        }
        let chunk = b"# endless\n".repeat(CHUNK / 10);
        while ch.data(&chunk[..]).await.is_ok() {}
        return 1;
    }
    let bytes = content(dev, faults, &path, true);
    let header = format!("C0644 {} {name}\n", bytes.len());
    if ch.data(header.as_bytes()).await.is_err() || client_byte(ch, pending).await != Some(0) {
        return 1;
    }
    if let Some(n) = faults.disconnect_after_bytes.filter(|&n| n < bytes.len()) {
        // The link broke in the middle of the file: the channel ends.
        let _ = ch.data(&bytes[..n]).await;
        return 1;
    }
    if ch.data_bytes(bytes).await.is_err() || ch.data(&b"\0"[..]).await.is_err() {
        return 1;
    }
    match client_byte(ch, pending).await {
        Some(0) => 0,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_resolved_against_the_root() {
        assert_eq!(normalize("/conf/./config.xml"), "/conf/config.xml");
        assert_eq!(normalize("//cf//conf/config.xml"), "/cf/conf/config.xml");
        assert_eq!(normalize("."), "/");
        assert_eq!(normalize("/conf/../config.ini"), "/config.ini");
    }
}
