//! BIG-IP's user configuration set (UCS) archive, for the `f5_tmos_ucs`
//! personality: an account with the advanced shell runs `tmsh save /sys
//! ucs <name>` on an exec channel, and the archive is then a file it can
//! read over SFTP or `scp -f`.
//!
//! Facts: `save /sys ucs <name>` writes `/var/local/ucs/<name>` (F5
//! K13132, "Backing up and restoring BIG-IP configuration files with a
//! UCS archive"; scripts that back BIG-IP up run `tmsh save /sys ucs
//! /var/local/ucs/<host>.ucs` over SSH and fetch the file with SCP), the
//! `.ucs` suffix added when the name lacks it; the archive is a
//! gzip-compressed tar of the system's configuration files, the running
//! configuration in `config/bigip.conf` (F5 Enterprise Manager manual,
//! "Configuration data storage": "a compressed user configuration set (UCS)
//! file"). tmsh prints `Saving active configuration...` and then
//! `<path> is saved.`.
//!
//! The archive here holds `config/bigip.conf`: the configuration's lines
//! that are configuration (a pool member's monitor state is the monitor's
//! verdict, not a setting, so the file on disk does not hold it), each
//! member dated by the configuration's revision, the gzip header undated —
//! the same configuration always makes the same bytes, and a change makes
//! other bytes.

use std::io::Write as _;

use crate::device::Shared;

/// Where `tmsh save /sys ucs <name>` writes a name without a directory.
pub(crate) const UCS_DIR: &str = "/var/local/ucs";

/// The file `command` saves, when it is `tmsh save /sys ucs <name>` (or
/// `save /sys ucs <name>` as tmsh itself reads it).
pub(crate) fn save_path(command: &str) -> Option<String> {
    let mut words = command.split_whitespace().peekable();
    if words.peek() == Some(&"tmsh") {
        words.next();
    }
    let want = ["save", "/sys", "ucs"];
    for w in want {
        if words.next()? != w {
            return None;
        }
    }
    let name = words.next()?;
    if words.next().is_some() || name.contains("..") {
        return None;
    }
    let mut path = if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("{UCS_DIR}/{name}")
    };
    if !path.ends_with(".ucs") {
        path.push_str(".ucs");
    }
    Some(path)
}

/// The UCS archive of `dev` as it is configured now.
pub(crate) fn archive(dev: &Shared) -> Vec<u8> {
    let changes = dev.lock().changes.clone();
    let conf = dev.render_stable(&changes);
    // A fixed instant moved by each change: the file's time is when the
    // configuration was last saved.
    let mtime = 1_733_500_800 + 60 * changes.len() as u64;
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(conf.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    tar.append_data(&mut h, "config/bigip.conf", conf.as_bytes())
        .expect("a tar in memory");
    let tar = tar.into_inner().expect("a tar in memory");
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).expect("gzip in memory");
    gz.finish().expect("gzip in memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_lands_in_var_local_ucs_with_its_suffix() {
        assert_eq!(
            save_path("tmsh save /sys ucs devicevault").as_deref(),
            Some("/var/local/ucs/devicevault.ucs")
        );
        assert_eq!(
            save_path("save /sys ucs b.ucs").as_deref(),
            Some("/var/local/ucs/b.ucs")
        );
        assert_eq!(
            save_path("tmsh save /sys ucs /var/tmp/x.ucs").as_deref(),
            Some("/var/tmp/x.ucs")
        );
        assert_eq!(save_path("tmsh save /sys config"), None);
        assert_eq!(save_path("tmsh save /sys ucs"), None);
        assert_eq!(save_path("tmsh save /sys ucs ../x"), None);
    }
}
