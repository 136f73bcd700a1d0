//! Real peers for the delivery tests: aiosmtpd (PyPI) started on a free
//! port with a handler that writes each message it accepts, parsed by
//! Python's own `email` package, to a directory; certificates from the
//! openssl CLI; and an event with a diff masked by the cisco_ios driver's
//! secret rules.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use devicevault_core::Timestamp;
use devicevault_notify::{ChangeDiff, DiffLimits, Event, EventKind};
use serde_json::Value;
use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

const INSTALL: &str = "python3 -m venv .venv-peers && .venv-peers/bin/pip install aiosmtpd";

/// The workspace's `.venv-peers` Python, which `scripts/test` provides.
pub fn python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-peers/bin/python");
    assert!(
        p.exists(),
        "{} not found: run `{INSTALL}` at the workspace root (scripts/test does)",
        p.display()
    );
    p
}

/// The aiosmtpd handler: `from_cli` gets the class arguments
/// `<outdir> <mode> <user:password or ->`.
const HANDLER: &str = r#"
import base64, email, json, os
from email import policy
from aiosmtpd.smtp import AuthResult


class Handler:
    @classmethod
    def from_cli(cls, parser, *args):
        return cls(*args)

    def __init__(self, outdir, mode="accept", auth="-"):
        self.outdir = outdir
        self.mode = mode
        self.auth = None if auth == "-" else auth.split(":", 1)
        self.refused = 0
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "reject-rcpt":
            return "550 5.1.1 <%s>: Recipient address rejected: user unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.mode.startswith("refuse-first-") and self.refused == 0:
            self.refused += 1
            code = self.mode.rsplit("-", 1)[1]
            return "%s %s.3.0 try again later" % (code, code[0])
        if self.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        raw = envelope.original_content
        msg = email.message_from_bytes(raw, policy=policy.default)
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            # session.ssl is set by STARTTLS; SMTPS shows on the transport.
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(getattr(session, "authenticated", False)),
            "headers": [[k, str(v)] for k, v in msg.items()],
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
            # Lines end in CRLF on the wire; the text is what they hold.
            "body": msg.get_content().replace("\r\n", "\n"),
            "raw": raw.decode("utf-8", "replace"),
        }
        name = os.path.join(self.outdir, "%04d.json" % self.count)
        with open(name + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(name + ".tmp", name)
        return "250 2.0.0 OK queued as %d" % self.count

    async def auth_PLAIN(self, server, args):
        if self.auth is None or len(args) < 2:
            return AuthResult(success=False, handled=False)
        try:
            _, user, password = base64.b64decode(args[1]).split(b"\0")
        except Exception:
            return AuthResult(success=False, handled=False)
        ok = [user.decode(), password.decode()] == self.auth
        return AuthResult(success=ok, handled=False)
"#;

/// How the test server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// Refuses the first message's DATA with this reply code, then accepts.
    RefuseFirst(u16),
    /// Rejects every recipient with 550.
    RejectRecipients,
}

/// How the test server protects the connection.
#[derive(Debug, Clone)]
pub enum Security {
    Plain,
    /// STARTTLS offered and required before MAIL.
    Starttls(Cert),
    /// TLS from the first byte.
    Smtps(Cert),
}

/// A certificate for `localhost` and 127.0.0.1, self-signed.
#[derive(Debug, Clone)]
pub struct Cert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Cert {
    pub fn pem(&self) -> String {
        std::fs::read_to_string(&self.cert).unwrap()
    }
}

/// A certificate made by the openssl CLI (not a CA: the leaf is its own
/// trust anchor).
pub fn certificate(dir: &Path) -> Cert {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Cert { cert, key }
}

/// A running `python -m aiosmtpd`, killed on drop.
pub struct Smtpd {
    pub port: u16,
    out: PathBuf,
    _child: Child,
    _dir: tempfile::TempDir,
}

impl Smtpd {
    pub async fn start(mode: Mode, security: Security, auth: Option<(&str, &str)>) -> Smtpd {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dvhandler.py"), HANDLER).unwrap();
        let out = dir.path().join("mail");
        std::fs::create_dir(&out).unwrap();
        let port = free_port();
        let mode_arg = match mode {
            Mode::Accept => "accept".to_owned(),
            Mode::RefuseFirst(code) => format!("refuse-first-{code}"),
            Mode::RejectRecipients => "reject-rcpt".to_owned(),
        };
        let mut cmd = Command::new(python());
        cmd.args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "dvhandler.Handler"]);
        match &security {
            Security::Plain => {}
            Security::Starttls(c) => {
                cmd.arg("--tlscert")
                    .arg(&c.cert)
                    .arg("--tlskey")
                    .arg(&c.key);
            }
            Security::Smtps(c) => {
                cmd.arg("--smtpscert")
                    .arg(&c.cert)
                    .arg("--smtpskey")
                    .arg(&c.key);
            }
        }
        cmd.arg(&out).arg(mode_arg).arg(match auth {
            Some((u, p)) => format!("{u}:{p}"),
            None => "-".to_owned(),
        });
        let child = cmd
            .env("PYTHONPATH", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start aiosmtpd");
        let s = Smtpd {
            port,
            out,
            _child: child,
            _dir: dir,
        };
        s.wait_ready(matches!(security, Security::Smtps(_))).await;
        s
    }

    /// Until the server answers (for SMTPS: accepts connections).
    async fn wait_ready(&self, tls: bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await {
                if tls {
                    return;
                }
                let mut line = String::new();
                let mut r = tokio::io::BufReader::new(stream);
                if tokio::time::timeout(Duration::from_secs(5), r.read_line(&mut line))
                    .await
                    .is_ok_and(|r| r.is_ok())
                    && line.starts_with("220")
                {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }
}

/// A header of a received message (first occurrence).
pub fn header<'a>(msg: &'a Value, name: &str) -> Option<&'a str> {
    msg["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap())
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A listener that accepts connections and never says a word.
pub async fn silent_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    port
}

/// The cisco_ios driver's `[[secrets]]` rules, applied line by line as the
/// server's reading path does.
pub fn cisco_mask() -> impl Fn(&str) -> String {
    #[derive(serde::Deserialize)]
    struct Rule {
        pattern: String,
        replace: String,
    }
    #[derive(serde::Deserialize)]
    struct Driver {
        secrets: Vec<Rule>,
    }
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../devicevault-collect/drivers/cisco_ios.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let driver: Driver = toml::from_str(&text).unwrap();
    assert!(!driver.secrets.is_empty());
    let rules: Vec<(regex::Regex, String)> = driver
        .secrets
        .into_iter()
        .map(|r| {
            (
                regex::RegexBuilder::new(&r.pattern)
                    .multi_line(true)
                    .build()
                    .unwrap(),
                r.replace,
            )
        })
        .collect();
    move |text: &str| {
        text.split_inclusive('\n')
            .map(|line| {
                let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
                let mut s = body.to_owned();
                for (re, rep) in &rules {
                    s = re.replace_all(&s, rep.as_str()).into_owned();
                }
                s + end
            })
            .collect()
    }
}

pub const OLD_CONFIG: &str = "\
hostname r1
!
enable secret 5 $1$oldSecretHash
username admin privilege 15 secret 0 AdminPassUnchanged
!
interface GigabitEthernet0/1
 description uplink
 ip address 10.0.0.1 255.255.255.0
!
snmp-server community PublicCommunity RO
end
";

pub const NEW_CONFIG: &str = "\
hostname r1
!
enable secret 5 $1$newSecretHash
username admin privilege 15 secret 0 AdminPassUnchanged
username bob secret 0 Hunter2Bob
!
interface GigabitEthernet0/1
 description uplink to core
 ip address 10.0.0.1 255.255.255.0
!
snmp-server community PublicCommunity RO
end
";

/// Every secret value in the two configurations.
pub const SECRETS: [&str; 5] = [
    "oldSecretHash",
    "newSecretHash",
    "AdminPassUnchanged",
    "Hunter2Bob",
    "PublicCommunity",
];

/// `config_changed` for device 7 `name`, backups 118 → 120, with the masked
/// diff of the two configurations.
pub fn change_event(id: i64, name: &str) -> Event {
    let mut e = Event::new(
        id,
        EventKind::ConfigChanged,
        Timestamp::parse("2026-03-01T10:00:00Z").unwrap(),
        7,
        name,
    );
    e.stored_backup_id = Some(120);
    e.previous_stored_backup_id = Some(118);
    e.author = Some("alice".into());
    e.diff = Some(ChangeDiff::between(
        OLD_CONFIG,
        NEW_CONFIG,
        &format!("{name} #118"),
        &format!("{name} #120"),
        cisco_mask(),
        &DiffLimits::default(),
    ));
    e
}

pub fn failure_event(id: i64, name: &str) -> Event {
    let mut e = Event::new(
        id,
        EventKind::BackupFailed,
        Timestamp::parse("2026-03-01T10:05:00Z").unwrap(),
        8,
        name,
    );
    e.reason = Some("authentication failed for admin@10.0.0.2:22".into());
    e
}
