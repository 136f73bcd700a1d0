//! `devicevault audit verify` from the shell: what the command line changes
//! is in the audit log, the chain verifies, and a row altered or deleted
//! behind DeviceVault's back is named and makes the command exit 1.

use std::process::{Command, Output};

use devicevault_testkit::db::{create_pg_database, drop_pg_database, exec};

const BIN: &str = env!("CARGO_BIN_EXE_devicevault");

fn run(data: &std::path::Path, url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("DEVICEVAULT_DATA_DIR", data)
        .env("DEVICEVAULT_DATABASE_URL", url)
        .env("DV_TEST_PASSWORD", "a long enough password 1")
        .env("USER", "ops-shell")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_names_an_altered_or_deleted_row_and_exits_1() {
    let (name, url) = create_pg_database("dv_audit_cli").await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let o = run(
        data,
        &url,
        &[
            "user",
            "create",
            "--username",
            "alice",
            "--password-env",
            "DV_TEST_PASSWORD",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(data, &url, &["token", "create", "--username", "alice"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(
        data,
        &url,
        &[
            "user",
            "password",
            "--username",
            "alice",
            "--password-env",
            "DV_TEST_PASSWORD",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let o = run(data, &url, &["audit", "verify"]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("3 rows, chain intact"),
        "{}",
        stdout(&o)
    );

    // The rows say who, from the shell, and never the password.
    let db = devicevault_db::Db::connect(&url).await.unwrap();
    let rows = db
        .audit_list(
            &devicevault_db::AuditFilter::default(),
            devicevault_db::Page {
                limit: 10,
                offset: 0,
            },
        )
        .await
        .unwrap()
        .rows;
    let actions: Vec<&str> = rows.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(actions, ["users.password", "tokens.create", "users.create"]);
    assert!(
        rows.iter()
            .all(|r| r.entry.actor == "cli:ops-shell" && r.entry.via == "cli")
    );
    assert!(
        rows.iter()
            .all(|r| !r.entry.fields.contains("a long enough password"))
    );
    db.close().await;

    exec(
        &url,
        "UPDATE audit_log SET fields = '{}' WHERE id = 2".into(),
    )
    .await;
    let o = run(data, &url, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("row 2: row 2 was altered"), "{out}");
    assert!(out.contains("BROKEN"), "{out}");

    exec(&url, "DELETE FROM audit_log WHERE id = 3".into()).await;
    let out = stdout(&run(data, &url, &["audit", "verify"]));
    assert!(out.contains("row 3:") && out.contains("missing"), "{out}");
    drop_pg_database(&name).await;
}
