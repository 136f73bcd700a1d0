//! The collection error: every variant says what went wrong in words a network
//! engineer understands, and whether a retry can help.

use std::time::Duration;

use devicevault_core::{Retry, RetryClass};

/// Why a collection failed.
///
/// Messages name the device as `user@host:port` and never contain a
/// password, an enable secret or any part of the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    /// The TCP connection could not be established (refused, unreachable).
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// `user@host:port`
        target: String,
        /// What the operating system said.
        reason: String,
    },
    /// The device did not answer in time.
    #[error("timed out after {}s {stage} on {target}", elapsed.as_secs_f32())]
    Timeout {
        /// `user@host:port`
        target: String,
        /// What we were doing: "connecting", "waiting for the prompt after `show running-config`", ...
        stage: String,
        /// The timeout that expired.
        elapsed: Duration,
    },
    /// The connection broke after it was established.
    #[error("connection to {target} lost {stage}: {reason}")]
    ConnectionLost {
        /// `user@host:port`
        target: String,
        /// What we were doing when it broke.
        stage: String,
        /// What the SSH layer said.
        reason: String,
    },
    /// The device rejected the username or password (or key).
    #[error("authentication failed for {target}")]
    AuthFailed {
        /// `user@host:port`
        target: String,
    },
    /// The device presented a host key different from the pinned one.
    #[error(
        "host key of {host} changed: pinned {pinned}, offered {offered}; \
         if the device was replaced on purpose, remove its line from {known_hosts}"
    )]
    HostKeyMismatch {
        /// `host:port`
        host: String,
        /// Fingerprint of the pinned key.
        pinned: String,
        /// Fingerprint of the key the device offered.
        offered: String,
        /// The known-hosts file holding the pin.
        known_hosts: String,
    },
    /// The device presented a TLS certificate different from the pinned one.
    #[error(
        "TLS certificate of {host} changed: pinned SHA-256 {pinned}, offered SHA-256 {offered}; \
         if the certificate was replaced on purpose, remove its `tls-sha256` line from {known_hosts}"
    )]
    CertificateMismatch {
        /// `host:port`
        host: String,
        /// Fingerprint of the pinned certificate.
        pinned: String,
        /// Fingerprint of the certificate the device offered.
        offered: String,
        /// The known-hosts file holding the pin.
        known_hosts: String,
    },
    /// The TLS handshake was refused: a certificate the driver's CA does
    /// not vouch for, no protocol in common, a bad CA file.
    #[error("TLS with {target} failed: {reason}")]
    Tls {
        /// `user@host:port`
        target: String,
        /// What rustls said.
        reason: String,
    },
    /// An HTTPS API answered with a status other than 2xx.
    #[error("{target} answered {status} to {request}: {reason}; the answer begins: {answer}")]
    HttpStatus {
        /// `user@host:port`
        target: String,
        /// `GET /api/`: the method and path, never the query.
        request: String,
        /// The HTTP status.
        status: u16,
        /// What it means, in words.
        reason: String,
        /// The start of the answer, what was sent and extracted masked.
        answer: String,
    },
    /// An HTTPS API's answer lacks what the driver takes from it.
    #[error("the answer of {target} to {request} is not what the driver expects: {reason}")]
    ApiAnswer {
        /// `user@host:port`
        target: String,
        /// `GET /api/`
        request: String,
        /// What is missing, and the start of the answer, masked.
        reason: String,
    },
    /// The known-hosts file could not be read or written.
    #[error("known-hosts file {path}: {reason}")]
    KnownHosts {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// No common SSH algorithm: usually an old device that needs legacy algorithms.
    #[error(
        "no common SSH algorithm with {target} ({reason}); \
         if it is an old device, enable legacy algorithms for it"
    )]
    NoCommonAlgorithm {
        /// `user@host:port`
        target: String,
        /// Which kind of algorithm and both lists.
        reason: String,
    },
    /// The SSH handshake failed for another reason.
    #[error("SSH handshake with {target} failed: {reason}")]
    Handshake {
        /// `user@host:port`
        target: String,
        /// What the SSH layer said.
        reason: String,
    },
    /// The driver named for the device does not exist.
    #[error("unknown driver `{0}`; `devicevault drivers` lists the available ones")]
    UnknownDriver(String),
    /// A driver file is invalid.
    #[error("driver {name}: {reason}")]
    InvalidDriver {
        /// Driver name or file.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The device refused privileged mode.
    #[error("enable refused by {target}: {reason}")]
    EnableRefused {
        /// `user@host:port`
        target: String,
        /// Wrong secret, no secret configured, ...
        reason: String,
    },
    /// The device rejected a backup command.
    #[error("{target} rejected `{command}`: {reply}")]
    CommandRejected {
        /// `user@host:port`
        target: String,
        /// The command.
        command: String,
        /// The error line the device printed.
        reply: String,
    },
    /// The device refused to open a shell or PTY.
    #[error("{target} refused an interactive shell: {reason}")]
    ShellRefused {
        /// `user@host:port`
        target: String,
        /// What the SSH layer said.
        reason: String,
    },
    /// What came back is not a whole configuration: a refusal the driver's
    /// error patterns missed, or an output cut short. Retrying cannot help
    /// (the device answers the same), and storing it would replace a good
    /// backup with a fragment.
    #[error(
        "{target} did not send a complete configuration for `{command}`: {reason}; \
         last lines received (secrets masked): {last_lines}"
    )]
    Incomplete {
        /// `user@host:port`
        target: String,
        /// The backup command(s).
        command: String,
        /// Which completeness rule failed, in words.
        reason: String,
        /// The last few lines received, the driver's secret rules applied,
        /// bounded in length, ` | `-separated.
        last_lines: String,
    },
    /// The device sent more than `max_config_bytes`: reading stopped there
    /// and the session was closed. Permanent: a device that sends that much
    /// once does it again (and an endless one never stops).
    #[error(
        "{target} sent more than {limit} bytes ({}) for `{command}`, the maximum configuration size \
         (max_config_bytes); reading stopped and nothing was stored",
        human_size(*limit)
    )]
    OutputTooLarge {
        /// `user@host:port`
        target: String,
        /// The command whose output was too large.
        command: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The private key given for key authentication cannot be used.
    #[error("private key for {target} cannot be used: {reason}")]
    BadKey {
        /// `user@host:port`
        target: String,
        /// Why.
        reason: String,
    },
    /// A file the driver names is not on the device (SFTP `No such file`,
    /// SCP `No such file or directory`). Permanent: the driver names the
    /// wrong path for this device, or the platform keeps it elsewhere.
    #[error("{target} has no file {path} ({input}: {reason})")]
    FileMissing {
        /// `user@host:port`
        target: String,
        /// The path.
        path: String,
        /// `sftp` or `scp`.
        input: String,
        /// What the device said.
        reason: String,
    },
    /// The device refused to send a file, or answered in a way the
    /// protocol does not allow (permission denied, a directory, a malformed
    /// SCP header, a file that is not text). Permanent: it answers the same
    /// next time.
    #[error("{target} did not send {path} over {input}: {reason}")]
    FileRefused {
        /// `user@host:port`
        target: String,
        /// The path.
        path: String,
        /// `sftp` or `scp`.
        input: String,
        /// What went wrong.
        reason: String,
    },
    /// The device refused the file transfer itself: the `sftp` subsystem or
    /// the `scp` exec request was denied. Permanent: it is not enabled
    /// (or not offered) on the device.
    #[error("{target} refused {input}: {reason}")]
    FileInputRefused {
        /// `user@host:port`
        target: String,
        /// `sftp` or `scp`.
        input: String,
        /// What the SSH layer said.
        reason: String,
    },
    /// The device's credential lacks a secret the collection needs: an API
    /// key a driver's request sends as `{api_key}`, a password a login or
    /// a request sends. Permanent: the credential must be completed.
    #[error(
        "{target}: {credential} has no {secret}, which {needed_by} needs; set one on the credential"
    )]
    MissingSecret {
        /// `user@host:port`
        target: String,
        /// credential `name` (or "the credential").
        credential: String,
        /// `API key`, `password`.
        secret: String,
        /// What sends it: "`{api_key}` in GET /api/v2/...", "the SSH login".
        needed_by: String,
    },
    /// The target asks for a combination this engine does not do.
    #[error("{target}: {reason} is not supported")]
    Unsupported {
        /// `user@host:port`
        target: String,
        /// What was asked.
        reason: String,
    },
}

/// `16 MiB`, `512 KiB`, `100 B`: a limit as an operator would write it.
fn human_size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= KIB {
        format!("{:.1} KiB", bytes as f64 / KIB as f64)
    } else {
        format!("{bytes} B")
    }
}

impl RetryClass for CollectError {
    fn retry(&self) -> Retry {
        match self {
            CollectError::Connect { .. }
            | CollectError::Timeout { .. }
            | CollectError::ConnectionLost { .. }
            | CollectError::Handshake { .. } => Retry::Transient,
            // A device that is busy or failing inside may answer next time.
            CollectError::HttpStatus { status, .. }
                if *status >= 500 || *status == 408 || *status == 429 =>
            {
                Retry::Transient
            }
            CollectError::HttpStatus { .. }
            | CollectError::CertificateMismatch { .. }
            | CollectError::Tls { .. }
            | CollectError::ApiAnswer { .. } => Retry::Permanent,
            CollectError::AuthFailed { .. }
            | CollectError::HostKeyMismatch { .. }
            | CollectError::KnownHosts { .. }
            | CollectError::NoCommonAlgorithm { .. }
            | CollectError::UnknownDriver(_)
            | CollectError::InvalidDriver { .. }
            | CollectError::EnableRefused { .. }
            | CollectError::CommandRejected { .. }
            | CollectError::ShellRefused { .. }
            | CollectError::BadKey { .. }
            | CollectError::Unsupported { .. }
            | CollectError::MissingSecret { .. }
            | CollectError::FileMissing { .. }
            | CollectError::FileRefused { .. }
            | CollectError::FileInputRefused { .. }
            | CollectError::Incomplete { .. }
            | CollectError::OutputTooLarge { .. } => Retry::Permanent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_resets_are_transient_and_auth_is_permanent() {
        let t = CollectError::Timeout {
            target: "admin@10.0.0.1:22".into(),
            stage: "connecting".into(),
            elapsed: Duration::from_secs(5),
        };
        assert!(t.is_transient());
        assert_eq!(
            t.to_string(),
            "timed out after 5s connecting on admin@10.0.0.1:22"
        );
        let a = CollectError::AuthFailed {
            target: "admin@10.0.0.1:22".into(),
        };
        assert_eq!(a.retry(), Retry::Permanent);
        assert_eq!(a.to_string(), "authentication failed for admin@10.0.0.1:22");
        assert_eq!(
            CollectError::UnknownDriver("x".into()).retry(),
            Retry::Permanent
        );
    }

    #[test]
    fn an_incomplete_or_oversized_output_is_permanent_and_says_why() {
        let e = CollectError::Incomplete {
            target: "admin@10.0.0.1:22".into(),
            command: "show running-config".into(),
            reason: "the last line is not `end`".into(),
            last_lines: "Command authorization failed.".into(),
        };
        assert_eq!(e.retry(), Retry::Permanent);
        let msg = e.to_string();
        assert!(msg.contains("the last line is not `end`"), "{msg}");
        assert!(msg.contains("Command authorization failed."), "{msg}");
        let big = CollectError::OutputTooLarge {
            target: "admin@10.0.0.1:22".into(),
            command: "show running-config".into(),
            limit: 16 * 1024 * 1024,
        };
        assert_eq!(big.retry(), Retry::Permanent);
        assert!(big.to_string().contains("16777216 bytes (16 MiB)"), "{big}");
        assert!(big.to_string().contains("max_config_bytes"), "{big}");
    }

    #[test]
    fn http_statuses_are_transient_only_when_the_device_may_answer_later() {
        let status = |status| CollectError::HttpStatus {
            target: "admin@10.0.0.1:443".into(),
            request: "GET /api/".into(),
            status,
            reason: "r".into(),
            answer: "a".into(),
        };
        for s in [500, 502, 503, 408, 429] {
            assert!(status(s).is_transient(), "{s}");
        }
        for s in [400, 401, 403, 404] {
            assert_eq!(status(s).retry(), Retry::Permanent, "{s}");
        }
        let m = CollectError::CertificateMismatch {
            host: "10.0.0.1:443".into(),
            pinned: "AA:BB".into(),
            offered: "CC:DD".into(),
            known_hosts: "/var/lib/devicevault/known_hosts".into(),
        };
        assert_eq!(m.retry(), Retry::Permanent);
        let text = m.to_string();
        assert!(text.contains("AA:BB") && text.contains("CC:DD"), "{text}");
    }
}
