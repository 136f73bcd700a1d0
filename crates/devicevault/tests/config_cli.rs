//! The configuration as an operator meets it: `config default` writes a
//! file `serve` and `config show` read back; a mistake in the file stops a
//! server with one line naming it; distributed roles started before what
//! they need wait for it, saying what and where, and go on once it is
//! there.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_devicevault");

fn devicevault(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("DEVICEVAULT_CONFIG")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_default_file_is_read_back_by_config_show() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = devicevault(&["config", "default", "--data-dir", data.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("# Environment: DEVICEVAULT_REDIS_URL."),
        "{text}"
    );
    let file = dir.path().join("devicevault.toml");
    // An operator edits it: a setting uncommented and changed.
    std::fs::write(
        &file,
        text.replace("#connect_timeout = \"10s\"", "connect_timeout = \"25s\""),
    )
    .unwrap();
    let o = Command::new(BIN)
        .args(["config", "show", "--config", file.to_str().unwrap()])
        .env("DEVICEVAULT_REDIS_URL", "redis://:hunter2@cache:6379/3")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let shown = stdout(&o);
    let file_shown = file.display().to_string();
    assert!(
        shown.contains(&format!(
            "data_dir = \"{}\"  # {file_shown}",
            data.display()
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("connect_timeout = \"25s\"  # {file_shown}")),
        "{shown}"
    );
    assert!(
        shown.contains(
            "redis_url = \"redis://:***@cache:6379/3\"  # environment DEVICEVAULT_REDIS_URL"
        ),
        "{shown}"
    );
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn a_mistake_in_the_file_stops_serve_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("devicevault.toml");
    std::fs::write(
        &file,
        "[http]\naddr = \"127.0.0.1:0\"\nmax_conections = 10\n",
    )
    .unwrap();
    let o = devicevault(&["serve", "--config", file.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("unknown setting `http.max_conections`")
            && err.contains("did you mean `http.max_connections`"),
        "{err}"
    );
    std::fs::write(&file, "[collect]\nconnect_timeout = \"ten seconds\"\n").unwrap();
    let o = devicevault(&["serve", "--config", file.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("collect.connect_timeout = \"ten seconds\"")
            && err.contains(&file.display().to_string()),
        "{err}"
    );
    // The environment is checked the same way.
    let o = Command::new(BIN)
        .args(["serve", "--data-dir", dir.path().to_str().unwrap()])
        .env("DEVICEVAULT_MAX_CONFIG_BYTES", "16MB")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("DEVICEVAULT_MAX_CONFIG_BYTES"),
        "{}",
        stderr(&o)
    );
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The child's stderr lines, as they come.
fn lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let err = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in err.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn expect_line(rx: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("no line containing {needle:?}");
}

#[test]
fn a_collector_started_first_waits_for_the_key_then_for_rabbitmq() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let mut child = Command::new(BIN)
        .args(["collector", "--group", "dc1", "--data-dir"])
        .arg(dir.path())
        .arg("--broker-url")
        .arg(format!("amqp://guest:guest@127.0.0.1:{port}/%2f"))
        .env("RUST_LOG", "info")
        .env_remove("DEVICEVAULT_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    let key = dir.path().join("secret.key");
    let line = expect_line(&rx, "waiting for the sealing key");
    assert!(line.contains(&key.display().to_string()), "{line}");
    // The API's first start writes the key; the collector goes on to the
    // next thing it needs.
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let line = expect_line(&rx, "waiting for RabbitMQ");
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(
        !line.contains("guest:guest"),
        "the password is hidden: {line}"
    );
    // Still waiting, not exited.
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "the collector gave up");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn the_api_waits_for_postgresql_and_a_wrong_setting_is_not_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let mut child = Command::new(BIN)
        .args(["api", "--http-addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .arg("--database-url")
        .arg(format!("postgres://dv:pw@127.0.0.1:{port}/dv"))
        .env("RUST_LOG", "info")
        .env_remove("DEVICEVAULT_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    let line = expect_line(&rx, "waiting for PostgreSQL");
    assert!(
        line.contains(&format!("127.0.0.1:{port}")) && !line.contains(":pw@"),
        "{line}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // A broker URL that cannot parse is not something to wait for.
    let o = Command::new(BIN)
        .args([
            "storage-worker",
            "--backend",
            "fs",
            "--broker-url",
            "not a url",
        ])
        .env_remove("DEVICEVAULT_CONFIG")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("RabbitMQ"), "{}", stderr(&o));
}
