//! Which calls each instance's facts cost. One collection answers many instances at once (a VPC's
//! network objects serve all its instances, a policy every role it is attached to), so calls are
//! booked against what they were asked for — a [`Scope`] — and an instance's figures are the sum of
//! the scopes its facts came from. The bookkeeping rides along with the futures (a task-local), so
//! concurrent questions never book into each other's scope.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a call was asked for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Every instance's: who is asking, which instances, DHMC, the agents.
    Run,
    /// The network objects of every VPC in the selection, asked together.
    Vpcs,
    /// One VPC's own questions (its DNS attributes).
    Vpc(String),
    /// A managed prefix list's entries, read once for every group that references it.
    PrefixList(String),
    /// An instance profile, read by its ARN.
    Profile(String),
    Role(String),
    /// A managed policy by ARN, or an inline one as `role/name`.
    Policy(String),
}

/// The requests booked against one scope (each attempt counts; `retries` of them were repeats),
/// and when its last answer came (from the run's start).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub calls: u32,
    pub retries: u32,
    pub done_after: Duration,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.calls += other.calls;
        self.retries += other.retries;
        self.done_after = self.done_after.max(other.done_after);
    }
}

/// One collection's calls, by scope, and its deadline.
#[derive(Debug)]
pub struct Ledger {
    started: Instant,
    pub deadline: tokio::time::Instant,
    scopes: Mutex<BTreeMap<Scope, Tally>>,
}

tokio::task_local! {
    static ASKING: (Arc<Ledger>, Scope);
}

impl Ledger {
    pub fn new(deadline: Duration) -> Arc<Ledger> {
        Arc::new(Ledger {
            started: Instant::now(),
            deadline: tokio::time::Instant::now() + deadline,
            scopes: Mutex::new(BTreeMap::new()),
        })
    }

    /// Runs `work` with its calls booked against `scope` of this ledger.
    pub async fn run<O>(self: &Arc<Ledger>, scope: Scope, work: impl Future<Output = O>) -> O {
        ASKING.scope((Arc::clone(self), scope), work).await
    }

    /// The ledger of the collection the current task works for, if any.
    pub fn current() -> Option<Arc<Ledger>> {
        ASKING.try_with(|(ledger, _)| Arc::clone(ledger)).ok()
    }

    /// Runs `work` with its calls booked against `scope` of the current collection's ledger.
    pub async fn within<O>(scope: Scope, work: impl Future<Output = O>) -> O {
        match Ledger::current() {
            Some(ledger) => ledger.run(scope, work).await,
            None => work.await,
        }
    }

    /// Books one request, as it is sent, against the current scope.
    pub fn book(retry: bool) {
        Ledger::update(|tally, _| {
            tally.calls += 1;
            tally.retries += u32::from(retry);
        });
    }

    /// Notes that an answer (or an error) came now for the current scope.
    pub fn answered() {
        Ledger::update(|tally, now| tally.done_after = tally.done_after.max(now));
    }

    fn update(change: impl FnOnce(&mut Tally, Duration)) {
        let _ = ASKING.try_with(|(ledger, scope)| {
            let now = ledger.started.elapsed();
            let mut scopes = ledger.scopes.lock().unwrap_or_else(|e| e.into_inner());
            change(scopes.entry(scope.clone()).or_default(), now);
        });
    }

    /// The calls of the given scopes together (each scope once), and when the last answered.
    pub fn cost<'a>(&self, scopes: impl IntoIterator<Item = &'a Scope>) -> Tally {
        let booked = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        let mut wanted: Vec<&Scope> = scopes.into_iter().collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut total = Tally::default();
        for scope in wanted {
            if let Some(tally) = booked.get(scope) {
                total.add(tally);
            }
        }
        total
    }

    /// Every call of the collection, and how long it has run.
    pub fn total(&self) -> Tally {
        let booked = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        Tally {
            calls: booked.values().map(|t| t.calls).sum(),
            retries: booked.values().map(|t| t.retries).sum(),
            done_after: self.started.elapsed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_questions_book_into_their_own_scopes() {
        let ledger = Ledger::new(Duration::from_secs(5));
        let vpc = |id: &str| Scope::Vpc(id.to_string());
        let asks = |n: u32| async move {
            for _ in 0..n {
                Ledger::book(false);
                tokio::task::yield_now().await;
                Ledger::answered();
            }
        };
        ledger
            .run(Scope::Run, async {
                Ledger::book(false);
                tokio::join!(
                    Ledger::within(vpc("a"), asks(3)),
                    Ledger::within(vpc("b"), asks(5)),
                );
            })
            .await;
        Ledger::book(true); // outside any collection: booked nowhere
        assert_eq!(ledger.cost([&Scope::Run, &vpc("a")]).calls, 4);
        assert_eq!(ledger.cost([&Scope::Run, &vpc("b"), &vpc("b")]).calls, 6);
        assert_eq!(ledger.total().calls, 9);
        assert_eq!(ledger.cost([&vpc("c")]), Tally::default());
        assert!(ledger.cost([&vpc("b")]).done_after <= ledger.total().done_after);
    }
}
