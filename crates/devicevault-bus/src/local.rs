//! In-process task bus and result log.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use devicevault_core::bus::{
    BoxFuture, BusError, Delivery, GroupBacklog, QueueDepth, QueueStats, ResultLog, Settle,
    StreamEntry, StreamStats, Task, TaskBus, TaskConsumer,
};
use serde_json::Value;
use tokio::sync::{Notify, oneshot};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Default)]
struct Queue {
    ready: VecDeque<Task>,
    dead: Vec<(Task, String)>,
    notify: Arc<Notify>,
}

type Reply = oneshot::Sender<Result<Value, String>>;

#[derive(Default)]
struct BusState {
    queues: HashMap<String, Queue>,
    replies: HashMap<String, Reply>,
}

/// In-process queues of tasks.
#[derive(Clone, Default)]
pub struct LocalBus {
    state: Arc<Mutex<BusState>>,
}

impl std::fmt::Debug for LocalBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBus").finish_non_exhaustive()
    }
}

impl LocalBus {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&self, queue: &str, task: Task, front: bool) {
        let mut state = lock(&self.state);
        let q = state.queues.entry(queue.to_owned()).or_default();
        if front {
            q.ready.push_front(task);
        } else {
            q.ready.push_back(task);
        }
        q.notify.notify_one();
    }

    /// Tasks waiting on `queue` (for tests and the health page).
    pub fn depth(&self, queue: &str) -> usize {
        lock(&self.state)
            .queues
            .get(queue)
            .map_or(0, |q| q.ready.len())
    }

    /// Tasks parked on `queue`'s dead-letter list, with their reasons.
    pub fn dead_letters(&self, queue: &str) -> Vec<(Task, String)> {
        lock(&self.state)
            .queues
            .get(queue)
            .map_or_else(Vec::new, |q| q.dead.clone())
    }
}

impl TaskBus for LocalBus {
    type Consumer = LocalConsumer;

    async fn publish(&self, queue: &str, task: Task) -> Result<(), BusError> {
        self.push(queue, task, false);
        Ok(())
    }

    async fn consume(&self, queue: &str) -> Result<LocalConsumer, BusError> {
        let notify = lock(&self.state)
            .queues
            .entry(queue.to_owned())
            .or_default()
            .notify
            .clone();
        Ok(LocalConsumer {
            bus: self.clone(),
            queue: queue.to_owned(),
            notify,
            out: Vec::new(),
        })
    }

    async fn call(&self, queue: &str, task: Task, timeout: Duration) -> Result<Value, BusError> {
        let (tx, rx) = oneshot::channel();
        let id = task.id.clone();
        let name = task.name.clone();
        lock(&self.state).replies.insert(id.clone(), tx);
        self.push(queue, task, false);
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(reason))) => Err(BusError::Remote(reason)),
            Ok(Err(_)) => Err(BusError::Closed),
            Err(_) => {
                lock(&self.state).replies.remove(&id);
                Err(BusError::Timeout {
                    task: name,
                    queue: queue.to_owned(),
                    timeout,
                })
            }
        }
    }
}

/// A delivered task until it is settled. The delivery's settle and its
/// consumer share it: whichever takes it first decides, the settle to settle
/// it, the consumer (when dropped) to hand it back to the queue.
type Out = Arc<Mutex<Option<Task>>>;

/// Deliveries of one in-process queue. Dropped, it hands back what it
/// delivered and was not settled, even while a handler still holds it (as
/// a broker does when a consumer's channel closes).
pub struct LocalConsumer {
    bus: LocalBus,
    queue: String,
    notify: Arc<Notify>,
    out: Vec<Weak<Mutex<Option<Task>>>>,
}

impl Drop for LocalConsumer {
    fn drop(&mut self) {
        // Newest first, each to the front: they go back in delivery order.
        for out in self.out.drain(..).rev() {
            let task = out.upgrade().and_then(|out| lock(&out).take());
            if let Some(task) = task {
                self.bus.push(&self.queue, task, true);
            }
        }
    }
}

impl std::fmt::Debug for LocalConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalConsumer")
            .field("queue", &self.queue)
            .finish()
    }
}

impl TaskConsumer for LocalConsumer {
    async fn next(&mut self) -> Result<Delivery, BusError> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let task = lock(&self.bus.state)
                .queues
                .get_mut(&self.queue)
                .and_then(|q| q.ready.pop_front());
            if let Some(task) = task {
                // Settled deliveries are gone: forget them.
                self.out.retain(|out| out.strong_count() > 0);
                let out = Arc::new(Mutex::new(Some(task.clone())));
                self.out.push(Arc::downgrade(&out));
                return Ok(Delivery {
                    task,
                    queue: self.queue.clone(),
                    settle: Box::new(LocalSettle {
                        bus: self.bus.clone(),
                        queue: self.queue.clone(),
                        task: out,
                    }),
                });
            }
            notified.await;
        }
    }
}

/// Settles one delivery; an unsettled one goes back to the queue on drop.
struct LocalSettle {
    bus: LocalBus,
    queue: String,
    task: Out,
}

impl LocalSettle {
    /// The task to settle, unless its consumer was dropped and handed it
    /// back to the queue: then it is someone else's.
    fn take(&self) -> Result<Task, BusError> {
        lock(&self.task).take().ok_or_else(|| {
            BusError::Unavailable(format!(
                "the consumer of {} was dropped; the task went back to the queue",
                self.queue
            ))
        })
    }
}

impl Drop for LocalSettle {
    fn drop(&mut self) {
        let task = lock(&self.task).take();
        if let Some(task) = task {
            self.bus.push(&self.queue, task, true);
        }
    }
}

impl Settle for LocalSettle {
    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<(), BusError>> {
        let taken = self.take().map(drop);
        Box::pin(async { taken })
    }

    fn retry_later(self: Box<Self>, delay: Duration) -> BoxFuture<'static, Result<(), BusError>> {
        let mut task = match self.take() {
            Ok(task) => task,
            Err(e) => return Box::pin(async { Err(e) }),
        };
        task.retries += 1;
        let bus = self.bus.clone();
        let queue = self.queue.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            bus.push(&queue, task, false);
        });
        Box::pin(async { Ok(()) })
    }

    fn dead_letter(self: Box<Self>, reason: String) -> BoxFuture<'static, Result<(), BusError>> {
        let task = match self.take() {
            Ok(task) => task,
            Err(e) => return Box::pin(async { Err(e) }),
        };
        lock(&self.bus.state)
            .queues
            .entry(self.queue.clone())
            .or_default()
            .dead
            .push((task, reason));
        Box::pin(async { Ok(()) })
    }

    fn reply(
        self: Box<Self>,
        result: Result<Value, String>,
    ) -> BoxFuture<'static, Result<(), BusError>> {
        let task = match self.take() {
            Ok(task) => task,
            Err(e) => return Box::pin(async { Err(e) }),
        };
        if let Some(tx) = lock(&self.bus.state).replies.remove(&task.id) {
            // The caller may have timed out and gone; that is its business.
            let _ = tx.send(result);
        }
        Box::pin(async { Ok(()) })
    }
}

struct Pending {
    consumer: String,
    since: Instant,
    deliveries: u64,
}

#[derive(Default)]
struct Group {
    /// Entries before this index were delivered to the group.
    next: usize,
    pending: HashMap<String, Pending>,
}

#[derive(Default)]
struct Stream {
    entries: Vec<(String, HashMap<String, String>)>,
    groups: HashMap<String, Group>,
    seq: u64,
    notify: Arc<Notify>,
}

impl Stream {
    /// Drops the oldest entries, down to `max_len`, that every group has
    /// read and none holds pending.
    fn trim(&mut self, max_len: usize) {
        let read_by_all = self.groups.values().map(|g| g.next).min().unwrap_or(0);
        let excess = self.entries.len().saturating_sub(max_len);
        let settled = self.entries[..read_by_all.min(excess)]
            .iter()
            .take_while(|(id, _)| !self.groups.values().any(|g| g.pending.contains_key(id)))
            .count();
        if settled == 0 {
            return;
        }
        self.entries.drain(..settled);
        for g in self.groups.values_mut() {
            g.next -= settled;
        }
    }
}

/// In-process streams with consumer groups. Like a Redis stream with an
/// approximate `MAXLEN`, a stream keeps a bounded history: past `max_len`
/// entries, the oldest ones that every group has read and acknowledged are
/// dropped (an entry still pending somewhere is never dropped).
#[derive(Clone)]
pub struct LocalLog {
    streams: Arc<Mutex<HashMap<String, Stream>>>,
    max_len: usize,
}

impl Default for LocalLog {
    fn default() -> Self {
        Self::with_max_len(1_000)
    }
}

impl std::fmt::Debug for LocalLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLog").finish_non_exhaustive()
    }
}

impl LocalLog {
    /// Streams that keep about 1,000 settled entries each.
    pub fn new() -> Self {
        Self::default()
    }

    /// Streams that keep about `max_len` settled entries each.
    pub fn with_max_len(max_len: usize) -> Self {
        Self {
            streams: Arc::default(),
            max_len: max_len.max(1),
        }
    }

    /// Every entry of a stream, oldest first (for tests and diagnostics).
    pub fn entries(&self, stream: &str) -> Vec<StreamEntry> {
        lock(&self.streams).get(stream).map_or_else(Vec::new, |s| {
            s.entries
                .iter()
                .map(|(id, fields)| StreamEntry {
                    id: id.clone(),
                    fields: fields.clone(),
                    deliveries: 0,
                })
                .collect()
        })
    }

    /// Entries of `group` delivered but not acked.
    pub fn pending(&self, stream: &str, group: &str) -> usize {
        lock(&self.streams)
            .get(stream)
            .and_then(|s| s.groups.get(group))
            .map_or(0, |g| g.pending.len())
    }

    fn append_now(&self, stream: &str, fields: HashMap<String, String>) -> String {
        let mut streams = lock(&self.streams);
        let s = streams.entry(stream.to_owned()).or_default();
        s.seq += 1;
        let id = format!("{}-0", s.seq);
        s.entries.push((id.clone(), fields));
        if s.entries.len() > self.max_len + self.max_len / 10 {
            s.trim(self.max_len);
        }
        s.notify.notify_waiters();
        id
    }

    /// Hands the group's next undelivered entries to `consumer`.
    fn deliver(&self, stream: &str, group: &str, consumer: &str, count: usize) -> Vec<StreamEntry> {
        let mut streams = lock(&self.streams);
        let s = streams.entry(stream.to_owned()).or_default();
        let g = s.groups.entry(group.to_owned()).or_default();
        let start = g.next;
        let end = (start + count).min(s.entries.len());
        g.next = end;
        let mut out = Vec::with_capacity(end - start);
        for (id, fields) in &s.entries[start..end] {
            g.pending.insert(
                id.clone(),
                Pending {
                    consumer: consumer.to_owned(),
                    since: Instant::now(),
                    deliveries: 1,
                },
            );
            out.push(StreamEntry {
                id: id.clone(),
                fields: fields.clone(),
                deliveries: 1,
            });
        }
        out
    }

    fn entry(
        entries: &[(String, HashMap<String, String>)],
        id: &str,
        deliveries: u64,
    ) -> Option<StreamEntry> {
        entries
            .iter()
            .find(|(eid, _)| eid == id)
            .map(|(eid, fields)| StreamEntry {
                id: eid.clone(),
                fields: fields.clone(),
                deliveries,
            })
    }
}

/// The in-process queues know what waits in them, not who consumes.
impl QueueStats for LocalBus {
    fn queue_depth<'a>(
        &'a self,
        queue: &'a str,
    ) -> BoxFuture<'a, Result<Option<QueueDepth>, BusError>> {
        let depth = lock(&self.state).queues.get(queue).map(|q| QueueDepth {
            ready: q.ready.len() as u64,
            consumers: None,
        });
        Box::pin(async move { Ok(depth) })
    }
}

impl StreamStats for LocalLog {
    fn stream_backlog<'a>(
        &'a self,
        stream: &'a str,
    ) -> BoxFuture<'a, Result<Vec<GroupBacklog>, BusError>> {
        let mut groups: Vec<GroupBacklog> = lock(&self.streams)
            .get(stream)
            .map(|s| {
                s.groups
                    .iter()
                    .map(|(name, g)| GroupBacklog {
                        group: name.clone(),
                        pending: g.pending.len() as u64,
                        lag: Some(s.entries.len().saturating_sub(g.next) as u64),
                    })
                    .collect()
            })
            .unwrap_or_default();
        groups.sort_by(|a, b| a.group.cmp(&b.group));
        Box::pin(async move { Ok(groups) })
    }
}

impl ResultLog for LocalLog {
    async fn append(
        &self,
        stream: &str,
        fields: Vec<(&'static str, String)>,
    ) -> Result<String, BusError> {
        // As in Redis, where a stream entry cannot be empty: embedded mode
        // must not accept what distributed mode refuses.
        if fields.is_empty() {
            return Err(BusError::Malformed(format!(
                "a record for {stream} needs at least one field"
            )));
        }
        let fields = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Ok(self.append_now(stream, fields))
    }

    async fn read(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<StreamEntry>, BusError> {
        let deadline = tokio::time::Instant::now() + block;
        let notify = lock(&self.streams)
            .entry(stream.to_owned())
            .or_default()
            .notify
            .clone();
        loop {
            // Register for the wake-up before looking, so an append between
            // the look and the wait is not missed.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let out = self.deliver(stream, group, consumer, count);
            if !out.is_empty() {
                return Ok(out);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(self.deliver(stream, group, consumer, count));
            }
        }
    }

    async fn ack(&self, stream: &str, group: &str, id: &str) -> Result<(), BusError> {
        if let Some(g) = lock(&self.streams)
            .get_mut(stream)
            .and_then(|s| s.groups.get_mut(group))
        {
            g.pending.remove(id);
        }
        Ok(())
    }

    async fn reclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<StreamEntry>, BusError> {
        let mut streams = lock(&self.streams);
        let Some(s) = streams.get_mut(stream) else {
            return Ok(Vec::new());
        };
        let Stream {
            entries, groups, ..
        } = s;
        let Some(g) = groups.get_mut(group) else {
            return Ok(Vec::new());
        };
        let now = Instant::now();
        let mut ids: Vec<String> = g
            .pending
            .iter()
            .filter(|(_, p)| now.duration_since(p.since) >= min_idle)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort_by_key(|id| id.split('-').next().and_then(|n| n.parse::<u64>().ok()));
        ids.truncate(count);
        let mut out = Vec::new();
        for id in ids {
            let p = g.pending.get_mut(&id).expect("listed above");
            p.consumer = consumer.to_owned();
            p.since = now;
            p.deliveries += 1;
            let deliveries = p.deliveries;
            if let Some(e) = Self::entry(entries, &id, deliveries) {
                out.push(e);
            }
        }
        Ok(out)
    }

    async fn dead_letter(
        &self,
        stream: &str,
        group: &str,
        entry: &StreamEntry,
        reason: &str,
    ) -> Result<(), BusError> {
        let mut fields = entry.fields.clone();
        fields.insert("dead_reason".into(), reason.to_owned());
        fields.insert("dead_entry_id".into(), entry.id.clone());
        fields.insert("dead_group".into(), group.to_owned());
        self.append_now(&format!("{stream}:dead"), fields);
        self.ack(stream, group, &entry.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-process stream keeps a bounded history, but never drops an entry
    /// that a group has not read or still holds pending.
    #[tokio::test]
    async fn streams_keep_a_bounded_history() {
        let log = LocalLog::with_max_len(100);
        let s = "bounded";
        for i in 0..50 {
            log.append(s, vec![("n", i.to_string())]).await.unwrap();
        }
        // The group has read nothing yet: nothing may be dropped.
        for i in 50..500 {
            log.append(s, vec![("n", i.to_string())]).await.unwrap();
        }
        assert_eq!(log.entries(s).len(), 500);
        let first = log
            .read(s, "g", "c", 1, Duration::from_millis(1))
            .await
            .unwrap();
        let held = first[0].id.clone();
        loop {
            let batch = log
                .read(s, "g", "c", 64, Duration::from_millis(1))
                .await
                .unwrap();
            if batch.is_empty() {
                break;
            }
            for e in batch {
                log.ack(s, "g", &e.id).await.unwrap();
            }
        }
        for i in 500..700 {
            log.append(s, vec![("n", i.to_string())]).await.unwrap();
        }
        // The first entry is still pending: it pins everything after it.
        assert!(log.entries(s).iter().any(|e| e.id == held));
        log.ack(s, "g", &held).await.unwrap();
        let fresh = log
            .read(s, "g", "c", 1000, Duration::from_millis(1))
            .await
            .unwrap();
        assert_eq!(fresh.len(), 200, "unread entries are all still there");
        for e in &fresh {
            log.ack(s, "g", &e.id).await.unwrap();
        }
        log.append(s, vec![("n", "last".into())]).await.unwrap();
        let kept = log.entries(s);
        assert!(kept.len() <= 110, "history bounded: {}", kept.len());
        assert!(!kept.iter().any(|e| e.id == held));
        assert_eq!(kept.last().unwrap().fields["n"], "last");
        // Reading continues where it was.
        log.append(s, vec![("n", "next".into())]).await.unwrap();
        let next = log
            .read(s, "g", "c", 10, Duration::from_millis(1))
            .await
            .unwrap();
        let names: Vec<&str> = next.iter().map(|e| e.fields["n"].as_str()).collect();
        assert_eq!(names, ["last", "next"]);
    }
}
