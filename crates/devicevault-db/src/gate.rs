//! SQLite's write gate: one writer at a time, chosen by priority.
//!
//! SQLite has one writer. Writers that meet in its busy handler sleep 1, 2,
//! 5, 10, … ms between tries, so a short write waits for the sleep, not for
//! the writer before it; here they take turns instead. The turn goes to
//! the most urgent waiter: a person waiting on a request (a backup asked
//! for, a line of the audit log) before the pipeline's batches, and those
//! before background work (the notifier, the staleness scan, pruning),
//! which only runs when nothing more urgent waits — unless it has waited
//! [`MAX_WAIT`], so it is never starved by a busy pipeline.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// Who is waiting to write, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WritePriority {
    /// A person is waiting for the answer (an API or web request, a
    /// sign-in, the CLI).
    Request = 0,
    /// The pipeline's own writes (jobs, results, stored backups).
    Pipeline = 1,
    /// Work nobody waits on: notifications, scans, pruning.
    Background = 2,
}

/// A less urgent waiter that has waited this long goes before more urgent
/// ones that came after it.
pub const MAX_WAIT: Duration = Duration::from_millis(250);

#[derive(Debug, Default)]
struct State {
    held: bool,
    waiting: [VecDeque<(Instant, oneshot::Sender<()>)>; 3],
}

impl State {
    /// The next waiter: the oldest overdue one if any, else the head of
    /// the most urgent queue.
    fn next(&mut self, now: Instant) -> Option<oneshot::Sender<()>> {
        let overdue = (0..3)
            .filter_map(|q| self.waiting[q].front().map(|(since, _)| (*since, q)))
            .filter(|(since, _)| now.duration_since(*since) >= MAX_WAIT)
            .min();
        let queue = match overdue {
            Some((_, q)) => q,
            None => (0..3).find(|q| !self.waiting[*q].is_empty())?,
        };
        self.waiting[queue].pop_front().map(|(_, tx)| tx)
    }
}

/// One writer at a time, the most urgent first.
#[derive(Debug, Default)]
pub(crate) struct WriteGate {
    state: Mutex<State>,
}

/// The turn to write; the next waiter's turn comes when it is dropped.
#[derive(Debug)]
pub(crate) struct GateGuard<'a> {
    gate: &'a WriteGate,
}

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        self.gate.release();
    }
}

/// A waiter's place in the queue; a waiter dropped after it was handed the
/// turn passes it on.
struct Waiting<'a> {
    gate: &'a WriteGate,
    turn: Option<oneshot::Receiver<()>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(mut turn) = self.turn.take() {
            turn.close();
            if turn.try_recv().is_ok() {
                self.gate.release();
            }
        }
    }
}

impl WriteGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is consistent after every statement: a panic elsewhere
        // while it was locked cannot leave it half-changed.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the turn to write.
    pub(crate) async fn enter(&self, priority: WritePriority) -> GateGuard<'_> {
        let turn = {
            let mut s = self.lock();
            if !s.held {
                s.held = true;
                return GateGuard { gate: self };
            }
            let (tx, rx) = oneshot::channel();
            s.waiting[priority as usize].push_back((Instant::now(), tx));
            rx
        };
        let mut waiting = Waiting {
            gate: self,
            turn: Some(turn),
        };
        if let Some(turn) = waiting.turn.as_mut() {
            // The sender is only dropped unsent by `release`, which
            // skips closed receivers, so an error cannot happen; either way
            // the turn is ours only once received.
            let _ = turn.await;
        }
        waiting.turn = None;
        GateGuard { gate: self }
    }

    /// Whether a writer more urgent than `priority` is waiting for the
    /// turn: a long writer checks it between its parts and hands the turn
    /// over (see `Db::apply`).
    pub(crate) fn more_urgent_waiting(&self, priority: WritePriority) -> bool {
        let s = self.lock();
        s.waiting[..priority as usize].iter().any(|q| !q.is_empty())
    }

    fn release(&self) {
        let mut s = self.lock();
        let now = Instant::now();
        while let Some(next) = s.next(now) {
            if next.send(()).is_ok() {
                return; // handed over: still held
            }
        }
        s.held = false;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn the_most_urgent_waiter_goes_first() {
        let gate = Arc::new(WriteGate::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = gate.enter(WritePriority::Pipeline).await;
        let mut tasks = Vec::new();
        for p in [
            WritePriority::Background,
            WritePriority::Pipeline,
            WritePriority::Request,
        ] {
            let (gate, order) = (gate.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = gate.enter(p).await;
                order.lock().unwrap().push(p);
            }));
            // Each is queued before the next one asks.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            [
                WritePriority::Request,
                WritePriority::Pipeline,
                WritePriority::Background
            ]
        );
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_never_keeps_the_gate_closed() {
        let gate = WriteGate::default();
        // One gives up before its turn (a request whose client went away).
        let held = gate.enter(WritePriority::Request).await;
        let gave_up = tokio::time::timeout(
            Duration::from_millis(10),
            gate.enter(WritePriority::Request),
        )
        .await;
        assert!(gave_up.is_err());
        drop(held);
        // One is handed the turn and dropped before it looks.
        let held = gate.enter(WritePriority::Request).await;
        let mut waiter = Box::pin(gate.enter(WritePriority::Request));
        let polled = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(waiter.as_mut().poll(cx).is_pending())
        })
        .await;
        assert!(polled, "queued behind the holder");
        drop(held);
        drop(waiter);
        tokio::time::timeout(
            Duration::from_secs(1),
            gate.enter(WritePriority::Background),
        )
        .await
        .expect("the gate was left closed");
    }

    #[tokio::test]
    async fn a_holder_sees_a_more_urgent_waiter_only() {
        let gate = Arc::new(WriteGate::default());
        let held = gate.enter(WritePriority::Pipeline).await;
        assert!(!gate.more_urgent_waiting(WritePriority::Pipeline));
        let background = tokio::spawn({
            let gate = gate.clone();
            async move {
                let _turn = gate.enter(WritePriority::Background).await;
            }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(
            !gate.more_urgent_waiting(WritePriority::Pipeline),
            "background work waits for the pipeline"
        );
        let request = tokio::spawn({
            let gate = gate.clone();
            async move {
                let _turn = gate.enter(WritePriority::Request).await;
            }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(gate.more_urgent_waiting(WritePriority::Pipeline));
        assert!(!gate.more_urgent_waiting(WritePriority::Request));
        drop(held);
        request.await.unwrap();
        background.await.unwrap();
        assert!(!gate.more_urgent_waiting(WritePriority::Background));
    }

    #[test]
    fn an_overdue_background_waiter_goes_before_newer_requests() {
        let mut s = State::default();
        let start = Instant::now();
        let (old, mut old_rx) = oneshot::channel();
        let (new, mut new_rx) = oneshot::channel();
        s.waiting[WritePriority::Background as usize].push_back((start, old));
        s.waiting[WritePriority::Request as usize].push_back((start + MAX_WAIT, new));
        s.next(start + MAX_WAIT).unwrap().send(()).unwrap();
        assert!(old_rx.try_recv().is_ok() && new_rx.try_recv().is_err());
        // Not yet overdue: the request goes first.
        let mut s = State::default();
        let (old, mut old_rx) = oneshot::channel();
        let (new, mut new_rx) = oneshot::channel();
        s.waiting[WritePriority::Background as usize].push_back((start, old));
        s.waiting[WritePriority::Request as usize].push_back((start, new));
        s.next(start + MAX_WAIT / 2).unwrap().send(()).unwrap();
        assert!(new_rx.try_recv().is_ok() && old_rx.try_recv().is_err());
    }
}
