//! Where a device's files sit in a Git location: the layout (issue 21).
//!
//! A store names a *suggested* path, `<device_id>/<file>` (the seed's
//! `rel_path`); the layout decides where that path is placed:
//!
//! - [`StorageLayout::Flat`] keeps it as it is, so the repository's root
//!   tree has one entry per device and every commit writes it again:
//!   ~140 KB compressed at 10,000 devices, ~1.4 MB at 100,000, per commit;
//! - [`StorageLayout::Fanout`] puts it under the device's shard,
//!   `<shard>/<device_id>/<file>`, so a commit writes the trees on one path
//!   of a tree whose every level has at most 256 entries.
//!
//! [`StorageLayout::place`] is the one function that applies a layout; the
//! Git backend calls it for every store, the pipeline only to compare paths.
//!
//! The shard is [`shard_of`]: two levels of two hex digits, the device id's
//! lowest byte then its next byte (`1234 = 0x04d2` → `d2/04`). Why:
//!
//! - derived from the id alone, so a device never moves (its name can
//!   change, its id cannot), and a person can compute it;
//! - the low bytes of sequential ids (how both databases number devices)
//!   spread perfectly evenly, which a hash would only do on average; the
//!   low byte first, so consecutive devices land in different top-level
//!   directories;
//! - two levels rather than one: with one level of 256 the shard tree
//!   holds fleet/256 entries — ~390 at 100,000 devices (~12 KB per commit),
//!   ~3,900 at 1,000,000 (~115 KB per commit, the cost flat has at ~4,000
//!   devices). With two, every tree on a device's path has at most 256
//!   entries up to 16.7 million devices (the root 256, the first level 256,
//!   the second fleet/65,536), so a commit writes about 15 KB of trees
//!   whatever the fleet; below 65,536 devices the second level holds one
//!   device and costs one tiny tree per commit.
//!
//! The table in this module's tests pins the function: changing it would
//! move every device's file, so it never changes (a new scheme is a new
//! layout, with its own migration).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{RelPath, RelPathError};

/// The layout of a Git location's files (its config key `layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageLayout {
    /// `<device_id>/<file>`: one root entry per device. What a location
    /// whose config names no layout has (every location made before
    /// layouts existed), so nothing existing moves.
    #[default]
    Flat,
    /// `<shard>/<device_id>/<file>` ([`shard_of`]).
    Fanout,
}

/// A `layout` value that is not one of the layouts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("layout {0} is not \"flat\" or \"fanout\"")]
pub struct UnknownLayout(pub String);

impl StorageLayout {
    /// The key of a location's config that holds the layout.
    pub const CONFIG_KEY: &'static str = "layout";

    /// What a new Git location gets when it names none: a large fleet
    /// wants fanout, and a new location has no files to move. Written into
    /// the new location's config, so the default can change later without
    /// moving anyone's files.
    pub const DEFAULT_FOR_NEW: Self = Self::Fanout;

    pub const ALL: [Self; 2] = [Self::Flat, Self::Fanout];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flat => "flat",
            Self::Fanout => "fanout",
        }
    }

    /// The layout a location's JSON config names; flat when it names none.
    pub fn of_config(
        config: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, UnknownLayout> {
        match config.get(Self::CONFIG_KEY) {
            None => Ok(Self::Flat),
            Some(serde_json::Value::String(s)) => s.parse(),
            Some(other) => Err(UnknownLayout(other.to_string())),
        }
    }

    /// The directory of `device_id`'s files in this layout.
    pub fn device_dir(self, device_id: i64) -> String {
        match self {
            Self::Flat => device_id.to_string(),
            Self::Fanout => format!("{}/{device_id}", shard_of(device_id)),
        }
    }

    /// Where a suggested path is placed in this layout. A device's path in
    /// the flat form (`<device_id>/…`, the id in canonical decimal) goes
    /// under its shard in fanout; a path already placed, or one that is no
    /// device's, is left as it is. Idempotent: placing a placed path
    /// changes nothing.
    pub fn place(self, path: &RelPath) -> Result<RelPath, RelPathError> {
        match (self, device_path(path)) {
            (Self::Fanout, Some((id, false))) => {
                RelPath::parse(&format!("{}/{path}", shard_of(id)))
            }
            _ => Ok(path.clone()),
        }
    }
}

impl fmt::Display for StorageLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StorageLayout {
    type Err = UnknownLayout;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| UnknownLayout(format!("{s:?}")))
    }
}

/// The shard of a device: `<lowest byte>/<next byte>` of its id, two hex
/// digits each (see the module's documentation for why).
pub fn shard_of(device_id: i64) -> String {
    // The id's two's-complement bits: defined for every i64, though
    // databases hand out positive ids only.
    let bits = device_id as u64;
    format!("{:02x}/{:02x}", bits & 0xff, (bits >> 8) & 0xff)
}

/// The directories a device's files may be in, in either layout.
pub fn device_dirs(device_id: i64) -> [String; 2] {
    StorageLayout::ALL.map(|l| l.device_dir(device_id))
}

/// A canonical decimal device id (no sign, no leading zero).
pub fn parse_device_id(segment: &str) -> Option<i64> {
    let id: i64 = segment.parse().ok()?;
    (id >= 0 && id.to_string() == segment).then_some(id)
}

/// The device a path belongs to: `(id, true)` for a path placed in fanout
/// (`<shard_of(id)>/<id>/…`), `(id, false)` for the flat form (`<id>/…`),
/// `None` for anything else.
pub fn device_path(path: &RelPath) -> Option<(i64, bool)> {
    let segments: Vec<&str> = path.segments().collect();
    if segments.len() >= 4
        && let Some(id) = parse_device_id(segments[2])
        && shard_of(id) == format!("{}/{}", segments[0], segments[1])
    {
        return Some((id, true));
    }
    if segments.len() >= 2 {
        return parse_device_id(segments[0]).map(|id| (id, false));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Never edit a row: each is where a device's files are in every
    /// fanout repository already written.
    const SHARDS: &[(i64, &str)] = &[
        (0, "00/00"),
        (1, "01/00"),
        (2, "02/00"),
        (15, "0f/00"),
        (16, "10/00"),
        (255, "ff/00"),
        (256, "00/01"),
        (257, "01/01"),
        (1234, "d2/04"),
        (4095, "ff/0f"),
        (10_000, "10/27"),
        (65_535, "ff/ff"),
        (65_536, "00/00"),
        (99_999, "9f/86"),
        (100_000, "a0/86"),
        (1_000_000, "40/42"),
        (i64::MAX, "ff/ff"),
    ];

    #[test]
    fn shard_of_is_pinned_by_a_fixed_table() {
        for &(id, shard) in SHARDS {
            assert_eq!(shard_of(id), shard, "device {id}");
        }
    }

    #[test]
    fn every_tree_holds_at_most_256_entries_up_to_a_million_devices() {
        use std::collections::HashMap;
        let mut top: HashMap<String, usize> = HashMap::new();
        let mut second: HashMap<String, usize> = HashMap::new();
        for id in 1..=1_000_000 {
            let shard = shard_of(id);
            let (a, _) = shard.split_once('/').unwrap();
            *top.entry(a.to_owned()).or_default() += 1;
            *second.entry(shard).or_default() += 1;
        }
        assert_eq!(top.len(), 256);
        assert_eq!(second.len(), 65_536);
        // The biggest leaf directory: 16 devices at a million.
        assert!(
            second.values().all(|&n| n <= 16),
            "{:?}",
            second.values().max()
        );
    }

    #[test]
    fn fanout_places_a_device_path_under_its_shard_once() {
        let p = RelPath::parse("1234/core-1.cfg").unwrap();
        let placed = StorageLayout::Fanout.place(&p).unwrap();
        assert_eq!(placed.as_str(), "d2/04/1234/core-1.cfg");
        assert_eq!(StorageLayout::Fanout.place(&placed).unwrap(), placed);
        assert_eq!(StorageLayout::Flat.place(&p).unwrap(), p);
        assert_eq!(StorageLayout::Flat.place(&placed).unwrap(), placed);
        assert_eq!(device_path(&placed), Some((1234, true)));
        assert_eq!(device_path(&p), Some((1234, false)));
    }

    #[test]
    fn paths_that_are_no_devices_are_left_alone() {
        for s in ["notes.txt", "007/x.cfg", "-1/x.cfg", "abc/x.cfg", "12"] {
            let p = RelPath::parse(s).unwrap();
            assert_eq!(StorageLayout::Fanout.place(&p).unwrap(), p, "{s}");
        }
        // A flat path that merely looks like a shard is still a device's:
        // device 18 (0x12) is at 12/00/18, a file of device 12 at 12/….
        let p = RelPath::parse("12/00.cfg").unwrap();
        assert_eq!(
            StorageLayout::Fanout.place(&p).unwrap().as_str(),
            "0c/00/12/00.cfg"
        );
    }

    #[test]
    fn the_config_names_the_layout_and_none_means_flat() {
        let cfg = |v: serde_json::Value| v.as_object().unwrap().clone();
        let of = StorageLayout::of_config;
        assert_eq!(of(&cfg(serde_json::json!({}))), Ok(StorageLayout::Flat));
        assert_eq!(
            of(&cfg(serde_json::json!({"layout": "fanout"}))),
            Ok(StorageLayout::Fanout)
        );
        assert!(of(&cfg(serde_json::json!({"layout": "Fanout"}))).is_err());
        assert!(of(&cfg(serde_json::json!({"layout": 2}))).is_err());
        assert_eq!(
            serde_json::to_value(StorageLayout::Fanout).unwrap(),
            serde_json::json!("fanout")
        );
    }

    #[test]
    fn a_device_has_one_directory_per_layout() {
        assert_eq!(device_dirs(7), ["7".to_owned(), "07/00/7".to_owned()]);
    }
}
