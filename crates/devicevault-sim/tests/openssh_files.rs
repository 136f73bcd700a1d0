//! OpenSSH's own `sftp` and `scp` clients (with `sshpass` for the
//! password) fetch the files the simulated pfSense and APC NMC serve: the
//! simulator follows the protocols as real servers speak them, not as our
//! collector happens to use them.

use std::path::Path;
use std::process::{Command, Output};

use devicevault_sim::{SimConfig, SimDevice, Simulator};

fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is required by this test: install it with `apt-get install -y sshpass openssh-client`"
    );
}

async fn sim(platform: &str) -> Simulator {
    Simulator::start(SimConfig {
        devices: 1,
        platforms: vec![platform.into()],
        password: "pa55word".into(),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

const SSH_OPTIONS: &[&str] = &[
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "PubkeyAuthentication=no",
];

/// Runs `tool` (`sftp` or `scp`) under sshpass with `args` after the
/// common options, off the runtime's threads.
async fn run(tool: &'static str, port: u16, args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let port_flag = if tool == "scp" || tool == "sftp" {
            "-P"
        } else {
            "-p"
        };
        Command::new("sshpass")
            .args(["-p", "pa55word", tool, port_flag, &port.to_string()])
            .args(SSH_OPTIONS)
            // `sftp -b` turns BatchMode on, which refuses passwords; the
            // first value of an option wins, so this one stays.
            .args(["-o", "BatchMode=no"])
            .args(&args)
            .output()
            .expect("client starts")
    })
    .await
    .unwrap()
}

/// The file's lines without the ones the device tags volatile: the stable
/// body a backup keeps.
fn assert_is_the_configuration(d: &SimDevice, text: &str) {
    let got: Vec<&str> = text.lines().collect();
    let stable = d.stable_config_lines();
    let kept: Vec<&str> = got
        .iter()
        .copied()
        .filter(|l| stable.iter().any(|s| s == l))
        .collect();
    assert_eq!(kept, stable, "the stable lines differ:\n{text}");
    assert!(got.len() > stable.len(), "no volatile line:\n{text}");
    assert!(text.contains(&d.secret_token()), "secrets are served too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssh_sftp_gets_pfsense_config_xml_at_both_paths_and_not_a_missing_one() {
    require("sftp");
    require("sshpass");
    let s = sim("pfsense").await;
    let d = s.devices()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("batch");
    let a = dir.path().join("a.xml");
    let b = dir.path().join("b.xml");
    std::fs::write(
        &batch,
        format!(
            "get /cf/conf/config.xml {}\nget /conf/config.xml {}\n",
            a.display(),
            b.display()
        ),
    )
    .unwrap();
    let out = run(
        "sftp",
        d.port(),
        vec![
            "-b".into(),
            batch.display().to_string(),
            "admin@127.0.0.1".into(),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sftp failed: {stderr}");
    for f in [&a, &b] {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            text.starts_with("<?xml version=\"1.0\"?>\n<pfsense>\n"),
            "{text}"
        );
        assert!(text.ends_with("</pfsense>\n"), "{text}");
        assert!(text.contains("\t<revision>\n\t\t<time>"), "{text}");
        assert_is_the_configuration(&d, &text);
    }
    std::fs::write(
        &batch,
        format!(
            "get /cf/conf/missing.xml {}\n",
            dir.path().join("c").display()
        ),
    )
    .unwrap();
    let out = run(
        "sftp",
        d.port(),
        vec![
            "-b".into(),
            batch.display().to_string(),
            "admin@127.0.0.1".into(),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("not found"), "{stderr}");
}

async fn scp_get(d: &SimDevice, legacy: bool, path: &str, to: &Path) -> Output {
    let mut args = Vec::new();
    if legacy {
        // The SCP protocol itself (`scp -f` on the device), not SFTP.
        args.push("-O".to_owned());
    }
    args.push(format!("admin@127.0.0.1:{path}"));
    args.push(to.display().to_string());
    run("scp", d.port(), args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssh_scp_fetches_apc_config_ini_over_both_protocols_and_reports_a_missing_file() {
    require("scp");
    require("sshpass");
    let s = sim("apc_nmc").await;
    let d = s.devices()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    for legacy in [true, false] {
        let to = dir.path().join(format!("config-{legacy}.ini"));
        let out = scp_get(&d, legacy, "/config.ini", &to).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "scp (legacy {legacy}) failed: {stderr}"
        );
        let text = std::fs::read_to_string(&to).unwrap();
        assert!(text.starts_with("; Schneider Electric\n"), "{text}");
        assert!(
            text.contains("; Configuration file, generated on "),
            "{text}"
        );
        assert_is_the_configuration(&d, &text);

        let out = scp_get(&d, legacy, "/missing.ini", &dir.path().join("m")).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "legacy {legacy}");
        assert!(
            stderr.contains("No such file") || stderr.contains("not found"),
            "legacy {legacy}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_read_on_its_cli_refuses_openssh_sftp_and_scp() {
    require("sftp");
    require("sshpass");
    let s = sim("cisco_ios").await;
    let d = s.devices()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let out = scp_get(&d, false, "/config.text", &dir.path().join("x")).await;
    assert!(!out.status.success());
    let out = scp_get(&d, true, "/config.text", &dir.path().join("y")).await;
    assert!(!out.status.success());
    assert!(!dir.path().join("x").exists() && !dir.path().join("y").exists());
    let batch = dir.path().join("batch");
    std::fs::write(&batch, "pwd\n").unwrap();
    let out = run(
        "sftp",
        d.port(),
        vec![
            "-b".into(),
            batch.display().to_string(),
            "admin@127.0.0.1".into(),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("subsystem request failed"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssh_saves_a_bigip_ucs_and_fetches_it_as_a_gzipped_tar_with_bigip_conf() {
    // What BIG-IP backup scripts do: `ssh ... tmsh save /sys ucs <path>`,
    // then `scp` the archive; GNU tar reads it as a gzip'd tar.
    require("ssh");
    require("scp");
    require("sshpass");
    require("tar");
    let s = sim("f5_tmos_ucs").await;
    let d = s.devices()[0].clone();
    let out = run(
        "ssh",
        d.port(),
        vec![
            "admin@127.0.0.1".into(),
            "tmsh save /sys ucs /var/local/ucs/nightly.ucs".into(),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("/var/local/ucs/nightly.ucs is saved."),
        "{stdout}"
    );
    let dir = tempfile::tempdir().unwrap();
    for legacy in [true, false] {
        let to = dir.path().join(format!("nightly-{legacy}.ucs"));
        let out = scp_get(&d, legacy, "/var/local/ucs/nightly.ucs", &to).await;
        assert!(
            out.status.success(),
            "scp (legacy {legacy}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read(&to).unwrap(),
            d.saved_file("/var/local/ucs/nightly.ucs").unwrap(),
            "legacy {legacy}"
        );
        let conf = Command::new("tar")
            .args(["-xzOf", &to.display().to_string(), "config/bigip.conf"])
            .output()
            .unwrap();
        assert!(
            conf.status.success(),
            "{}",
            String::from_utf8_lossy(&conf.stderr)
        );
        let text = String::from_utf8(conf.stdout).unwrap();
        assert!(text.contains(d.name()), "{text}");
        // The monitor's verdict of the moment is not configuration.
        assert!(!text.contains("            state "), "{text}");
    }
}
