//! The one way from a source of facts to reports: gather (or load), judge each instance, count what
//! it cost. Callable again and again — a watch re-runs it every few seconds — since every call has
//! its own counts, durations and deadline. The CLI only wires arguments to it and renders.

use crate::checks::{self, Reference};
use crate::collect::{Aws, Selection, SetupError, Tally};
use crate::facts::{DEFAULT_DOCUMENT, Facts, Fetch, Forward, OperatorFacts};
use crate::probe;
use crate::report::{Report, Stats};
use std::sync::Arc;
use std::time::Instant;

/// Where the facts come from.
pub enum Source<'a> {
    /// Ask AWS about the selected instances.
    Aws {
        aws: &'a Aws,
        selection: &'a Selection,
    },
    /// Facts saved earlier (`--save-facts`): judged again, nothing asked. `fleet` when the file
    /// held a fleet and a fleet report is wanted.
    Snapshot { facts: Vec<Facts>, fleet: bool },
}

/// The session the operator means to open: what the checks judge reachability for.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// `--document`; `None` keeps the facts' (the shell's, or what a snapshot was saved with).
    pub document: Option<String>,
    /// `--forward HOST:PORT`: the remote host a port-forwarding session will reach.
    pub forward: Option<(String, u16)>,
    /// How the operator's network path is probed.
    pub network: probe::net::Reaching,
}

/// One run's facts, each with what it cost (the calls its facts came from, however many
/// instances shared them); `stats` are the whole run's. Reports are judged from them when asked.
pub struct Diagnosis {
    pub instances: Vec<(Facts, Stats)>,
    pub fleet: bool,
    pub stats: Stats,
    /// What the user supplied besides the facts (`--ip-ranges`).
    pub reference: Reference,
}

impl Diagnosis {
    /// Several regions' diagnoses as one fleet: every instance, and the calls of them all (the
    /// regions were asked at once: the run took as long as the slowest; the caller, who started
    /// it, may know better).
    pub fn merged(parts: Vec<Diagnosis>) -> Diagnosis {
        let mut stats = Stats::default();
        let mut instances = vec![];
        for part in parts {
            stats.api_calls += part.stats.api_calls;
            stats.retries += part.stats.retries;
            stats.duration_ms = stats.duration_ms.max(part.stats.duration_ms);
            instances.extend(part.instances);
        }
        Diagnosis {
            instances,
            fleet: true,
            stats,
            reference: Reference::default(),
        }
    }
}

/// What a run answers: one instance's report, or a fleet's.
pub enum Answer<'a> {
    One(Box<Report>),
    Fleet(Fleet<'a>),
}

/// A fleet's instances, judged one at a time as their reports are read.
pub struct Fleet<'a> {
    instances: &'a [(Facts, Stats)],
    pub stats: &'a Stats,
    reference: &'a Reference,
}

impl<'a> Fleet<'a> {
    pub fn reports(&self) -> impl Iterator<Item = Report> + 'a {
        let reference = self.reference;
        self.instances
            .iter()
            .map(move |(facts, stats)| checks::judge(facts, stats.clone(), reference))
    }

    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }
}

/// The run's operator facts with what was probed on this machine, held once for every instance
/// (the collection gave them all the same).
fn with_probes(
    instances: &mut [(Facts, crate::collect::Tally)],
    machine: &Fetch<crate::facts::Machine>,
    network: Option<&Fetch<crate::facts::OperatorNetwork>>,
) {
    let mut done: Option<(Arc<OperatorFacts>, Arc<OperatorFacts>)> = None;
    for (facts, _) in instances {
        let Some(operator) = &mut facts.operator else {
            continue;
        };
        match &done {
            Some((before, after)) if Arc::ptr_eq(before, operator) => {
                *operator = Arc::clone(after);
            }
            _ => {
                let mut probed = OperatorFacts::clone(operator);
                probed.machine = machine.clone();
                if let Some(network) = network {
                    probed.network = network.clone();
                }
                let probed = Arc::new(probed);
                done = Some((Arc::clone(operator), Arc::clone(&probed)));
                *operator = probed;
            }
        }
    }
}

pub async fn diagnose(source: Source<'_>, session: &Session) -> Result<Diagnosis, SetupError> {
    let started = Instant::now();
    let (mut gathered, fleet, calls) = match source {
        Source::Aws { aws, selection } => {
            // The operator's machine is probed while AWS answers.
            let probing = aws.observes_operator().then(|| {
                std::thread::Builder::new()
                    .name("probe".into())
                    .spawn(probe::machine)
            });
            let document = session.document.as_deref().unwrap_or(DEFAULT_DOCUMENT);
            let path = probe::operator::Path {
                region: aws.region().to_string(),
                reaching: session.network.clone(),
                environment: |name| std::env::var(name).ok(),
            };
            // Probed beside the AWS calls; abandoned when they cannot start (nothing is judged).
            let reaching = aws
                .observes_operator()
                .then(|| tokio::spawn(async move { probe::operator::observe(&path).await }));
            let mut collected = aws.collect(selection, document).await?;
            let network = match reaching {
                Some(task) => Some(match task.await {
                    Ok(Ok(network)) => Fetch::collected(network),
                    Ok(Err(reason)) => Fetch::Failed {
                        action: "probing this machine's network path".into(),
                        reason,
                    },
                    Err(e) => Fetch::Failed {
                        action: "probing this machine's network path".into(),
                        reason: e.to_string(),
                    },
                }),
                None => None,
            };
            if let Some(probing) = probing {
                let machine = match probing.map(|thread| thread.join()) {
                    Ok(Ok(machine)) => Fetch::collected(machine),
                    Ok(Err(_)) => Fetch::Failed {
                        action: "probing this machine".into(),
                        reason: "the probe stopped unexpectedly".into(),
                    },
                    Err(e) => Fetch::Failed {
                        action: "probing this machine".into(),
                        reason: format!("cannot start a thread: {e}"),
                    },
                };
                with_probes(&mut collected.instances, &machine, network.as_ref());
            }
            let calls = collected.total;
            (collected.instances, selection.is_fleet(), calls)
        }
        Source::Snapshot { facts, fleet } => {
            let nothing_asked = facts.into_iter().map(|f| (f, Tally::default()));
            (nothing_asked.collect(), fleet, Tally::default())
        }
    };
    if let Some(document) = &session.document {
        for (facts, _) in &mut gathered {
            facts.target.document.clone_from(document);
        }
    }
    if let Some((host, port)) = &session.forward {
        let forward = Forward {
            host: host.clone(),
            port: *port,
            addresses: probe::resolve(host),
        };
        for (facts, _) in &mut gathered {
            facts.target.forward = Some(forward.clone());
        }
    }
    Ok(Diagnosis {
        instances: gathered
            .into_iter()
            .map(|(facts, cost)| (facts, stats(&cost, cost.done_after)))
            .collect(),
        fleet,
        stats: stats(&calls, started.elapsed()),
        reference: Reference::default(),
    })
}

pub fn stats(sent: &Tally, took: std::time::Duration) -> Stats {
    Stats {
        api_calls: sent.calls,
        retries: sent.retries,
        duration_ms: took.as_millis().try_into().unwrap_or(u64::MAX),
    }
}

impl Diagnosis {
    /// One named instance gets its own report; with `--unmanaged` it may have been left out
    /// (Online), and then the answer is the fleet's "no instance matched".
    pub fn answer(&self) -> Answer<'_> {
        match (self.fleet, self.instances.as_slice()) {
            (false, [(facts, stats)]) => Answer::One(Box::new(checks::judge(
                facts,
                stats.clone(),
                &self.reference,
            ))),
            (_, instances) => Answer::Fleet(Fleet {
                instances,
                stats: &self.stats,
                reference: &self.reference,
            }),
        }
    }

    pub fn facts(&self) -> impl Iterator<Item = &Facts> {
        self.instances.iter().map(|(facts, _)| facts)
    }
}
