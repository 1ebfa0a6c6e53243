//! Group commit: concurrent appenders share one durable transaction.
//!
//! Each caller queues its events and then waits for its answer or the
//! commit lock, whichever comes first. Whoever holds the lock drains the
//! whole queue into one transaction, so while one batch is being made
//! durable the next one gathers behind it. A caller
//! learns its leaf index only after the transaction holding its events has
//! committed; if the commit fails, every caller in that batch gets the error
//! and nothing it asked for is readable (fail closed).
//!
//! There is no background task: the leader is whichever caller gets the
//! lock, so the committer works on any runtime and stops when its callers do.
//! A caller dropped while waiting leaves its events queued; the next leader
//! commits them. Recording an access that was then abandoned is safe; losing
//! one is not.

use std::mem;
use std::sync::{Arc, Mutex, PoisonError};

use lanyard_store::{AuditEntry, NoteKeyRow, Store};
use tokio::sync::{Mutex as AsyncMutex, oneshot};

use crate::log::{self, LogError};

/// At most this many events go into one transaction; a longer queue is
/// committed in several.
const MAX_BATCH_EVENTS: usize = 8192;

struct Pending {
    entries: Vec<AuditEntry>,
    // The keys of notes sealed into these events: durable with them.
    notes: Vec<NoteKeyRow>,
    reply: oneshot::Sender<Result<u64, Arc<LogError>>>,
}

/// Appends events to the log on `store`, batching concurrent callers.
pub struct GroupCommitter {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    queue: Mutex<Vec<Pending>>,
    commit: Arc<AsyncMutex<()>>,
}

/// Figures for one committer, for metrics and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Transactions committed.
    pub batches: u64,
    /// Events committed.
    pub events: u64,
}

impl GroupCommitter {
    /// A committer for the log on `store`.
    pub fn new(store: Store) -> Self {
        let inner = Inner { store, queue: Mutex::new(Vec::new()), commit: Arc::new(AsyncMutex::new(())) };
        GroupCommitter { inner: Arc::new(inner) }
    }

    /// Appends `entries` and returns the leaf index of the first once the
    /// batch that holds them is durable.
    pub async fn append(&self, entries: Vec<AuditEntry>) -> Result<u64, Arc<LogError>> {
        self.append_noted(entries, Vec::new()).await
    }

    /// The same, with the keys of the notes sealed into those entries,
    /// committed in the same transaction.
    pub async fn append_noted(&self, entries: Vec<AuditEntry>, notes: Vec<NoteKeyRow>) -> Result<u64, Arc<LogError>> {
        if entries.is_empty() {
            return log::size(&self.inner.store).await.map_err(Arc::new);
        }
        let (reply, mut done) = oneshot::channel();
        self.inner.lock_queue().push(Pending { entries, notes, reply });
        // Wait for whichever comes first: our answer (a leader committed our
        // events) or the commit lock. Waiting for the lock alone would make
        // every answered caller queue behind the lock just to learn it is
        // done, and commits would shrink to one event each.
        let leader = tokio::select! {
            biased;
            answer = &mut done => return answer.unwrap_or_else(|_| Err(Arc::new(LogError::Abandoned))),
            guard = Arc::clone(&self.inner.commit).lock_owned() => guard,
        };
        // The commit runs in a task of its own: if this caller goes away (a
        // client disconnects), the batch it leads still commits and every
        // other caller in it still gets its answer.
        let inner = Arc::clone(&self.inner);
        let committing = tokio::spawn(async move {
            let _leader = leader;
            loop {
                let batch = inner.take_batch();
                if batch.is_empty() {
                    break;
                }
                inner.commit_batch(batch).await;
            }
        });
        let _ = committing.await;
        // Ours was in a batch this leader or an earlier one committed.
        done.await.unwrap_or_else(|_| Err(Arc::new(LogError::Abandoned)))
    }

    #[cfg(test)]
    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.inner.lock_queue()
    }
}

impl Inner {
    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        // The queue holds plain data; a panic elsewhere cannot leave it torn.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_batch(&self) -> Vec<Pending> {
        let mut queue = self.lock_queue();
        let mut events = 0;
        let mut take = 0;
        for p in queue.iter() {
            if take > 0 && events + p.entries.len() > MAX_BATCH_EVENTS {
                break;
            }
            events += p.entries.len();
            take += 1;
        }
        let rest = queue.split_off(take);
        mem::replace(&mut *queue, rest)
    }

    // Its transactions hold nothing but audit entries and the keys of the
    // notes sealed into them (clippy.toml).
    #[allow(clippy::disallowed_methods)]
    async fn commit_batch(&self, batch: Vec<Pending>) {
        let entries: Vec<AuditEntry> = batch.iter().flat_map(|p| p.entries.iter().cloned()).collect();
        let notes: Vec<NoteKeyRow> = batch.iter().flat_map(|p| p.notes.iter().cloned()).collect();
        let result = async {
            let mut tx = self.store.begin().await?;
            let first = log::append(&mut tx, &entries).await?;
            if !notes.is_empty() {
                tx.insert_note_keys(&notes).await?;
            }
            tx.commit().await?;
            Ok::<u64, LogError>(first)
        }
        .await;
        match result {
            Ok(first) => {
                let mut next = first;
                for p in batch {
                    let len = p.entries.len() as u64;
                    // A caller that went away needs no answer.
                    let _ = p.reply.send(Ok(next));
                    next += len;
                }
                self.record_stats(entries.len() as u64);
            }
            Err(e) => {
                let e = Arc::new(e);
                for p in batch {
                    let _ = p.reply.send(Err(Arc::clone(&e)));
                }
            }
        }
    }

    fn record_stats(&self, events: u64) {
        let mut stats = STATS.lock().unwrap_or_else(PoisonError::into_inner);
        stats.batches += 1;
        stats.events += events;
    }
}

// Process-wide, since every committer in a process writes the same log.
static STATS: Mutex<GroupStats> = Mutex::new(GroupStats { batches: 0, events: 0 });

/// Batches and events committed by every committer in this process.
pub fn stats() -> GroupStats {
    *STATS.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf_hash;

    fn entry(n: usize) -> AuditEntry {
        let bytes = format!("{{\"n\":{n}}}").into_bytes();
        let leaf = leaf_hash(&bytes);
        (bytes, leaf)
    }

    #[tokio::test]
    async fn everything_queued_goes_into_one_transaction() {
        for t in lanyard_testkit::stores().await {
            let committer = GroupCommitter::new(t.store.clone());
            // Callers that queued while a commit was in flight: the next
            // leader takes them all at once.
            let mut waiting = Vec::new();
            for n in 0..50 {
                let (reply, done) = oneshot::channel();
                committer.lock_queue().push(Pending { entries: vec![entry(n), entry(n + 1000)], notes: vec![], reply });
                waiting.push(done);
            }
            let before = t.store.audit_len().await.unwrap();
            assert_eq!(before, 0);
            let own = committer.append(vec![entry(9999)]).await.unwrap();
            assert_eq!(own, 100, "{}: the leader's own events come after the queue", t.name);
            for (n, done) in waiting.into_iter().enumerate() {
                assert_eq!(done.await.unwrap().unwrap(), 2 * n as u64, "{}", t.name);
            }
            let rows = t.store.audit_rows(0, 200).await.unwrap();
            assert_eq!(rows.len(), 101);
            assert_eq!(rows[2].event, entry(1).0, "{}: each caller's events stay together", t.name);
            assert_eq!(rows[3].event, entry(1001).0);
        }
    }

    #[tokio::test]
    async fn a_long_queue_is_split_but_fully_committed() {
        let t = lanyard_testkit::stores().await.remove(0);
        let committer = GroupCommitter::new(t.store.clone());
        let mut waiting = Vec::new();
        for n in 0..3 {
            let (reply, done) = oneshot::channel();
            let entries = (0..MAX_BATCH_EVENTS - 1).map(|i| entry(n * MAX_BATCH_EVENTS + i)).collect();
            committer.lock_queue().push(Pending { entries, notes: vec![], reply });
            waiting.push(done);
        }
        committer.append(vec![entry(0)]).await.unwrap();
        for done in waiting {
            done.await.unwrap().unwrap();
        }
        assert_eq!(t.store.audit_len().await.unwrap() as usize, 3 * (MAX_BATCH_EVENTS - 1) + 1);
    }

    #[tokio::test]
    async fn a_leader_that_goes_away_does_not_fail_its_batch() {
        for t in lanyard_testkit::stores().await {
            let committer = GroupCommitter::new(t.store.clone());
            let mut waiting = Vec::new();
            for n in 0..20 {
                let (reply, done) = oneshot::channel();
                committer.lock_queue().push(Pending { entries: vec![entry(n)], notes: vec![], reply });
                waiting.push(done);
            }
            // The leader's caller is dropped while its commit is in flight,
            // as when an HTTP client disconnects.
            tokio::select! {
                _ = committer.append(vec![entry(99)]) => panic!("a commit cannot finish within one yield"),
                _ = tokio::task::yield_now() => {}
            }
            for done in waiting {
                assert!(done.await.unwrap().is_ok(), "{}", t.name);
            }
            assert_eq!(t.store.audit_len().await.unwrap(), 21, "{}: the leader's own event committed too", t.name);
        }
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_caller_in_the_batch() {
        let t = lanyard_testkit::stores().await.remove(0);
        let committer = GroupCommitter::new(t.store.clone());
        let (reply, done) = oneshot::channel();
        committer.lock_queue().push(Pending { entries: vec![entry(1)], notes: vec![], reply });
        t.store.close().await;
        assert!(committer.append(vec![entry(2)]).await.is_err());
        assert!(done.await.unwrap().is_err());
    }
}
