//! Keeping a repository small and its packs few while it is written.
//!
//! A group commit writes its objects as one pack, each object whole (see
//! `pack.rs`). Left like that, the repository is several times larger than
//! git would make it, and its packs multiply. Maintenance does two things,
//! both through the `git` CLI, under a lock of its own, beside stores and
//! reads:
//!
//! - **Roll**: once [`ROLL_PACKS`] packs are not yet rolled (a group
//!   commit's, or one a person's git wrote), they become one pack in which
//!   every object was tried as a delta against its neighbours
//!   (`pack-objects --stdin-packs --no-reuse-delta`). Each object is
//!   searched for a delta once, when it is rolled: the cost per stored
//!   backup does not depend on the size of the repository.
//! - **Merge**: the rolled packs are merged geometrically (as `git repack
//!   --geometric=2` chooses them), keeping their deltas. Git does not try
//!   two objects of one pack against each other again when it reuses that
//!   pack (it takes that a pack's writer already did), so a merge searches
//!   only what the roll could not see together: a device's new version
//!   against its older one in another pack, an object no delta was found
//!   for.
//!
//! Why not `git repack --geometric=2` alone, as before: it trusts the group
//! commits' packs to have been searched, so objects of one batch were never
//! tried against each other, and every merge searched the whole objects
//! again. At 10,000 devices that made a repository 2.7x the size of a full
//! repack, for as much CPU as the stores themselves (issue 21).
//!
//! Which packs are rolled is recorded in [`ROLLED_FILE`]: a pack it does not
//! name is rolled (once) whoever wrote it. Packs with a `.keep` file are
//! left alone, as git leaves them. Loose objects (written by someone else,
//! or by single stores) are packed first with `git repack -d`, without a
//! delta search (the roll searches them).
//!
//! Everything runs at the worker's own priority, on one core: maintenance
//! keeps the group commits writing packs, so it is part of what a store
//! costs. At nice 19 a rollup got no CPU while a 100,000-device pass kept
//! both cores busy, the packs reached `PACK_WRITE_LIMIT` and every store
//! after wrote loose objects, 2.6 GB of them; the packing of loose objects,
//! left at nice 19, later held the maintenance lock for minutes with 3 s of
//! CPU, no roll could run, and the same happened again (issue 21).

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{GitBackend, open_existing};
use crate::lock::FileLock;
use crate::{Maintenance, StorageError};

/// Held while the repository is maintained, so that two workers of one
/// repository do not pack the same objects at once.
const MAINTENANCE_LOCK_FILE: &str = "devicevault-maintenance.lock";
/// The packs maintenance rolled or merged, a name (`pack-<hex>`) a line.
const ROLLED_FILE: &str = "devicevault-rolled-packs";
/// Loose objects are counted in this many of the 256 fan-out directories
/// and scaled up (git samples one; sixteen keep small repositories exact
/// enough for a low threshold).
const SAMPLED_FANOUT_DIRS: u64 = 16;
/// Packs not yet rolled that make a roll. A roll searches deltas among the
/// objects it rolls: at 10,000 devices, rolls of about 100 commits made a
/// repository within 1.1x of a full repack (`docs/BENCHMARKS.md`).
const ROLL_PACKS: usize = 8;
/// How many neighbours an object is tried against (git's `--window`; its
/// default is 10). At 10,000 simulated devices: window 2 → 27 MB, 4 → 27
/// MB, 10 → 26 MB, the search's CPU growing with the window.
const DELTA_WINDOW: u32 = 4;
/// The longest delta chain (git's default is 50): every read of an old
/// version resolves its chain.
const DELTA_DEPTH: u32 = 10;
/// Rolled packs are merged while they do not grow by this factor each
/// (git's `--geometric=2`): a repository keeps O(log n) packs.
const GEOMETRIC_FACTOR: u64 = 2;
impl GitBackend {
    /// Packs loose objects once about `pack_loose_objects` of them have
    /// accumulated, rolls the packs not yet rolled once there are
    /// [`ROLL_PACKS`], and merges the rolled packs geometrically. Runs
    /// beside stores and reads: a new pack is in place before the packs it
    /// replaces are removed, and a reader that misses an object looks for
    /// new packs. Every object of a rolled or merged pack is kept, reachable
    /// or not: a batch whose pack is written but whose branch has not moved
    /// yet loses nothing.
    pub(super) fn repack(&self) -> Result<Maintenance, StorageError> {
        let threshold = self.config.pack_loose_objects;
        if threshold == 0 {
            return Ok(Maintenance::NotNeeded);
        }
        let git_dir = match open_existing(&self.config.repo_path) {
            Ok(repo) => repo.common_dir().to_owned(),
            // Nothing stored yet.
            Err(StorageError::NotFound { .. }) => return Ok(Maintenance::NotNeeded),
            Err(e) => return Err(e),
        };
        let objects = git_dir.join("objects");
        let loose_before = estimate_loose_objects(&objects)?;
        let before = Packs::list(&git_dir)?;
        let pack_loose = loose_before >= threshold;
        if !pack_loose && !before.needs_work() {
            return Ok(Maintenance::NotNeeded);
        }
        let _lock = match FileLock::acquire(&git_dir.join(MAINTENANCE_LOCK_FILE), Duration::ZERO) {
            Ok(lock) => lock,
            Err(StorageError::LockTimeout { .. }) => return Ok(Maintenance::Busy),
            Err(e) => return Err(e),
        };
        let started = Instant::now();
        if pack_loose {
            // No delta search here: the new pack is rolled with the others.
            let mut git = git(&git_dir);
            git.args(["repack", "-d", "-q", "--window=0"]);
            run(git, None, "git repack")?;
        }
        // Listed again under the lock: another worker may have maintained
        // the repository since.
        let mut packs = Packs::list(&git_dir)?;
        let packs_before = packs.count();
        if packs.unrolled.len() >= ROLL_PACKS {
            let inputs = std::mem::take(&mut packs.unrolled);
            let rolled = pack_objects(&git_dir, &inputs, true)?;
            packs.replace(&inputs, rolled)?;
        }
        let merged = packs.to_merge();
        if merged.len() >= 2 {
            let inputs: Vec<String> = merged.iter().map(|p| p.name.clone()).collect();
            let pack = pack_objects(&git_dir, &inputs, false)?;
            packs.replace(&inputs, pack)?;
        }
        Ok(Maintenance::Packed {
            loose_before,
            loose_after: estimate_loose_objects(&objects)?,
            packs_before,
            packs_after: packs.count(),
            took: started.elapsed(),
        })
    }
}

/// A pack in `objects/pack`, by name (`pack-<hex>`) and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pack {
    name: String,
    size: u64,
}

/// The packs of a repository, as maintenance sees them.
struct Packs {
    git_dir: PathBuf,
    /// Packs maintenance wrote, by size.
    rolled: Vec<Pack>,
    /// Names of the packs no roll has searched yet.
    unrolled: Vec<String>,
    /// Packs with a `.keep` file, left alone.
    kept: usize,
}

impl Packs {
    /// The complete packs (an index beside the pack: a group commit places
    /// its index last) of `git_dir`, sorted by what [`ROLLED_FILE`] says.
    fn list(git_dir: &Path) -> Result<Self, StorageError> {
        let dir = git_dir.join("objects").join("pack");
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Self {
                    git_dir: git_dir.to_owned(),
                    rolled: Vec::new(),
                    unrolled: Vec::new(),
                    kept: 0,
                });
            }
            Err(e) => return Err(StorageError::io(format!("list {}", dir.display()))(e)),
        };
        // One listing, run after every batch: a file's presence is read
        // from it, and only a rolled pack (a few) is asked for its size.
        let files: BTreeSet<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        let recorded = read_rolled(git_dir)?;
        let (mut rolled, mut unrolled, mut kept) = (Vec::new(), Vec::new(), 0);
        for name in files.iter().filter_map(|f| f.strip_suffix(".idx")) {
            if !name.starts_with("pack-") || !files.contains(&format!("{name}.pack")) {
                continue;
            }
            if files.contains(&format!("{name}.keep")) {
                kept += 1;
            } else if recorded.contains(name) {
                let Ok(meta) = fs::metadata(dir.join(format!("{name}.pack"))) else {
                    continue;
                };
                rolled.push(Pack {
                    name: name.to_owned(),
                    size: meta.len(),
                });
            } else {
                unrolled.push(name.to_owned());
            }
        }
        rolled.sort_by(|a, b| a.size.cmp(&b.size).then_with(|| a.name.cmp(&b.name)));
        Ok(Self {
            git_dir: git_dir.to_owned(),
            rolled,
            unrolled,
            kept,
        })
    }

    fn count(&self) -> u64 {
        (self.rolled.len() + self.unrolled.len() + self.kept) as u64
    }

    fn needs_work(&self) -> bool {
        self.unrolled.len() >= ROLL_PACKS || self.to_merge().len() >= 2
    }

    /// The smallest rolled packs, merged until the rest grow geometrically
    /// (git's own choice for `repack --geometric`): the packs past the last
    /// place where one is not [`GEOMETRIC_FACTOR`] times the one before
    /// stay, unless the merged pack would be too large for the next.
    fn to_merge(&self) -> &[Pack] {
        geometric_prefix(&self.rolled)
    }

    /// Records `pack` as rolled in place of `inputs`, then removes the
    /// inputs (the new pack is on disk: `git pack-objects` syncs it).
    fn replace(&mut self, inputs: &[String], pack: Pack) -> Result<(), StorageError> {
        self.rolled
            .retain(|p| !inputs.contains(&p.name) && p.name != pack.name);
        self.rolled.push(pack.clone());
        self.rolled
            .sort_by(|a, b| a.size.cmp(&b.size).then_with(|| a.name.cmp(&b.name)));
        write_rolled(&self.git_dir, &self.rolled)?;
        let dir = self.git_dir.join("objects").join("pack");
        for name in inputs.iter().filter(|n| **n != pack.name) {
            remove_pack(&dir, name)?;
        }
        Ok(())
    }
}

/// The prefix of `packs` (sorted by size) that a geometric repack merges:
/// empty or a single pack when they already grow by [`GEOMETRIC_FACTOR`].
fn geometric_prefix(packs: &[Pack]) -> &[Pack] {
    let n = packs.len();
    if n < 2 {
        return &[];
    }
    let mut split = 0;
    for i in (1..n).rev() {
        if packs[i].size < GEOMETRIC_FACTOR.saturating_mul(packs[i - 1].size) {
            // `i` breaks the progression: it and everything before merge.
            split = i + 1;
            break;
        }
    }
    let mut total: u64 = packs[..split].iter().map(|p| p.size).sum();
    while split < n && packs[split].size < GEOMETRIC_FACTOR.saturating_mul(total) {
        total += packs[split].size;
        split += 1;
    }
    &packs[..split]
}

/// Writes the objects of the packs `inputs` as one new pack with
/// `git pack-objects --stdin-packs`: every object, reachable or not. With
/// `search`, every object is tried as a delta against its neighbours
/// (existing deltas recomputed); without, deltas are kept and only objects
/// of different packs are tried against each other.
fn pack_objects(git_dir: &Path, inputs: &[String], search: bool) -> Result<Pack, StorageError> {
    let pack_dir = git_dir.join("objects").join("pack");
    let mut git = git(git_dir);
    git.args(["pack-objects", "--stdin-packs", "-q"])
        .arg(format!("--window={DELTA_WINDOW}"))
        .arg(format!("--depth={DELTA_DEPTH}"));
    if search {
        git.arg("--no-reuse-delta");
    }
    git.arg(pack_dir.join("pack"));
    let stdin: String = inputs.iter().map(|n| format!("{n}.pack\n")).collect();
    let out = run(git, Some(stdin), "git pack-objects")?;
    let hash = out.trim();
    if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StorageError::Git {
            context: "git pack-objects".into(),
            message: format!("printed {hash:?}, not the new pack's name"),
        });
    }
    let name = format!("pack-{hash}");
    let size = fs::metadata(pack_dir.join(format!("{name}.pack")))
        .map_err(StorageError::io(format!("read the size of {name}")))?
        .len();
    Ok(Pack { name, size })
}

/// `git` on `git_dir`, as isolated as the repository is opened: no system
/// or user configuration, no GIT_* variables of whoever runs the worker;
/// one thread, stores and reads go on beside it.
fn git(git_dir: &Path) -> Command {
    let mut git = Command::new("git");
    git.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .arg("--git-dir")
        .arg(git_dir)
        .arg("-c")
        .arg(format!("safe.directory={}", git_dir.display()))
        .args(["-c", "pack.threads=1"]);
    git
}

/// Runs `git` to its end, `stdin` written to it; returns what it printed.
fn run(mut git: Command, stdin: Option<String>, what: &str) -> Result<String, StorageError> {
    let spawn_error = |e: io::Error| StorageError::Git {
        context: format!("run {what} (is git installed?)"),
        message: e.to_string(),
    };
    let mut child = git
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A few lines: they fit the pipe, git reads them before writing.
        pipe.write_all(input.as_bytes()).map_err(spawn_error)?;
    }
    let out = child.wait_with_output().map_err(spawn_error)?;
    if !out.status.success() {
        return Err(StorageError::Git {
            context: what.to_owned(),
            message: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn read_rolled(git_dir: &Path) -> Result<BTreeSet<String>, StorageError> {
    let path = git_dir.join(ROLLED_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text.lines().map(str::to_owned).collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(StorageError::io(format!("read {}", path.display()))(e)),
    }
}

/// Replaces [`ROLLED_FILE`] (a temporary file renamed over it). Not synced:
/// a record lost in a crash only makes the next roll search those packs
/// again.
fn write_rolled(git_dir: &Path, rolled: &[Pack]) -> Result<(), StorageError> {
    let path = git_dir.join(ROLLED_FILE);
    let tmp = git_dir.join(format!("{ROLLED_FILE}.tmp"));
    let text: String = rolled.iter().map(|p| format!("{}\n", p.name)).collect();
    fs::write(&tmp, text)
        .and_then(|()| fs::rename(&tmp, &path))
        .map_err(StorageError::io(format!("write {}", path.display())))
}

/// Removes a pack and the files git keeps beside it: the index first, so a
/// reader listing the directory never finds an index without its pack.
fn remove_pack(dir: &Path, name: &str) -> Result<(), StorageError> {
    for ext in ["idx", "pack", "rev", "bitmap", "mtimes"] {
        let path = dir.join(format!("{name}.{ext}"));
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StorageError::io(format!("remove {}", path.display()))(e)),
        }
    }
    Ok(())
}

/// Loose objects in `objects`, estimated from the first
/// [`SAMPLED_FANOUT_DIRS`] fan-out directories (object ids are uniformly
/// distributed).
fn estimate_loose_objects(objects: &Path) -> Result<u64, StorageError> {
    Ok(loose_objects_in(objects, 0..SAMPLED_FANOUT_DIRS)? * (256 / SAMPLED_FANOUT_DIRS))
}

/// Loose objects in the fan-out directories `dirs` (`00` to `ff`).
pub(super) fn loose_objects_in(
    objects: &Path,
    dirs: std::ops::Range<u64>,
) -> Result<u64, StorageError> {
    let mut sampled = 0u64;
    for dir in dirs {
        let path = objects.join(format!("{dir:02x}"));
        let entries = match fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StorageError::io(format!("list {}", path.display()))(e)),
        };
        sampled += entries
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.len() >= 38 && name.bytes().all(|b| b.is_ascii_hexdigit())
            })
            .count() as u64;
    }
    Ok(sampled)
}

#[cfg(test)]
mod tests {
    use super::{Pack, geometric_prefix};

    fn packs(sizes: &[u64]) -> Vec<Pack> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| Pack {
                name: format!("pack-{i}"),
                size,
            })
            .collect()
    }

    fn merged(sizes: &[u64]) -> usize {
        geometric_prefix(&packs(sizes)).len()
    }

    /// Packs that double each time stay; a run of small ones merges, and
    /// takes the next pack along when the merged pack would be too large
    /// for it.
    #[test]
    fn the_smallest_packs_merge_until_the_rest_grow_geometrically() {
        assert_eq!(merged(&[]), 0);
        assert_eq!(merged(&[10]), 0);
        assert_eq!(merged(&[10, 20, 40, 80]), 0, "already a progression");
        assert_eq!(merged(&[10, 10, 40, 80]), 2, "the two small ones");
        // 5 + 5 + 5 = 15 would not be half of 40: 40 stays.
        assert_eq!(merged(&[5, 5, 5, 40]), 3);
        // 10 + 10 = 20: 30 is less than twice that and joins; 100 is
        // twice the 50 merged and stays.
        assert_eq!(merged(&[10, 10, 30, 100]), 3);
        assert_eq!(merged(&[1, 1, 1, 1, 1, 1, 1, 1]), 8);
    }
}
