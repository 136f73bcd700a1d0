//! `devicevault import` and `devicevault export` from the shell: an
//! Oxidized router.db from standard input (dry run, apply, idempotent), an
//! export that imports back unchanged, a file over the limit, and NetBox
//! from a fixture server answering NetBox's paginated JSON.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use devicevault_core::StorageBackendKind;
use devicevault_db::{Db, DeviceFilter, Page, Scope};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const BIN: &str = env!("CARGO_BIN_EXE_devicevault");

fn run(data: &std::path::Path, url: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("DEVICEVAULT_DATA_DIR", data)
        .env("DEVICEVAULT_DATABASE_URL", url)
        .env("DEVICEVAULT_NETBOX_TOKEN", "0123456789abcdef")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The command may refuse before reading it all (the size limit).
        let _ = input.write_all(&bytes);
    });
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    o
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

async fn setup() -> (tempfile::TempDir, std::path::PathBuf, String, Db) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = format!("sqlite:{}", dir.path().join("dv.db").display());
    let db = Db::connect(&url).await.unwrap();
    let config = json!({"base_path": dir.path().join("fs")});
    db.create_location("main", StorageBackendKind::Fs, config.as_object().unwrap())
        .await
        .unwrap();
    (dir, data, url, db)
}

const ROUTER_DB: &str = "# router.db\n\ncore1:ios\ncore2:junos:backup:pw\n  # edge\nedge1:eos\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_from_stdin_is_a_dry_run_until_applied_and_then_idempotent() {
    let (_dir, data, url, db) = setup().await;
    let import = |extra: &[&str]| {
        let mut args = vec![
            "import",
            "--format",
            "oxidized",
            "--default",
            "backup_location=main",
            "--json",
        ];
        args.extend_from_slice(extra);
        args.push("-");
        run(&data, &url, &args, ROUTER_DB.as_bytes())
    };
    let dry = import(&[]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let r = json_of(&dry);
    assert_eq!(r["counts"]["create"], 3, "{r}");
    assert_eq!(r["applied"], false);
    assert_eq!(r["lines"][0]["line"], 3);
    let all = Page {
        limit: 100,
        offset: 0,
    };
    let none = db
        .list_devices(&DeviceFilter::default(), &Scope::Admin, all)
        .await
        .unwrap();
    assert_eq!(none.total, 0);

    let applied = json_of(&import(&["--apply"]));
    assert_eq!(applied["applied"], true);
    assert_eq!(applied["new_credentials"], json!(["import-backup"]));
    assert_eq!(
        db.list_devices(&DeviceFilter::default(), &Scope::Admin, all)
            .await
            .unwrap()
            .total,
        3
    );
    assert!(
        data.join("secret.key").exists(),
        "the key sealed the new credential"
    );
    let again = json_of(&import(&["--apply"]));
    assert_eq!(again["counts"]["unchanged"], 3, "{again}");

    // Plain output and the exit status of a line with an error.
    let bad = run(
        &data,
        &url,
        &["import", "--format", "oxidized", "-"],
        b"x1:ciscoish\n",
    );
    assert_eq!(bad.status.code(), Some(1));
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(out.contains("line 1: error x1: unknown model"), "{out}");
    assert!(out.contains("dry run"), "{out}");

    // Export, then import the export: every line unchanged.
    let export = run(&data, &url, &["export", "--format", "csv"], b"");
    assert!(export.status.success());
    let csv = String::from_utf8(export.stdout).unwrap();
    assert!(csv.starts_with("name,address,port,driver,credential,"));
    assert!(csv.contains("core2,core2,22,juniper_junos,import-backup,main,"));
    assert!(!csv.contains("pw"), "no secret in the export");
    let back = json_of(&run(
        &data,
        &url,
        &["import", "--format", "csv", "--json", "-"],
        csv.as_bytes(),
    ));
    assert_eq!(back["counts"]["unchanged"], 3, "{back}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_over_the_limit_is_refused_without_changing_anything() {
    let (_dir, data, url, _db) = setup().await;
    let big = vec![b'x'; 21 * 1024 * 1024];
    let o = run(
        &data,
        &url,
        &["import", "--format", "oxidized", "--apply", "-"],
        &big,
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("larger than the import limit"), "{err}");
}

/// NetBox's device list in its real shape, two pages, served over HTTP.
async fn netbox_fixture() -> (std::net::SocketAddr, tokio::task::JoinHandle<Vec<String>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let device = |id: u64, name: &str, slug: Option<&str>, ip: Option<&str>| {
        json!({
            "id": id, "url": format!("http://{addr}/api/dcim/devices/{id}/"),
            "display": name, "name": name,
            "device_type": {"id": 1, "model": "ISR4331", "slug": "isr4331"},
            "role": {"id": 1, "name": "Router", "slug": "router"},
            "site": {"id": 1, "name": "AMS1", "slug": "ams1"},
            "status": {"value": "active", "label": "Active"},
            "platform": slug.map(|s| json!({"id": 3, "name": s, "slug": s})),
            "primary_ip": ip.map(|a| json!({"id": 7, "family": {"value": 4, "label": "IPv4"}, "address": a})),
            "primary_ip4": null, "primary_ip6": null,
            "tags": [], "custom_fields": {}
        })
    };
    let page1 = json!({
        "count": 3,
        "next": format!("http://netbox.internal/api/dcim/devices/?limit=2&offset=2&status=active"),
        "previous": null,
        "results": [
            device(1, "nb-core1", Some("cisco-ios"), Some("192.0.2.1/24")),
            device(2, "nb-fw1", Some("fortinet-fortios"), Some("192.0.2.2/32")),
        ]
    });
    let page2 = json!({
        "count": 3,
        "next": null,
        "previous": format!("http://{addr}/api/dcim/devices/?limit=2&status=active"),
        "results": [device(3, "nb-odd", Some("acme-os"), Some("2001:db8::3/64"))]
    });
    let handle = tokio::spawn(async move {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let mut n = 0;
            while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                n += s.read(&mut buf[n..]).await.unwrap();
            }
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let body = if head.contains("offset=2") {
                page2.to_string()
            } else {
                page1.to_string()
            };
            seen.push(head);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(resp.as_bytes()).await.unwrap();
            s.shutdown().await.ok();
        }
        seen
    });
    (addr, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netbox_pages_are_followed_and_an_unknown_platform_is_a_line_error() {
    let (_dir, data, url, db) = setup().await;
    let (addr, server) = netbox_fixture().await;
    let base = format!("http://{addr}");
    let data2 = data.clone();
    let url2 = url.clone();
    let o = tokio::task::spawn_blocking(move || {
        run(
            &data2,
            &url2,
            &[
                "import",
                "--format",
                "netbox",
                "--netbox-url",
                &base,
                "--netbox-filter",
                "status=active",
                "--default",
                "backup_location=main",
                "--apply",
                "--json",
            ],
            b"",
        )
    })
    .await
    .unwrap();
    let r = json_of(&o);
    assert_eq!(o.status.code(), Some(1), "one line has an error: {r}");
    assert_eq!(r["counts"]["create"], 2, "{r}");
    assert_eq!(r["lines"][2]["line"], 3);
    assert_eq!(r["lines"][2]["action"], "error");
    assert!(
        r["lines"][2]["reason"]
            .as_str()
            .unwrap()
            .contains("unknown model \"acme-os\"")
    );
    let requests = server.await.unwrap();
    assert!(requests[0].starts_with("GET /api/dcim/devices/?limit=1000&status=active HTTP/1.1"));
    assert!(
        requests[1].starts_with("GET /api/dcim/devices/?limit=2&offset=2&status=active"),
        "next followed on the configured origin: {}",
        requests[1]
    );
    assert!(requests[0].contains("Token 0123456789abcdef"));
    let devices = db
        .list_devices(
            &DeviceFilter::default(),
            &Scope::Admin,
            Page {
                limit: 10,
                offset: 0,
            },
        )
        .await
        .unwrap()
        .rows;
    let core = devices
        .iter()
        .find(|d| d.fields.name == "nb-core1")
        .unwrap();
    assert_eq!(core.fields.address, "192.0.2.1", "the prefix is dropped");
    assert_eq!(core.fields.driver, "cisco_ios");
}
