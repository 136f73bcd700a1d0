//! Redis Streams implementation of [`ResultLog`], for distributed mode.
//!
//! Design decisions:
//!
//! - **Two kinds of connections.** Short commands (`XADD`, `XACK`,
//!   `XAUTOCLAIM`, …) share one multiplexed connection, a redis-rs
//!   [`ConnectionManager`] that reconnects by itself after an I/O error: the
//!   call that met the error fails with [`BusError::Unavailable`], a later one
//!   goes through. A blocking `XREADGROUP` cannot use it: Redis serves one
//!   connection's commands in order, so a `BLOCK` would stall every other
//!   command behind it. Each blocking read therefore takes a connection of
//!   its own from a small pool, and a connection that failed is dropped, so
//!   the reader reconnects on its next call. A read cancelled while it waits
//!   drops its connection too; anything Redis handed it meanwhile stays
//!   pending until reclaimed.
//! - **Response timeouts above the block time.** redis-rs 1.x times out
//!   every response (500 ms by default), which would kill any longer
//!   `BLOCK`. A reader's connection gets `block` plus the configured response
//!   timeout for each read.
//! - **Groups start at `0`** (`XGROUP CREATE … 0 MKSTREAM`), so entries
//!   appended before the first consumer started are processed. A group that
//!   vanished (a Redis restarted without persistence, a deleted stream) is
//!   created again on the next read.
//! - **Bounded history, never at the cost of an entry.** `XADD` does not
//!   trim (`MAXLEN` would drop the oldest entries whether or not a group
//!   still needs them). Every `max_len / 16` appends (at most 1,000) a
//!   stream's length is checked in the background, and when it is over
//!   `max_len` it is trimmed with `XTRIM … MINID` below the oldest entry a
//!   group still needs: the oldest one it holds pending or, with nothing
//!   pending, the first one after its last delivered ([`RedisLog::trim`]).
//!   An unacknowledged or undelivered entry is never trimmed, so a stream
//!   can stay over `max_len` while its consumers are behind (logged); a
//!   stream no group reads is never trimmed. Only the dead-letter streams,
//!   which no group reads, are capped by `XADD … MAXLEN ~`, as before.
//! - **Entries that cannot be decoded** (a field that is not UTF-8, an odd
//!   number of items) are never handed to a consumer, where they would fail
//!   forever, nor dropped: they are moved to `<stream>:dead` byte for byte
//!   with the reason, like [`ResultLog::dead_letter`] does.
//!
//! [`LocalLog`]: crate::LocalLog

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use devicevault_core::bus::{
    BoxFuture, BusError, GroupBacklog, ResultLog, StreamEntry, StreamStats,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, Cmd, ErrorKind, RedisError, ServerErrorKind, Value};

/// How many entries a stream keeps, about, unless configured otherwise.
pub const DEFAULT_MAX_LEN: usize = 100_000;

/// Idle reader connections kept for reuse; more concurrent readers than
/// this open and close connections as they go.
const MAX_IDLE_READERS: usize = 32;

/// `XAUTOCLAIM` round trips of one [`ResultLog::reclaim`] call; each scans at
/// most ten times `count` pending entries.
const MAX_RECLAIM_ROUNDS: usize = 8;

/// Settings of a [`RedisLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisLogOptions {
    /// About how many entries a stream keeps: past it, the entries every
    /// group has acknowledged are trimmed (see [`RedisLog::trim`]); the
    /// `MAXLEN ~` of the dead-letter streams.
    pub max_len: usize,
    /// How long a command may wait for its reply (a blocking read: on top
    /// of its block time) before the server counts as unavailable.
    pub response_timeout: Duration,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
}

impl Default for RedisLogOptions {
    fn default() -> Self {
        Self {
            max_len: DEFAULT_MAX_LEN,
            response_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// Streams with consumer groups in Redis (5.0 or later; 7.0 or later for
/// entries deleted while pending to be forgotten by reclaim). Cheap to clone:
/// clones share their connections.
#[derive(Clone)]
pub struct RedisLog {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    shared: ConnectionManager,
    /// Idle connections for blocking reads.
    readers: Mutex<Vec<MultiplexedConnection>>,
    /// `(stream, group)` pairs known to exist, to skip `XGROUP CREATE`.
    groups: Mutex<HashSet<(String, String)>>,
    /// Appends per stream since its length was last checked, and whether a
    /// trim of it is running.
    trims: Mutex<HashMap<String, (u64, bool)>>,
    options: RedisLogOptions,
    /// The URL with its password replaced, for `Debug` and errors.
    url: String,
}

impl fmt::Debug for RedisLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLog")
            .field("url", &self.inner.url)
            .field("max_len", &self.inner.options.max_len)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RedisLog {
    /// Connects to `url` (`redis://[:password@]host[:port][/db]`) with the
    /// default options. Fails with [`BusError::Unavailable`] when the server
    /// cannot be reached, [`BusError::Malformed`] when the URL is invalid.
    pub async fn connect(url: &str) -> Result<Self, BusError> {
        Self::connect_with(url, RedisLogOptions::default()).await
    }

    /// Connects to `url` with `options`.
    pub async fn connect_with(url: &str, options: RedisLogOptions) -> Result<Self, BusError> {
        let redacted = redact_url(url);
        let client = Client::open(url)
            .map_err(|e| BusError::Misconfigured(format!("invalid Redis URL {redacted}: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(options.response_timeout))
            .set_connection_timeout(Some(options.connect_timeout))
            // Fail fast while the server is away: the caller's loop is the
            // one that waits and tries again.
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let shared = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| {
                BusError::Unavailable(format!("cannot connect to Redis at {redacted}: {e}"))
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                shared,
                readers: Mutex::default(),
                groups: Mutex::default(),
                trims: Mutex::default(),
                options: RedisLogOptions {
                    max_len: options.max_len.max(1),
                    ..options
                },
                url: redacted,
            }),
        })
    }

    /// The settings in force.
    pub fn options(&self) -> &RedisLogOptions {
        &self.inner.options
    }

    async fn query(&self, cmd: &Cmd) -> Result<Value, RedisError> {
        let mut conn = self.inner.shared.clone();
        cmd.query_async(&mut conn).await
    }

    /// Creates `group` on `stream` unless this log already knows it exists.
    async fn ensure_group(&self, stream: &str, group: &str) -> Result<(), BusError> {
        let key = (stream.to_owned(), group.to_owned());
        if lock(&self.inner.groups).contains(&key) {
            return Ok(());
        }
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE")
            .arg(stream)
            .arg(group)
            .arg("0")
            .arg("MKSTREAM");
        match self.query(&cmd).await {
            Ok(_) => {}
            Err(e) if e.code() == Some("BUSYGROUP") => {}
            Err(e) => return Err(bus_error("XGROUP CREATE", stream, &e)),
        }
        lock(&self.inner.groups).insert(key);
        Ok(())
    }

    fn forget_group(&self, stream: &str, group: &str) {
        lock(&self.inner.groups).remove(&(stream.to_owned(), group.to_owned()));
    }

    async fn open_reader(&self) -> Result<MultiplexedConnection, RedisError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.inner.options.connect_timeout))
            .set_response_timeout(Some(self.inner.options.response_timeout));
        self.inner
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    /// Runs a blocking command on a connection of its own.
    async fn query_blocking(&self, cmd: &Cmd, block: Duration) -> Result<Value, RedisError> {
        let timeout = block.saturating_add(self.inner.options.response_timeout);
        let pooled = lock(&self.inner.readers).pop();
        let reused = pooled.is_some();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => self.open_reader().await?,
        };
        conn.set_response_timeout(timeout);
        let mut result = cmd.query_async(&mut conn).await;
        if reused && matches!(&result, Err(e) if e.is_connection_dropped()) {
            // The idle connection died (a server restart, an idle timeout)
            // before this read; a fresh one can do it.
            conn = self.open_reader().await?;
            conn.set_response_timeout(timeout);
            result = cmd.query_async(&mut conn).await;
        }
        match &result {
            Err(e) if e.is_io_error() || e.is_unrecoverable_error() => {}
            _ => {
                let mut idle = lock(&self.inner.readers);
                if idle.len() < MAX_IDLE_READERS {
                    idle.push(conn);
                }
            }
        }
        result
    }

    async fn read_group(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Value, RedisError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count);
        if block.is_zero() {
            // `BLOCK 0` would wait forever: leave it out for a plain look.
            cmd.arg("STREAMS").arg(stream).arg(">");
            return self.query(&cmd).await;
        }
        // Round up, so that a sub-millisecond block is not `BLOCK 0`.
        let ms = block.as_nanos().div_ceil(1_000_000);
        cmd.arg("BLOCK")
            .arg(u64::try_from(ms).unwrap_or(u64::MAX))
            .arg("STREAMS")
            .arg(stream)
            .arg(">");
        self.query_blocking(&cmd, block).await
    }

    /// Turns raw entries into stream entries with `deliveries`; moves the
    /// undecodable ones to the dead-letter stream.
    async fn settle_raw(
        &self,
        stream: &str,
        group: &str,
        raw: Vec<RawEntry>,
        deliveries: impl Fn(&str) -> Option<u64>,
    ) -> Vec<StreamEntry> {
        let mut out = Vec::with_capacity(raw.len());
        for entry in raw {
            match entry.decode() {
                Ok((id, fields)) => {
                    if let Some(deliveries) = deliveries(&id) {
                        out.push(StreamEntry {
                            id,
                            fields,
                            deliveries,
                        });
                    }
                }
                Err(reason) => {
                    // Should the move fail, the entry stays pending and a
                    // later reclaim tries again; the decodable ones still go
                    // to the caller.
                    match self.quarantine(stream, group, &entry, &reason).await {
                        Ok(()) => tracing::warn!(
                            stream,
                            group,
                            entry_id = entry.id,
                            reason,
                            "undecodable stream entry moved to the dead-letter stream"
                        ),
                        Err(e) => tracing::warn!(
                            stream,
                            group,
                            entry_id = entry.id,
                            error = %e,
                            "cannot move an undecodable stream entry to the dead-letter stream"
                        ),
                    }
                }
            }
        }
        out
    }

    /// Moves an entry no consumer could decode to `<stream>:dead`, raw, and
    /// acks it.
    async fn quarantine(
        &self,
        stream: &str,
        group: &str,
        entry: &RawEntry,
        reason: &str,
    ) -> Result<(), BusError> {
        let dead = dead_stream(stream);
        let mut xadd = self.xadd_dead(&dead);
        for (k, v) in entry.items.chunks_exact(2).map(|p| (&p[0], &p[1])) {
            xadd.arg(k.as_slice()).arg(v.as_slice());
        }
        xadd.arg("dead_reason")
            .arg(reason)
            .arg("dead_entry_id")
            .arg(&entry.id)
            .arg("dead_group")
            .arg(group);
        self.move_to_dead(stream, group, &entry.id, xadd).await
    }

    /// `XADD <dead> …` and `XACK <stream> <group> <id>`, atomically, so an
    /// entry is never both dead-lettered and still pending.
    async fn move_to_dead(
        &self,
        stream: &str,
        group: &str,
        id: &str,
        xadd: Cmd,
    ) -> Result<(), BusError> {
        let mut xack = redis::cmd("XACK");
        xack.arg(stream).arg(group).arg(id);
        let mut pipe = redis::pipe();
        pipe.atomic().add_command(xadd).add_command(xack);
        let mut conn = self.inner.shared.clone();
        pipe.query_async::<Value>(&mut conn)
            .await
            .map(drop)
            .map_err(|e| bus_error("dead-letter", stream, &e))
    }

    /// `XADD <dead> MAXLEN ~ max_len *`: a dead-letter stream, which no
    /// group reads, keeps about `max_len` entries.
    fn xadd_dead(&self, dead: &str) -> Cmd {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(dead)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.inner.options.max_len)
            .arg("*");
        cmd
    }

    /// Whether `stream`'s length is due for a check (every `max_len / 16`
    /// appends, between 1 and 1,000) and no trim of it is running; marks
    /// one running if so.
    fn trim_due(&self, stream: &str) -> bool {
        let every = (self.inner.options.max_len as u64 / 16).clamp(1, 1_000);
        let mut trims = lock(&self.inner.trims);
        let (appends, running) = trims.entry(stream.to_owned()).or_default();
        *appends += 1;
        if *running || *appends < every {
            return false;
        }
        *appends = 0;
        *running = true;
        true
    }

    /// Trims `stream` down towards `max_len` entries through the entries
    /// every group of it has acknowledged, never further: below the oldest
    /// entry a group holds pending, or — nothing pending — the first one
    /// after the last it was handed. A stream no group reads is not
    /// trimmed (nobody has read anything). Safe beside readers and
    /// writers: an entry delivered or appended while this runs is newer
    /// than the bound it computed.
    pub async fn trim(&self, stream: &str) -> Result<Trimmed, BusError> {
        let max_len = self.inner.options.max_len as u64;
        let length = self.xlen(stream).await?;
        if length <= max_len {
            return Ok(Trimmed { length, removed: 0 });
        }
        let Some(floor) = self.oldest_needed(stream).await? else {
            return Ok(Trimmed { length, removed: 0 });
        };
        let mut cmd = redis::cmd("XTRIM");
        cmd.arg(stream).arg("MINID").arg(floor.to_string());
        let reply = self
            .query(&cmd)
            .await
            .map_err(|e| bus_error("XTRIM", stream, &e))?;
        let removed = integer(&reply)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| BusError::Malformed(format!("XTRIM of {stream} replied {reply:?}")))?;
        Ok(Trimmed {
            length: length.saturating_sub(removed),
            removed,
        })
    }

    async fn xlen(&self, stream: &str) -> Result<u64, BusError> {
        let mut cmd = redis::cmd("XLEN");
        cmd.arg(stream);
        let reply = self
            .query(&cmd)
            .await
            .map_err(|e| bus_error("XLEN", stream, &e))?;
        integer(&reply)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| BusError::Malformed(format!("XLEN of {stream} replied {reply:?}")))
    }

    /// The oldest entry of `stream` some group still needs (`None`: no
    /// group).
    async fn oldest_needed(&self, stream: &str) -> Result<Option<EntryId>, BusError> {
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("GROUPS").arg(stream);
        let reply = self
            .query(&cmd)
            .await
            .map_err(|e| bus_error("XINFO GROUPS", stream, &e))?;
        let mut floor: Option<EntryId> = None;
        for group in items(reply).unwrap_or_default() {
            let (mut name, mut pending, mut delivered) = (None, 0, None);
            for pair in items(group).unwrap_or_default().chunks(2) {
                let [k, v] = pair else { continue };
                match text(k).as_deref() {
                    Some("name") => name = text(v),
                    Some("pending") => pending = integer(v).unwrap_or(0),
                    Some("last-delivered-id") => delivered = text(v),
                    _ => {}
                }
            }
            let (Some(name), Some(delivered)) = (name, delivered) else {
                return Err(BusError::Malformed(format!(
                    "XINFO GROUPS of {stream}: a group without a name or last-delivered-id"
                )));
            };
            let delivered = EntryId::parse(&delivered).ok_or_else(|| {
                BusError::Malformed(format!("XINFO GROUPS of {stream}: id {delivered:?}"))
            })?;
            // Read after the group's state: a pending entry acked meanwhile
            // leaves no minimum, and the bound after the last delivered
            // entry above is then the safe one.
            let oldest_pending = if pending > 0 {
                self.oldest_pending(stream, &name).await?
            } else {
                None
            };
            let needed = oldest_pending.unwrap_or(delivered.next());
            floor = Some(floor.map_or(needed, |f| f.min(needed)));
        }
        Ok(floor)
    }

    /// The smallest id `group` holds pending (`XPENDING` summary).
    async fn oldest_pending(&self, stream: &str, group: &str) -> Result<Option<EntryId>, BusError> {
        let mut cmd = redis::cmd("XPENDING");
        cmd.arg(stream).arg(group);
        let reply = self
            .query(&cmd)
            .await
            .map_err(|e| bus_error("XPENDING", stream, &e))?;
        // [count, smallest id, greatest id, consumers]; nils when none.
        Ok(items(reply)
            .unwrap_or_default()
            .get(1)
            .and_then(text)
            .and_then(|id| EntryId::parse(&id)))
    }

    /// Delivery counts of `ids` in `group`'s pending list (absent: no longer
    /// pending).
    async fn delivery_counts(
        &self,
        stream: &str,
        group: &str,
        ids: &[&str],
    ) -> Result<HashMap<String, u64>, BusError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("XPENDING")
                .arg(stream)
                .arg(group)
                .arg(*id)
                .arg(*id)
                .arg(1);
        }
        let mut conn = self.inner.shared.clone();
        let replies: Vec<Value> = pipe
            .query_async(&mut conn)
            .await
            .map_err(|e| bus_error("XPENDING", stream, &e))?;
        let mut counts = HashMap::new();
        for reply in replies {
            // Each reply: [[id, consumer, idle ms, deliveries]] or [].
            for row in items(reply).unwrap_or_default() {
                let row = items(row).unwrap_or_default();
                if let (Some(id), Some(n)) = (
                    row.first().and_then(text),
                    row.get(3)
                        .and_then(integer)
                        .and_then(|n| u64::try_from(n).ok()),
                ) {
                    counts.insert(id, n);
                }
            }
        }
        Ok(counts)
    }
}

impl ResultLog for RedisLog {
    async fn append(
        &self,
        stream: &str,
        fields: Vec<(&'static str, String)>,
    ) -> Result<String, BusError> {
        if fields.is_empty() {
            return Err(BusError::Malformed(format!(
                "a record for {stream} needs at least one field"
            )));
        }
        let mut cmd = redis::cmd("XADD");
        cmd.arg(stream).arg("*");
        for (k, v) in &fields {
            cmd.arg(*k).arg(v);
        }
        let reply = self
            .query(&cmd)
            .await
            .map_err(|e| bus_error("XADD", stream, &e))?;
        let id = text(&reply).ok_or_else(|| {
            BusError::Malformed(format!("XADD to {stream} replied {reply:?}, not an id"))
        })?;
        if self.trim_due(stream) {
            let (log, stream) = (self.clone(), stream.to_owned());
            tokio::spawn(async move {
                match log.trim(&stream).await {
                    Ok(t) if t.length > log.inner.options.max_len as u64 => tracing::warn!(
                        stream,
                        length = t.length,
                        removed = t.removed,
                        max_len = log.inner.options.max_len,
                        "the stream is longer than max_len: its consumers have not acknowledged the rest, which is kept"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(stream, error = %e, "trimming the stream failed; the next check tries again")
                    }
                }
                if let Some((_, running)) = lock(&log.inner.trims).get_mut(&stream) {
                    *running = false;
                }
            });
        }
        Ok(id)
    }

    async fn read(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<StreamEntry>, BusError> {
        self.ensure_group(stream, group).await?;
        if count == 0 {
            return Ok(Vec::new());
        }
        let reply = match self.read_group(stream, group, consumer, count, block).await {
            Err(e) if e.code() == Some("NOGROUP") => {
                // The group is gone (Redis restarted empty, the stream was
                // deleted): make it again, from the start of the stream.
                self.forget_group(stream, group);
                self.ensure_group(stream, group).await?;
                self.read_group(stream, group, consumer, count, block).await
            }
            other => other,
        };
        let reply = match reply {
            Ok(reply) => reply,
            Err(e) if e.code() == Some("UNBLOCKED") => {
                // The stream was deleted while this read waited on it.
                self.forget_group(stream, group);
                return Ok(Vec::new());
            }
            Err(e) => return Err(bus_error("XREADGROUP", stream, &e)),
        };
        let raw = parse_read_reply(reply)
            .map_err(|e| BusError::Malformed(format!("XREADGROUP on {stream}: {e}")))?;
        Ok(self.settle_raw(stream, group, raw, |_| Some(1)).await)
    }

    async fn ack(&self, stream: &str, group: &str, id: &str) -> Result<(), BusError> {
        let mut cmd = redis::cmd("XACK");
        cmd.arg(stream).arg(group).arg(id);
        match self.query(&cmd).await {
            Ok(_) => Ok(()),
            // No group, nothing pending: acked already, as far as anyone knows.
            Err(e) if e.code() == Some("NOGROUP") => Ok(()),
            Err(e) => Err(bus_error("XACK", stream, &e)),
        }
    }

    async fn reclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<StreamEntry>, BusError> {
        let min_idle_ms = u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX);
        let mut claimed = Vec::new();
        let mut cursor = "0-0".to_owned();
        for _ in 0..MAX_RECLAIM_ROUNDS {
            if claimed.len() >= count {
                break;
            }
            let mut cmd = redis::cmd("XAUTOCLAIM");
            cmd.arg(stream)
                .arg(group)
                .arg(consumer)
                .arg(min_idle_ms)
                .arg(&cursor)
                .arg("COUNT")
                .arg(count - claimed.len());
            let reply = match self.query(&cmd).await {
                Ok(reply) => reply,
                Err(e) if e.code() == Some("NOGROUP") => break,
                Err(e) => return Err(bus_error("XAUTOCLAIM", stream, &e)),
            };
            let (next, entries) = parse_autoclaim_reply(reply)
                .map_err(|e| BusError::Malformed(format!("XAUTOCLAIM on {stream}: {e}")))?;
            claimed.extend(entries);
            if next == "0-0" {
                break;
            }
            cursor = next;
        }
        let ids: Vec<&str> = claimed.iter().map(|e| e.id.as_str()).collect();
        let counts = self.delivery_counts(stream, group, &ids).await?;
        // An entry acked by someone else since the claim is skipped.
        Ok(self
            .settle_raw(stream, group, claimed, |id| counts.get(id).copied())
            .await)
    }

    async fn dead_letter(
        &self,
        stream: &str,
        group: &str,
        entry: &StreamEntry,
        reason: &str,
    ) -> Result<(), BusError> {
        let mut fields: Vec<(&str, &str)> = entry
            .fields
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "dead_reason" | "dead_entry_id" | "dead_group"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        fields.sort_unstable();
        fields.extend([
            ("dead_reason", reason),
            ("dead_entry_id", entry.id.as_str()),
            ("dead_group", group),
        ]);
        let mut xadd = self.xadd_dead(&dead_stream(stream));
        for (k, v) in fields {
            xadd.arg(k).arg(v);
        }
        self.move_to_dead(stream, group, &entry.id, xadd).await
    }
}

fn dead_stream(stream: &str) -> String {
    format!("{stream}:dead")
}

/// Whether trying again later can help: the server is away, busy, loading,
/// or the reply was lost. Anything else (a wrong type, a bad id, a refused
/// command) is permanent.
fn transient(e: &RedisError) -> bool {
    match e.kind() {
        ErrorKind::Io
        | ErrorKind::Parse
        | ErrorKind::AuthenticationFailed
        | ErrorKind::ClusterConnectionNotFound
        | ErrorKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ReadOnly
            | ServerErrorKind::Moved
            | ServerErrorKind::Ask,
        ) => true,
        // Out of memory, or unable to persist: an operator can fix it.
        _ => matches!(e.code(), Some("OOM" | "MISCONF")),
    }
}

fn bus_error(op: &str, stream: &str, e: &RedisError) -> BusError {
    let message = format!("Redis {op} on {stream}: {e}");
    if transient(e) {
        BusError::Unavailable(message)
    } else {
        BusError::Malformed(message)
    }
}

/// `XINFO GROUPS`: each group's pending count and lag (Redis 7; nil when
/// the server cannot tell, and absent before 7).
impl StreamStats for RedisLog {
    fn stream_backlog<'a>(
        &'a self,
        stream: &'a str,
    ) -> BoxFuture<'a, Result<Vec<GroupBacklog>, BusError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("XINFO");
            cmd.arg("GROUPS").arg(stream);
            let reply = match self.query(&cmd).await {
                Ok(v) => v,
                // No stream yet: no group has a backlog.
                Err(e) if e.to_string().contains("no such key") => return Ok(Vec::new()),
                Err(e) => return Err(bus_error("XINFO GROUPS", stream, &e)),
            };
            Ok(items(reply)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|group| {
                    let fields = items(group)?;
                    let mut name = None;
                    let (mut pending, mut lag) = (0, None);
                    for pair in fields.chunks(2) {
                        let [k, v] = pair else { continue };
                        match text(k).as_deref() {
                            Some("name") => name = text(v),
                            Some("pending") => pending = integer(v).unwrap_or(0),
                            Some("lag") => lag = integer(v),
                            _ => {}
                        }
                    }
                    Some(GroupBacklog {
                        group: name?,
                        pending: u64::try_from(pending).unwrap_or(0),
                        lag: lag.and_then(|n| u64::try_from(n).ok()),
                    })
                })
                .collect())
        })
    }
}

/// What a [`RedisLog::trim`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    /// The stream's length afterwards.
    pub length: u64,
    /// Entries removed (every one acknowledged by every group).
    pub removed: u64,
}

/// A stream entry id, `<ms>-<seq>`, ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct EntryId(u64, u64);

impl EntryId {
    fn parse(id: &str) -> Option<Self> {
        let (ms, seq) = id.split_once('-')?;
        Some(Self(ms.parse().ok()?, seq.parse().ok()?))
    }

    /// The smallest id after this one.
    fn next(self) -> Self {
        match self.1.checked_add(1) {
            Some(seq) => Self(self.0, seq),
            None => Self(self.0.saturating_add(1), 0),
        }
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

/// One stream entry as the server sent it.
#[derive(Debug, Clone, PartialEq)]
struct RawEntry {
    id: String,
    /// Field, value, field, value…
    items: Vec<Vec<u8>>,
    /// Why the reply could not be taken apart, if it could not.
    problem: Option<String>,
}

impl RawEntry {
    fn decode(&self) -> Result<(String, HashMap<String, String>), String> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        if !self.items.len().is_multiple_of(2) {
            return Err(format!(
                "entry has an odd number of field and value items ({}); the last one was dropped",
                self.items.len()
            ));
        }
        let mut fields = HashMap::with_capacity(self.items.len() / 2);
        for pair in self.items.chunks_exact(2) {
            let key = String::from_utf8(pair[0].clone()).map_err(|_| {
                format!(
                    "field name {:?} is not UTF-8",
                    String::from_utf8_lossy(&pair[0])
                )
            })?;
            let value = String::from_utf8(pair[1].clone())
                .map_err(|_| format!("value of field {key:?} is not UTF-8"))?;
            fields.insert(key, value);
        }
        Ok((self.id.clone(), fields))
    }
}

/// The elements of an array-like reply.
fn items(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(items) | Value::Set(items) => Some(items),
        Value::Map(pairs) => Some(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()),
        Value::Attribute { data, .. } => items(*data),
        _ => None,
    }
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) | Value::VerbatimString { text: s, .. } => Some(s.as_bytes().into()),
        Value::Int(n) => Some(n.to_string().into_bytes()),
        Value::Okay => Some(b"OK".to_vec()),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    bytes(v).and_then(|b| String::from_utf8(b).ok())
}

fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        other => text(other)?.parse().ok(),
    }
}

/// Entries of a list of `[id, [field, value, …]]`. An entry without an id
/// or without fields (deleted while pending: Redis 6.2 sends it as nil or
/// `[id, nil]`) is skipped: there is nothing to deliver or to ack.
fn parse_entries(v: Value) -> Result<Vec<RawEntry>, String> {
    let Some(list) = items(v) else {
        return Err("the entries are not a list".into());
    };
    let mut out = Vec::with_capacity(list.len());
    for entry in list {
        let mut parts = items(entry).unwrap_or_default().into_iter();
        let (Some(id), Some(fields)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Some(id) = text(&id) else {
            continue;
        };
        if fields == Value::Nil {
            continue;
        }
        let mut problem = None;
        let items = match items(fields) {
            Some(list) => list
                .iter()
                .filter_map(|item| {
                    let b = bytes(item);
                    if b.is_none() {
                        problem = Some(format!("a field or value is not a string: {item:?}"));
                    }
                    b
                })
                .collect(),
            None => {
                problem = Some("the fields are not a list".into());
                Vec::new()
            }
        };
        out.push(RawEntry { id, items, problem });
    }
    Ok(out)
}

/// `XREADGROUP`'s reply: nil when nothing came, else `[[stream, entries]]`
/// (a map `{stream: entries}` in RESP3).
fn parse_read_reply(v: Value) -> Result<Vec<RawEntry>, String> {
    if v == Value::Nil {
        return Ok(Vec::new());
    }
    let Some(streams) = items(v.clone()) else {
        return Err(format!("unexpected reply {v:?}"));
    };
    let mut out = Vec::new();
    // RESP2: each element is [name, entries]; RESP3 flattened: name, entries.
    let pairs: Vec<Value> = if streams
        .first()
        .is_some_and(|s| matches!(s, Value::Array(_)))
    {
        streams
            .into_iter()
            .filter_map(|s| items(s).and_then(|mut p| (p.len() == 2).then(|| p.remove(1))))
            .collect()
    } else {
        streams.into_iter().skip(1).step_by(2).collect()
    };
    for entries in pairs {
        if entries != Value::Nil {
            out.extend(parse_entries(entries)?);
        }
    }
    Ok(out)
}

/// `XAUTOCLAIM`'s reply: `[next cursor, entries, deleted ids]` (no deleted
/// ids before Redis 7).
fn parse_autoclaim_reply(v: Value) -> Result<(String, Vec<RawEntry>), String> {
    let Some(mut parts) = items(v.clone()) else {
        return Err(format!("unexpected reply {v:?}"));
    };
    if parts.len() < 2 {
        return Err(format!("unexpected reply {v:?}"));
    }
    let entries = parts.swap_remove(1);
    let Some(next) = text(&parts[0]) else {
        return Err(format!("no cursor in {v:?}"));
    };
    Ok((next, parse_entries(entries)?))
}

/// `url` with the password (in the user part or a `password=` query
/// parameter) replaced by `***`.
pub(crate) fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let mut out = match head.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(end);
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _)) => format!("{user}:***@{host}"),
                    None => format!("{userinfo}@{host}"),
                },
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => head.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _))
                    if k.eq_ignore_ascii_case("pass") || k.eq_ignore_ascii_case("password") =>
                {
                    format!("{k}=***")
                }
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &[u8]) -> Value {
        Value::BulkString(s.to_vec())
    }

    fn entry(id: &str, items: &[&[u8]]) -> Value {
        Value::Array(vec![
            bulk(id.as_bytes()),
            Value::Array(items.iter().map(|i| bulk(i)).collect()),
        ])
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("redis://:s3cret@cache:6379/1"),
            "redis://:***@cache:6379/1"
        );
        assert_eq!(
            redact_url("redis://app:p@ss@cache/2"),
            "redis://app:***@cache/2"
        );
        assert_eq!(
            redact_url("redis://localhost:6379/1"),
            "redis://localhost:6379/1"
        );
        assert_eq!(
            redact_url("redis+unix:///run/redis.sock?db=1&pass=s3cret"),
            "redis+unix:///run/redis.sock?db=1&pass=***"
        );
    }

    #[test]
    fn a_read_reply_is_parsed_in_resp2_and_resp3_shapes() {
        let entries = Value::Array(vec![
            entry("1-0", &[b"k", b"v"]),
            entry("2-0", &[b"a", b"b"]),
        ]);
        let resp2 = Value::Array(vec![Value::Array(vec![bulk(b"s"), entries.clone()])]);
        let resp3 = Value::Map(vec![(bulk(b"s"), entries)]);
        for reply in [resp2, resp3] {
            let raw = parse_read_reply(reply).unwrap();
            let ids: Vec<&str> = raw.iter().map(|e| e.id.as_str()).collect();
            assert_eq!(ids, ["1-0", "2-0"]);
            let (_, fields) = raw[0].decode().unwrap();
            assert_eq!(fields["k"], "v");
        }
        assert!(parse_read_reply(Value::Nil).unwrap().is_empty());
    }

    #[test]
    fn odd_replies_are_errors_or_skipped_never_panics() {
        assert!(parse_read_reply(Value::Int(3)).is_err());
        assert!(
            parse_read_reply(Value::Array(vec![Value::Array(vec![bulk(b"s")])]))
                .unwrap()
                .is_empty()
        );
        // A nil entry (deleted while pending) and an empty one are skipped.
        let raw = parse_entries(Value::Array(vec![
            Value::Nil,
            Value::Array(vec![]),
            Value::Array(vec![bulk(b"3-0"), Value::Nil]),
            Value::Array(vec![
                bulk(b"4-0"),
                Value::Array(vec![bulk(b"k"), Value::Nil]),
            ]),
            Value::Array(vec![bulk(b"5-0"), Value::Array(vec![])]),
        ]))
        .unwrap();
        let ids: Vec<&str> = raw.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["4-0", "5-0"]);
        assert!(raw[0].decode().unwrap_err().contains("not a string"));
        assert!(raw[1].decode().unwrap().1.is_empty());
        assert!(parse_autoclaim_reply(Value::Array(vec![bulk(b"0-0")])).is_err());
        assert!(parse_autoclaim_reply(Value::Okay).is_err());
    }

    #[test]
    fn undecodable_entries_say_why() {
        let odd = RawEntry {
            id: "1-0".into(),
            items: vec![b"k".to_vec(), b"v".to_vec(), b"orphan".to_vec()],
            problem: None,
        };
        assert!(odd.decode().unwrap_err().contains("odd number"));
        let binary = RawEntry {
            id: "1-0".into(),
            items: vec![b"device_config".to_vec(), vec![0xff, 0xfe]],
            problem: None,
        };
        let reason = binary.decode().unwrap_err();
        assert!(
            reason.contains("device_config") && reason.contains("UTF-8"),
            "{reason}"
        );
    }

    #[test]
    fn an_autoclaim_reply_gives_the_cursor_and_the_live_entries() {
        let reply = Value::Array(vec![
            bulk(b"5-0"),
            Value::Array(vec![entry("1-0", &[b"k", b"v"]), Value::Nil]),
            Value::Array(vec![bulk(b"2-0")]),
        ]);
        let (next, raw) = parse_autoclaim_reply(reply).unwrap();
        assert_eq!(next, "5-0");
        assert_eq!(raw.len(), 1);
        assert_eq!(raw[0].id, "1-0");
    }
}
