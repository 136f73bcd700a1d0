//! The file inputs (`input = "sftp"` / `"scp"`) against simulated devices
//! that serve their configuration as files (pfSense, OPNsense, APC NMC),
//! over real SSH. Their happy path with filters and masking is also in
//! `against_simulator.rs`'s every-driver test.

use std::time::Duration;

use devicevault_collect::{
    CollectError, Credential, DeviceTarget, DriverSet, JumpTarget, Transport, collect,
};
use devicevault_core::{Retry, RetryClass};
use devicevault_sim::{Faults, JumpHost, SimConfig, Simulator};

mod common;
use common::{opts, sim, target, with_user_drivers};

/// A file driver reading `files` with `input`, with pfSense's completeness.
fn file_driver(name: &str, input: &str, files: &[&str], extra: &str) -> String {
    let list = files
        .iter()
        .map(|f| format!("{f:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "name = \"{name}\"\ndescription = \"test\"\ninput = \"{input}\"\nfiles = [{list}]\n{extra}\n\
         [complete]\ncheck = false\nreason = \"a test reads any file\"\n"
    )
}

#[tokio::test]
async fn a_pfsense_backup_over_sftp_drops_the_revision_block_and_names_the_author() {
    let s = sim("pfsense").await;
    let d = &s.devices()[0];
    let drivers = DriverSet::builtin();
    let got = collect(&target(d, "pfsense"), &drivers, &opts())
        .await
        .unwrap();
    let text = String::from_utf8(got.config.clone()).unwrap();
    assert!(
        text.starts_with("<?xml version=\"1.0\"?>\n<pfsense>\n"),
        "{text}"
    );
    assert!(text.ends_with("</pfsense>\n"), "{text}");
    assert!(
        !text.contains("<revision>") && !text.contains("<time>"),
        "{text}"
    );
    assert!(!text.contains("last_rule_upd_time"), "{text}");
    assert_eq!(got.author.as_deref(), Some("admin"));
    // The same again: the volatile block changed, the backup did not.
    let again = collect(&target(d, "pfsense"), &drivers, &opts())
        .await
        .unwrap();
    assert_eq!(got.config, again.config);
    // An engineer's edit shows, with who made it.
    let change = d.drift();
    let changed = collect(&target(d, "pfsense"), &drivers, &opts())
        .await
        .unwrap();
    assert_ne!(got.config, changed.config);
    assert_eq!(changed.author.as_deref(), Some(change.author.as_str()));
}

#[tokio::test]
async fn the_same_file_over_scp_and_over_sftp_gives_the_same_backup() {
    let s = sim("opnsense").await;
    let d = &s.devices()[0];
    let scp = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/drivers/opnsense.toml"
    ))
    .unwrap()
    .replace("name = \"opnsense\"", "name = \"opnsense_scp\"")
    .replace("input = \"sftp\"", "input = \"scp\"");
    let (_dir, drivers) = with_user_drivers(&[("opnsense_scp", &scp)]);
    let over_sftp = collect(&target(d, "opnsense"), &drivers, &opts())
        .await
        .unwrap();
    let over_scp = collect(&target(d, "opnsense_scp"), &drivers, &opts())
        .await
        .unwrap();
    assert_eq!(over_sftp.config, over_scp.config);
    assert_eq!(over_scp.author.as_deref(), Some("admin"));
    // And APC's config.ini, SCP by default, also over SFTP.
    let s = sim("apc_nmc").await;
    let d = &s.devices()[0];
    let sftp =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/drivers/apc_nmc.toml"))
            .unwrap()
            .replace("name = \"apc_nmc\"", "name = \"apc_sftp\"")
            .replace("input = \"scp\"", "input = \"sftp\"");
    let (_dir, drivers) = with_user_drivers(&[("apc_sftp", &sftp)]);
    let a = collect(&target(d, "apc_nmc"), &drivers, &opts())
        .await
        .unwrap();
    let b = collect(&target(d, "apc_sftp"), &drivers, &opts())
        .await
        .unwrap();
    assert_eq!(a.config, b.config);
    let text = String::from_utf8(a.config).unwrap();
    assert!(text.starts_with("; Schneider Electric\n"), "{text}");
    assert!(!text.contains("generated on"), "{text}");
}

#[tokio::test]
async fn several_files_are_joined_each_after_its_header_line() {
    let s = sim("pfsense").await;
    let d = &s.devices()[0];
    let files = ["/cf/conf/config.xml", "/conf/config.xml"];
    let (_dir, drivers) = with_user_drivers(&[
        ("two_sftp", &file_driver("two_sftp", "sftp", &files, "")),
        (
            "two_scp",
            &file_driver("two_scp", "scp", &files, "file_header = \"=== {path} ===\""),
        ),
    ]);
    let text = String::from_utf8(
        collect(&target(d, "two_sftp"), &drivers, &opts())
            .await
            .unwrap()
            .config,
    )
    .unwrap();
    let headers: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("### file: "))
        .collect();
    assert_eq!(
        headers,
        [
            "### file: /cf/conf/config.xml",
            "### file: /conf/config.xml"
        ]
    );
    assert!(
        text.starts_with("### file: /cf/conf/config.xml\n<?xml "),
        "{text}"
    );
    let second = text.find("### file: /conf/config.xml\n<?xml ").unwrap();
    assert!(text[..second].ends_with("</pfsense>\n"), "{text}");
    assert_eq!(text.matches("<pfsense>").count(), 2);
    let text = String::from_utf8(
        collect(&target(d, "two_scp"), &drivers, &opts())
            .await
            .unwrap()
            .config,
    )
    .unwrap();
    assert!(
        text.starts_with("=== /cf/conf/config.xml ===\n<?xml "),
        "{text}"
    );
    assert!(
        text.contains("</pfsense>\n=== /conf/config.xml ===\n<?xml "),
        "{text}"
    );
}

#[tokio::test]
async fn a_missing_file_is_a_permanent_error_naming_its_path_over_sftp_and_scp() {
    let s = sim("pfsense").await;
    let d = &s.devices()[0];
    let (_dir, drivers) = with_user_drivers(&[
        (
            "gone_sftp",
            &file_driver("gone_sftp", "sftp", &["/conf/nope.xml"], ""),
        ),
        (
            "gone_scp",
            &file_driver("gone_scp", "scp", &["/conf/nope.xml"], ""),
        ),
    ]);
    for driver in ["gone_sftp", "gone_scp"] {
        let err = collect(&target(d, driver), &drivers, &opts())
            .await
            .unwrap_err();
        assert!(
            matches!(err, CollectError::FileMissing { .. }),
            "{driver}: {err}"
        );
        assert_eq!(err.retry(), Retry::Permanent);
        assert!(err.to_string().contains("/conf/nope.xml"), "{err}");
    }
}

#[tokio::test]
async fn a_device_without_sftp_or_scp_refuses_them_permanently() {
    // A Cisco IOS device serves neither the sftp subsystem nor exec.
    let s = sim("cisco_ios").await;
    let d = &s.devices()[0];
    let (_dir, drivers) = with_user_drivers(&[
        (
            "ios_sftp",
            &file_driver("ios_sftp", "sftp", &["/nvram:startup-config"], ""),
        ),
        (
            "ios_scp",
            &file_driver("ios_scp", "scp", &["/nvram:startup-config"], ""),
        ),
    ]);
    for (driver, words) in [("ios_sftp", "`sftp` subsystem"), ("ios_scp", "`scp -f`")] {
        let err = collect(&target(d, driver), &drivers, &opts())
            .await
            .unwrap_err();
        assert!(
            matches!(err, CollectError::FileInputRefused { .. }),
            "{driver}: {err}"
        );
        assert!(!err.is_transient());
        assert!(err.to_string().contains(words), "{err}");
    }
}

#[tokio::test]
async fn a_file_beyond_max_config_bytes_fails_permanently_over_sftp_and_scp() {
    for platform in ["pfsense", "apc_nmc"] {
        let s = sim(platform).await;
        let d = &s.devices()[0];
        for driver in [platform, "other"] {
            let (_dir, drivers) = with_user_drivers(&[(
                "other",
                &file_driver(
                    "other",
                    if platform == "pfsense" { "scp" } else { "sftp" },
                    d.served_files(),
                    "",
                ),
            )]);
            let mut t = target(d, driver);
            t.max_config_bytes = Some(1000);
            let err = collect(&t, &drivers, &opts()).await.unwrap_err();
            assert!(
                matches!(err, CollectError::OutputTooLarge { limit: 1000, .. }),
                "{platform}/{driver}: {err}"
            );
            assert_eq!(err.retry(), Retry::Permanent);
        }
    }
}

#[tokio::test]
async fn a_file_that_never_ends_is_cut_off_at_the_limit_while_it_is_read() {
    let s = sim("opnsense").await;
    let d = &s.devices()[0];
    // SFTP: the size says 0 and the reads never end; SCP: the header
    // announces a terabyte. Both stop at the limit, long before the timeout.
    d.set_faults(Faults {
        endless_output: true,
        ..Faults::default()
    });
    let scp = file_driver("endless_scp", "scp", &["/conf/config.xml"], "");
    let (_dir, drivers) = with_user_drivers(&[("endless_scp", &scp)]);
    for driver in ["opnsense", "endless_scp"] {
        let mut t = target(d, driver);
        t.max_config_bytes = Some(256 * 1024);
        let started = std::time::Instant::now();
        let err = collect(&t, &drivers, &opts()).await.unwrap_err();
        assert!(
            matches!(err, CollectError::OutputTooLarge { .. }),
            "{driver}: {err}"
        );
        assert!(started.elapsed() < Duration::from_secs(10), "{driver}");
    }
}

#[tokio::test]
async fn a_transfer_cut_off_midway_is_a_transient_connection_loss_over_sftp_and_scp() {
    let s = sim("pfsense").await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        disconnect_after_bytes: Some(2000),
        ..Faults::default()
    });
    let scp = file_driver("cut_scp", "scp", &["/cf/conf/config.xml"], "");
    let (_dir, drivers) = with_user_drivers(&[("cut_scp", &scp)]);
    for driver in ["pfsense", "cut_scp"] {
        let err = collect(&target(d, driver), &drivers, &opts())
            .await
            .unwrap_err();
        assert!(
            matches!(err, CollectError::ConnectionLost { .. }),
            "{driver}: {err}"
        );
        assert!(err.is_transient(), "{driver}");
        assert!(err.to_string().contains("/cf/conf/config.xml"), "{err}");
    }
}

#[tokio::test]
async fn a_wrong_password_fails_authentication_before_any_file_is_read() {
    let s = sim("apc_nmc").await;
    let d = &s.devices()[0];
    let mut t = target(d, "apc_nmc");
    t.credential = Credential::Password("wrong".into());
    let err = collect(&t, &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::AuthFailed { .. }), "{err}");
    assert_eq!(err.retry(), Retry::Permanent);
}

#[tokio::test]
async fn a_file_input_over_telnet_is_refused_as_unsupported() {
    let s = sim("pfsense").await;
    let d = &s.devices()[0];
    let mut t = target(d, "pfsense");
    t.transport = Transport::Telnet;
    let err = collect(&t, &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CollectError::Unsupported { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_read_through_a_jump_host() {
    let fleet = Simulator::start_hidden(SimConfig {
        devices: 1,
        platforms: vec!["apc_nmc".into()],
        password: "pa55word".into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let jump = JumpHost::start("127.0.0.1:0".parse().unwrap(), "jump", "jump-pw", &fleet)
        .await
        .unwrap();
    let d = &fleet.devices()[0];
    let mut t = DeviceTarget::password(
        d.addr().ip().to_string(),
        22,
        "admin",
        "pa55word",
        "apc_nmc",
    );
    t.jump = Some(JumpTarget {
        host: "127.0.0.1".into(),
        port: jump.addr().port(),
        username: "jump".into(),
        credential: Credential::Password("jump-pw".into()),
    });
    let got = collect(&t, &DriverSet::builtin(), &opts()).await.unwrap();
    let text = String::from_utf8(got.config).unwrap();
    assert!(text.contains("[NetworkSNMP]"), "{text}");
}
