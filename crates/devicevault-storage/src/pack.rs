//! One pack per group commit: the objects a batch of stores wrote in memory
//! (blobs, trees, commits) go to disk as one pack file and its index,
//! instead of one loose file each.
//!
//! A loose object costs a file creation and a rename; on ext4 the creation
//! is most of a store's CPU once a repository has seen many files come and
//! go (the inode allocator searches past recently deleted inodes, and every
//! repack deletes loose objects). A pack is two files per batch.
//!
//! The format is git's own (`Documentation/gitformat-pack.txt`): version 2
//! pack data — each object whole (no deltas; `git repack` finds them
//! later), zlib-compressed after a type-and-size header — and a version 2
//! index: fan-out table, sorted names, CRC-32s, 31-bit offsets with a table
//! of 64-bit ones for a pack past 2 GiB, the pack's and the index's
//! SHA-1s. Both are written to temporary names, synced when asked, and
//! renamed into `objects/pack/` pack first, so a reader that sees the index
//! finds its pack; the caller moves the branch only afterwards.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use gix::ObjectId;
use gix::objs::Kind;
use gix::odb::pack::data::entry::Header;

use crate::StorageError;

/// What a pack entry is compressed with: the level gix writes loose objects
/// with, so that a pack costs no more CPU than the objects it replaces.
const COMPRESSION: gix::zlib::Compression = gix::zlib::Compression::BEST_SPEED;

/// Writes `objects` (id, kind, content) as one pack and its index in
/// `pack_dir`, which must exist. Returns the pack's path; nothing is written
/// for no object. With `fsync`, the two files and the directory are synced
/// before this returns.
pub(crate) fn write_pack<'a>(
    pack_dir: &Path,
    objects: impl IntoIterator<Item = (&'a ObjectId, Kind, &'a [u8])>,
    fsync: bool,
) -> Result<Option<PathBuf>, StorageError> {
    let mut objects: Vec<_> = objects.into_iter().collect();
    if objects.is_empty() {
        return Ok(None);
    }
    objects.sort_by(|a, b| a.0.cmp(b.0));
    fs::create_dir_all(pack_dir)
        .map_err(StorageError::io(format!("create {}", pack_dir.display())))?;
    let (data, entries) = pack_data(&objects)?;
    let pack_id = ObjectId::from_bytes_or_panic(&data[data.len() - 20..]);
    let index = index_data(&entries, &pack_id)?;

    let name = format!("pack-{}", pack_id.to_hex());
    let pack_path = pack_dir.join(format!("{name}.pack"));
    let index_path = pack_dir.join(format!("{name}.idx"));
    let pack_tmp = write_temporary(pack_dir, "pack", &data, fsync)?;
    let index_tmp = write_temporary(pack_dir, "idx", &index, fsync).inspect_err(|_| {
        let _ = fs::remove_file(&pack_tmp);
    })?;
    let placed = fs::rename(&pack_tmp, &pack_path)
        .and_then(|()| fs::rename(&index_tmp, &index_path))
        .map_err(StorageError::io(format!("place {}", pack_path.display())));
    if placed.is_err() {
        let _ = fs::remove_file(&pack_tmp);
        let _ = fs::remove_file(&index_tmp);
    }
    placed?;
    if fsync {
        fs::File::open(pack_dir)
            .and_then(|d| d.sync_all())
            .map_err(StorageError::io(format!("sync {}", pack_dir.display())))?;
    }
    Ok(Some(pack_path))
}

/// One object's place in the pack: what the index records.
struct Entry {
    id: ObjectId,
    crc32: u32,
    offset: u64,
}

fn pack_data(objects: &[(&ObjectId, Kind, &[u8])]) -> Result<(Vec<u8>, Vec<Entry>), StorageError> {
    let count = u32::try_from(objects.len()).map_err(|_| StorageError::Git {
        context: "write a pack".into(),
        message: format!("{} objects are too many for one pack", objects.len()),
    })?;
    let mut out = Vec::with_capacity(objects.iter().map(|o| o.2.len() / 2 + 16).sum::<usize>());
    out.extend_from_slice(b"PACK");
    out.extend_from_slice(&2u32.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    let mut entries = Vec::with_capacity(objects.len());
    for (id, kind, content) in objects {
        let offset = out.len();
        let header = match kind {
            Kind::Blob => Header::Blob,
            Kind::Tree => Header::Tree,
            Kind::Commit => Header::Commit,
            Kind::Tag => Header::Tag,
        };
        header
            .write_to(content.len() as u64, &mut out)
            .map_err(StorageError::io("encode a pack entry header"))?;
        let mut deflate = gix::zlib::stream::deflate::Write::new(out, COMPRESSION);
        deflate
            .write_all(content)
            .and_then(|()| deflate.flush())
            .map_err(StorageError::io(format!("compress object {id}")))?;
        out = deflate.into_inner();
        entries.push(Entry {
            id: **id,
            crc32: crc32fast::hash(&out[offset..]),
            offset: offset as u64,
        });
    }
    let digest = sha1(&out)?;
    out.extend_from_slice(digest.as_bytes());
    Ok((out, entries))
}

/// The version 2 index of `entries`, which are sorted by id.
fn index_data(entries: &[Entry], pack_id: &ObjectId) -> Result<Vec<u8>, StorageError> {
    let mut out = Vec::with_capacity(8 + 256 * 4 + entries.len() * 28 + 40);
    out.extend_from_slice(b"\xfftOc");
    out.extend_from_slice(&2u32.to_be_bytes());
    let mut fan_out = [0u32; 256];
    for e in entries {
        fan_out[usize::from(e.id.as_bytes()[0])] += 1;
    }
    let mut total = 0u32;
    for n in fan_out {
        total += n;
        out.extend_from_slice(&total.to_be_bytes());
    }
    for e in entries {
        out.extend_from_slice(e.id.as_bytes());
    }
    for e in entries {
        out.extend_from_slice(&e.crc32.to_be_bytes());
    }
    let mut large = Vec::new();
    for e in entries {
        let small = match u32::try_from(e.offset) {
            Ok(o) if o < 0x8000_0000 => o,
            _ => {
                large.push(e.offset);
                0x8000_0000 | (large.len() as u32 - 1)
            }
        };
        out.extend_from_slice(&small.to_be_bytes());
    }
    for offset in large {
        out.extend_from_slice(&offset.to_be_bytes());
    }
    out.extend_from_slice(pack_id.as_bytes());
    let digest = sha1(&out)?;
    out.extend_from_slice(digest.as_bytes());
    Ok(out)
}

fn sha1(bytes: &[u8]) -> Result<ObjectId, StorageError> {
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(bytes);
    hasher.try_finalize().map_err(|e| StorageError::Git {
        context: "hash a pack".into(),
        message: e.to_string(),
    })
}

/// Writes `bytes` to a new `tmp_<kind>_…` file in `dir` (git's own prefix
/// for packs in the making, which `git gc` cleans up if we die), synced when
/// asked.
fn write_temporary(
    dir: &Path,
    kind: &str,
    bytes: &[u8],
    fsync: bool,
) -> Result<PathBuf, StorageError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let path = dir.join(format!(
        "tmp_{kind}_devicevault_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| -> io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        f.write_all(bytes)?;
        if fsync {
            f.sync_data()?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&path);
        return Err(StorageError::io(format!("write {}", path.display()))(e));
    }
    Ok(path)
}
