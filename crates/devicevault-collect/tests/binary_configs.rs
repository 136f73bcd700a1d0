//! Binary configurations (issue 19): a driver's `binary = true` keeps the
//! bytes it reads as they are, `archive = "tar"` stores several files as
//! one tar archive, and a file input's `prepare` commands run before the
//! files are read — BIG-IP's UCS archive (`f5_tmos_ucs`) end to end against
//! the simulator over real SSH.

use std::io::Read as _;

use devicevault_collect::{CollectError, DriverSet, collect};
use devicevault_core::{Retry, RetryClass};
use devicevault_sim::Faults;

mod common;
use common::{opts, sim, target, with_user_drivers};

const UCS: &str = "/var/local/ucs/devicevault.ucs";

/// The members of a tar archive: (path, bytes), in order.
fn tar_members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = tar::Archive::new(bytes);
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            (path, body)
        })
        .collect()
}

/// `config/bigip.conf` of a UCS archive (a gzip'd tar).
fn bigip_conf(ucs: &[u8]) -> String {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(ucs)
        .read_to_end(&mut tar)
        .unwrap();
    let members = tar_members(&tar);
    let (_, conf) = members
        .into_iter()
        .find(|(p, _)| p == "config/bigip.conf")
        .expect("a UCS holds config/bigip.conf");
    String::from_utf8(conf).unwrap()
}

#[tokio::test]
async fn a_ucs_archive_is_saved_then_read_over_sftp_byte_for_byte() {
    let s = sim("f5_tmos_ucs").await;
    let d = &s.devices()[0];
    let drivers = DriverSet::builtin();
    assert_eq!(d.saved_file(UCS), None, "nothing saved before the backup");
    let got = collect(&target(d, "f5_tmos_ucs"), &drivers, &opts())
        .await
        .unwrap();
    assert!(got.binary);
    assert_eq!(got.author, None);
    assert_eq!(got.change_key, None);
    // What `tmsh save /sys ucs` wrote, exactly: no filter, no newline added.
    assert_eq!(Some(&got.config), d.saved_file(UCS).as_ref());
    assert_eq!(&got.config[..2], b"\x1f\x8b", "a gzip stream");
    let conf = bigip_conf(&got.config);
    assert!(
        conf.contains(d.name()) && conf.contains("link-0 rev0"),
        "{conf}"
    );
    // The password hash is in the archive as BIG-IP saves it: a binary
    // configuration is never masked (readers without view_secrets do not
    // get it at all).
    assert!(conf.contains("encrypted-password $6$"), "{conf}");

    // The same configuration saves the same bytes; a change other bytes.
    let again = collect(&target(d, "f5_tmos_ucs"), &drivers, &opts())
        .await
        .unwrap();
    assert_eq!(again.config, got.config);
    d.change_config();
    let changed = collect(&target(d, "f5_tmos_ucs"), &drivers, &opts())
        .await
        .unwrap();
    assert_ne!(changed.config, got.config);
    assert!(bigip_conf(&changed.config).contains("link-0 rev1"));
}

#[tokio::test]
async fn several_files_are_stored_as_one_tar_archive_over_sftp_and_scp() {
    let s = sim("pfsense").await;
    let d = &s.devices()[0];
    let files = ["/cf/conf/config.xml", "/conf/config.xml"];
    for input in ["sftp", "scp"] {
        let name = format!("pf_tar_{input}");
        let text = format!(
            "name = \"{name}\"\ndescription = \"test\"\ninput = \"{input}\"\narchive = \"tar\"\n\
             files = [\"{}\", \"{}\"]\n[complete]\nreason = \"a tar\"\nmin_bytes = 1024\n",
            files[0], files[1]
        );
        let (_dir, drivers) = with_user_drivers(&[(&name, &text)]);
        let got = collect(&target(d, &name), &drivers, &opts())
            .await
            .unwrap_or_else(|e| panic!("{input}: {e}"));
        assert!(got.binary, "{input}");
        let members = tar_members(&got.config);
        let paths: Vec<&str> = members.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["cf/conf/config.xml", "conf/config.xml"], "{input}");
        for (path, body) in &members {
            let text = std::str::from_utf8(body).unwrap();
            // Each member is the file as the device serves it, unfiltered:
            // the revision block the pfSense driver drops is still there.
            assert!(
                text.starts_with("<?xml") && text.ends_with("</pfsense>\n"),
                "{input} {path}"
            );
            assert!(text.contains("<revision>"), "{input} {path}");
        }
        // Fixed owner, mode and time: the archive's bytes are the files'.
        let mut a = tar::Archive::new(got.config.as_slice());
        for e in a.entries().unwrap() {
            let h = e.unwrap().header().clone();
            assert_eq!(
                (h.mode().unwrap(), h.uid().unwrap(), h.mtime().unwrap()),
                (0o644, 0, 0)
            );
        }
    }
}

#[tokio::test]
async fn a_binary_file_read_by_a_text_driver_is_refused_and_a_text_file_by_a_binary_one_is_kept() {
    let s = sim("f5_tmos_ucs").await;
    let d = &s.devices()[0];
    // Save an archive first, then read it with a text driver: refused.
    collect(&target(d, "f5_tmos_ucs"), &DriverSet::builtin(), &opts())
        .await
        .unwrap();
    let text_driver = format!(
        "name = \"ucs_as_text\"\ndescription = \"test\"\ninput = \"sftp\"\nfiles = [\"{UCS}\"]\n\
         [complete]\ncheck = false\nreason = \"test\"\n"
    );
    let (_dir, drivers) = with_user_drivers(&[("ucs_as_text", &text_driver)]);
    let err = collect(&target(d, "ucs_as_text"), &drivers, &opts())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CollectError::FileRefused { path, .. } if path == UCS),
        "{err}"
    );
    assert!(err.to_string().contains("not UTF-8"), "{err}");

    // A text file read by a binary driver: its bytes, as they are.
    let s = sim("apc_nmc").await;
    let d = &s.devices()[0];
    let bin = "name = \"ini_bytes\"\ndescription = \"test\"\ninput = \"scp\"\nbinary = true\n\
               files = [\"/config.ini\"]\n[complete]\nreason = \"test\"\nmin_bytes = 10\n";
    let (_dir, drivers) = with_user_drivers(&[("ini_bytes", bin)]);
    let got = collect(&target(d, "ini_bytes"), &drivers, &opts())
        .await
        .unwrap();
    let plain = collect(&target(d, "apc_nmc"), &DriverSet::builtin(), &opts())
        .await
        .unwrap();
    assert!(got.binary && !plain.binary);
    let text = String::from_utf8(got.config).unwrap();
    let plain = String::from_utf8(plain.config).unwrap();
    assert!(text.contains(&format!("HostName={}", d.name())), "{text}");
    // No filter ran: the line the text driver drops is still there.
    assert!(
        text.contains("; Configuration file, generated on "),
        "{text}"
    );
    assert!(
        !plain.contains("; Configuration file, generated on "),
        "{plain}"
    );
}

#[tokio::test]
async fn a_prepare_command_that_fails_or_is_refused_fails_the_backup_permanently() {
    // The device runs it and it fails: its exit status and what it said.
    let s = sim("f5_tmos_ucs").await;
    let d = &s.devices()[0];
    let bad = format!(
        "name = \"ucs_bad\"\ndescription = \"test\"\ninput = \"sftp\"\nbinary = true\n\
         prepare = [\"tmsh save /sys nothing\"]\nfiles = [\"{UCS}\"]\n\
         [complete]\nreason = \"test\"\nmin_bytes = 10\n"
    );
    let (_dir, drivers) = with_user_drivers(&[("ucs_bad", &bad)]);
    let err = collect(&target(d, "ucs_bad"), &drivers, &opts())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CollectError::CommandRejected { command, reply, .. }
            if command == "tmsh save /sys nothing" && reply.starts_with("exit status 127")),
        "{err}"
    );
    assert_eq!(err.retry(), Retry::Permanent);
    assert_eq!(d.saved_file(UCS), None);

    // A platform that refuses exec channels (pfSense's serves files only).
    let s = sim("pfsense").await;
    let d = &s.devices()[0];
    let refused = "name = \"pf_prepare\"\ndescription = \"test\"\ninput = \"sftp\"\n\
                   prepare = [\"true\"]\nfiles = [\"/conf/config.xml\"]\n\
                   [complete]\ncheck = false\nreason = \"test\"\n";
    let (_dir, drivers) = with_user_drivers(&[("pf_prepare", refused)]);
    let err = collect(&target(d, "pf_prepare"), &drivers, &opts())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CollectError::FileInputRefused { reason, .. } if reason.contains("`true` (prepare)")),
        "{err}"
    );
    assert_eq!(err.retry(), Retry::Permanent);
}

#[tokio::test]
async fn a_ucs_cut_short_below_min_bytes_is_incomplete_and_names_no_content() {
    let s = sim("f5_tmos_ucs").await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        truncate_after_bytes: Some(40),
        ..Faults::default()
    });
    let err = collect(&target(d, "f5_tmos_ucs"), &DriverSet::builtin(), &opts())
        .await
        .unwrap_err();
    let CollectError::Incomplete {
        reason, last_lines, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert!(reason.contains("only 40 bytes"), "{reason}");
    assert_eq!(last_lines, "(40 bytes of binary data)");
    assert_eq!(err.retry(), Retry::Permanent);
}
