//! The AWS boundary: the only code that talks to AWS. It asks read-only questions, as many at once
//! as the data's dependencies allow, and records every answer as a [`Fetch`] so that a denied or
//! failed call becomes evidence for the checks instead of an abort.

mod console;
mod dns;
mod documents;
mod ec2;
mod guard;
mod iam;
mod ledger;
mod operator;
mod select;
mod sent;
mod session;
mod ssm;
mod task;

use crate::exit::Exit;
use crate::facts::{
    AgentInfo, AwsFacts, Caller, Console, FACTS_SCHEMA_VERSION, Facts, Fetch, IamFacts,
    NetworkFacts, OperatorFacts, SessionFacts, Target,
};
use crate::text::one_line;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use futures::future::join_all;
pub use guard::POLICY;
pub use ledger::Tally;
use ledger::{Ledger, Scope};
pub use select::Selection;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
pub use task::Reader;

/// How to reach AWS; everything else comes from the SDK's usual chain (env, profiles, SSO, IMDS).
#[derive(Debug, Clone)]
pub struct Settings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub max_attempts: u32,
    pub timeout: Duration,
    /// For the whole collection: what has not arrived by then is reported as timed out.
    pub deadline: Duration,
    /// Whether to read the caller's own policies (the operator's side); off for a run from an
    /// instance role or CI, where nobody starts a session.
    pub operator: bool,
    /// Whether to read what only a Session Manager diagnosis needs (off for `param`, `patch`).
    pub session_manager: bool,
}

/// The longest pause between two attempts: an on-call engineer waits on every one of them.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Requests in flight at once: enough to hide latency, few enough not to invite throttling.
const CONCURRENCY: usize = 32;

/// Why no diagnosis could start: no usable identity or region (every call would fail), or the
/// instances to diagnose could not be listed.
#[derive(Debug)]
pub enum SetupError {
    NoRegion,
    Credentials(String),
    Unreachable { region: String, detail: String },
    Selection(String),
}

impl SetupError {
    /// Configuration the user must fix, or AWS could not answer which instances to check.
    pub fn exit(&self) -> Exit {
        match self {
            SetupError::NoRegion | SetupError::Credentials(_) | SetupError::Unreachable { .. } => {
                Exit::Usage
            }
            SetupError::Selection(_) => Exit::Incomplete,
        }
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::NoRegion => write!(
                f,
                "no AWS region is configured: pass --region (e.g. --region eu-west-1), set AWS_REGION, \
                 or set a region in your profile"
            ),
            SetupError::Credentials(detail) => write!(
                f,
                "no usable AWS credentials ({detail}). Set AWS_PROFILE or pass --profile, run \
                 `aws sso login` if your SSO session expired, or export AWS_ACCESS_KEY_ID / \
                 AWS_SECRET_ACCESS_KEY"
            ),
            SetupError::Unreachable { region, detail } => write!(
                f,
                "cannot reach the AWS API in region {region:?} ({detail}). Check --region (e.g. \
                 eu-west-1), your network or proxy (HTTPS_PROXY), and AWS_ENDPOINT_URL if set"
            ),
            SetupError::Selection(problem) => {
                write!(f, "cannot list the instances to diagnose: {problem}")
            }
        }
    }
}

impl std::error::Error for SetupError {}

/// The SDK clients, a concurrency limit and a count of calls made, shared by the per-service
/// collectors. One `Aws` serves any number of collections, one after another or at once.
pub struct Aws {
    autoscaling: aws_sdk_autoscaling::Client,
    ec2: aws_sdk_ec2::Client,
    ssm: aws_sdk_ssm::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    s3: aws_sdk_s3::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    kms: aws_sdk_kms::Client,
    route53: aws_sdk_route53::Client,
    resolver: aws_sdk_route53resolver::Client,
    profiles: aws_sdk_route53profiles::Client,
    region: String,
    sent: Arc<sent::Sent>,
    limit: tokio::sync::Semaphore,
    /// Each collection's own: what has not arrived this long after it started is timed out.
    deadline: Duration,
    observe_operator: bool,
    /// Whether its collections read what only Session Manager needs (the session preferences,
    /// the console of an offline agent, the connection status); off for `param` and `patch`.
    session_manager: bool,
    /// Policy documents by version, shipped or read by an earlier collection.
    documents: documents::Documents,
}

/// The error every call still waiting when `--deadline` expires ends with.
#[derive(Debug)]
struct DeadlineExpired(u64);

impl fmt::Display for DeadlineExpired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out after {} s (--deadline)", self.0)
    }
}

impl std::error::Error for DeadlineExpired {}

impl Aws {
    pub async fn connect(settings: &Settings) -> Result<Aws, SetupError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            // Standard retry with a short ceiling on back-off: a throttled call is retried soon or
            // reported, never left to stall an interactive run for tens of seconds.
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(settings.max_attempts.max(1))
                    .with_max_backoff(MAX_BACKOFF),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(settings.timeout)
                    .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
                    .build(),
            );
        if let Some(region) = &settings.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        let config = loader.load().await;
        let region = config.region().ok_or(SetupError::NoRegion)?.to_string();
        let mut aws = Aws::with_config(&config, region, settings.deadline);
        aws.observe_operator = settings.operator;
        aws.session_manager = settings.session_manager;
        Ok(aws)
    }

    /// Every client carries the [`guard::Guard`]: no call outside the least-privilege policy leaves.
    fn with_config(config: &aws_config::SdkConfig, region: String, deadline: Duration) -> Aws {
        let counted = Arc::new(sent::Sent::default());
        macro_rules! guarded {
            ($sdk:ident) => {
                guarded!($sdk, |builder| builder)
            };
            ($sdk:ident, $adjust:expr) => {
                $sdk::Client::from_conf(
                    $adjust($sdk::config::Builder::from(config))
                        .interceptor(guard::Guard)
                        .interceptor(sent::Counting(Arc::clone(&counted)))
                        .retry_classifier(guard::RetryIncomplete)
                        .build(),
                )
            };
        }
        // An emulator or S3-compatible endpoint answers on one host: a bucket cannot be a
        // subdomain of it.
        let custom_s3 =
            config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        Aws {
            autoscaling: guarded!(aws_sdk_autoscaling),
            ec2: guarded!(aws_sdk_ec2),
            ssm: guarded!(aws_sdk_ssm),
            iam: guarded!(aws_sdk_iam),
            sts: guarded!(aws_sdk_sts),
            s3: guarded!(aws_sdk_s3, |b: aws_sdk_s3::config::Builder| b
                .force_path_style(custom_s3)),
            logs: guarded!(aws_sdk_cloudwatchlogs),
            kms: guarded!(aws_sdk_kms),
            route53: guarded!(aws_sdk_route53),
            resolver: guarded!(aws_sdk_route53resolver),
            profiles: guarded!(aws_sdk_route53profiles),
            region,
            sent: counted,
            limit: tokio::sync::Semaphore::new(CONCURRENCY),
            deadline,
            observe_operator: true,
            session_manager: true,
            documents: documents::Documents::default(),
        }
    }

    /// The error of a call still unanswered when the run's deadline expires.
    fn expired<E>(&self) -> SdkError<E, HttpResponse> {
        SdkError::timeout_error(DeadlineExpired(self.deadline.as_secs()))
    }

    /// Runs `work` under the concurrency limit and the run's deadline; `expired` is its result
    /// when the deadline comes first.
    async fn limited<O>(&self, work: impl Future<Output = O>, expired: impl FnOnce() -> O) -> O {
        let deadline = Ledger::current().map_or_else(
            || tokio::time::Instant::now() + self.deadline,
            |ledger| ledger.deadline,
        );
        let bounded = tokio::time::timeout_at(deadline, async {
            let _permit = self
                .limit
                .acquire()
                .await
                .expect("the semaphore is never closed");
            work.await
        });
        bounded.await.unwrap_or_else(|_| expired())
    }

    /// Runs one API operation (its requests are counted as they are sent, see [`sent`]).
    #[allow(clippy::result_large_err)] // the SDK's own error type, passed through
    async fn call<T, E, F>(&self, request: F) -> Result<T, SdkError<E, HttpResponse>>
    where
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let timed = async {
            let answer = request.await;
            Ledger::answered();
            answer
        };
        self.limited(timed, || Err(self.expired())).await
    }

    /// Awaits one page of a paginator: a call when it yields a page, none when the stream ends.
    async fn page<T, E, F>(&self, next: F) -> Option<Result<T, SdkError<E, HttpResponse>>>
    where
        F: Future<Output = Option<Result<T, SdkError<E, HttpResponse>>>>,
    {
        let timed = async {
            let page = next.await;
            if page.is_some() {
                Ledger::answered();
            }
            page
        };
        self.limited(timed, || Some(Err(self.expired()))).await
    }

    /// The regions enabled for the account (`ec2:DescribeRegions`), for `--region all`.
    pub async fn enabled_regions(&self) -> Result<Vec<String>, SetupError> {
        match self.call(self.ec2.describe_regions().send()).await {
            Ok(out) => {
                let mut names: Vec<String> = out
                    .regions()
                    .iter()
                    .filter_map(|r| r.region_name().map(str::to_string))
                    .collect();
                names.sort();
                Ok(names)
            }
            Err(e) => {
                let missing: Fetch<()> = failure("ec2:DescribeRegions", e);
                Err(SetupError::Selection(format!(
                    "the enabled regions (--region all): {}",
                    missing.problem().unwrap_or_default()
                )))
            }
        }
    }

    /// The region its clients ask.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Whether its collections read the operator's side.
    pub fn observes_operator(&self) -> bool {
        self.observe_operator
    }

    /// Requests sent so far by every collection of this `Aws`, retries included.
    pub fn api_calls(&self) -> u32 {
        self.sent.requests()
    }

    /// Gathers the facts of every selected instance, each with the calls its facts cost and when
    /// its last answer came; `total` is the whole collection's. Callable again and again (watch
    /// mode): each collection has its own deadline and its own count.
    pub async fn collect(
        &self,
        selection: &Selection,
        document: &str,
    ) -> Result<Collected, SetupError> {
        let ledger = Ledger::new(self.deadline);
        let facts = ledger
            .run(Scope::Run, self.gather(selection, document))
            .await?;
        let instances = facts
            .into_iter()
            .map(|f| {
                let cost = ledger.cost(&scopes_of(&f));
                (f, cost)
            })
            .collect();
        Ok(Collected {
            instances,
            total: ledger.total(),
        })
    }

    /// Questions are batched: one selection call, agents by chunks of ids, each VPC's network
    /// objects once, each profile, role and policy once, the session document and what it names
    /// once.
    async fn gather(
        &self,
        selection: &Selection,
        document: &str,
    ) -> Result<Vec<Facts>, SetupError> {
        let explicit = selection.asg.is_none() && !selection.instance_ids.is_empty();
        // Round 1: who we are, which instances, DHMC; the agents too when the ids are known already.
        let (caller, selected, dhmc, early_agents) =
            tokio::join!(self.caller(), self.select(selection), self.dhmc(), async {
                match explicit {
                    true => Some(self.agents(&selection.instance_ids).await),
                    false => None,
                }
            },);
        if let Some(problem) = setup_problem(&caller, &self.region) {
            return Err(problem);
        }
        let account = caller.value().map(|c| c.account.clone());
        // The operator's facts (one copy for every instance); with the simulator's answers once
        // the instances are known.
        let operator = |session| async move {
            match self.observe_operator {
                true => Some(Arc::new(self.operator(caller, session).await)),
                false => None,
            }
        };
        let selected = match selected {
            Fetch::Collected { value } => value,
            other if explicit => {
                // When the instances themselves cannot be read, each asked-for id gets a report
                // of errors: what the instance's denial or failure hides is unknown for that reason.
                let cause = other
                    .absent()
                    .unwrap_or_else(|| Fetch::not_applicable("not collected"));
                let (operator, session) =
                    tokio::join!(operator(None), Box::pin(self.session_facts(document)));
                let session = Arc::new(session);
                let facts = selection.instance_ids.iter().map(|id| {
                    let aws = AwsFacts {
                        instance: other.as_ref().map(|_| None),
                        dhmc: dhmc.clone(),
                        session: session.clone(),
                        ..AwsFacts::unknown_because(&cause)
                    };
                    self.facts(id, document, aws, &operator, &account)
                });
                return Ok(facts.collect());
            }
            other => {
                return Err(SetupError::Selection(other.problem().unwrap_or_default()));
            }
        };
        let mut instances = selected.found;
        // The agents decide which instances go on only with --unmanaged; otherwise they are asked
        // alongside the rest, saving a round trip.
        let early_agents = match (early_agents, selection.unmanaged) {
            (None, true) => Some(self.agents(&ids_of(&instances)).await),
            (agents, _) => agents,
        };
        if let (Some(agents), true) = (&early_agents, selection.unmanaged) {
            instances.retain(|i| !agents.is_online(&i.instance_id));
        }
        let ids = ids_of(&instances);
        let vpcs: BTreeSet<&str> = instances
            .iter()
            .filter_map(|i| i.vpc_id.as_deref())
            .collect();
        let vpcs: Vec<&str> = vpcs.into_iter().collect();
        let accounts: BTreeSet<&str> = instances
            .iter()
            .filter_map(|i| i.owner_account.as_deref())
            .collect();
        let profiles: BTreeSet<&str> = instances
            .iter()
            .filter_map(|i| i.instance_profile_arn.as_deref())
            .collect();
        // Every profile and every VPC once, all at the same time. IAM goes first: its chain of
        // dependent calls is the longest, so its first calls must not queue behind the VPCs' fan-out.
        // DHMC's role matters only to instances without a profile.
        let dhmc_role = match instances.iter().any(|i| i.instance_profile_arn.is_none()) {
            true => dhmc.value().and_then(|d| d.role.as_deref()),
            false => None,
        };
        let one = match instances.as_slice() {
            [only] => Some(only),
            _ => None,
        };
        // IAM's own answer on the operator's requests follows their user or role, and the
        // consoles of the agents that are not Online follow the agents: each chain runs beside
        // the others, so none waits for a round it does not depend on.
        let simulated = operator(Some((one, document)));
        let agents_and_consoles = async {
            let agents = match early_agents {
                Some(agents) => agents,
                None => self.agents(&ids).await,
            };
            let (consoles, connections) = match self.session_manager {
                true => {
                    tokio::join!(
                        self.consoles(&instances, &agents),
                        self.connections(&instances, &agents)
                    )
                }
                false => (BTreeMap::new(), BTreeMap::new()),
            };
            (agents, consoles, connections)
        };
        // The session document's chain (document, key, key policy) runs beside IAM's.
        let ((iam, dhmc_iam), networks, (agents, mut consoles, mut connections), operator, session) = tokio::join!(
            self.iam_for_profiles(profiles, dhmc_role),
            self.networks(&vpcs, &accounts),
            agents_and_consoles,
            simulated,
            // The S3, Logs and KMS futures are large: on the heap, not in this one's state.
            Box::pin(self.session_facts(document)),
        );
        // Each VPC's, role's and the run's facts are held once, whatever the number of instances.
        let (networks, iam) = (shared(networks), shared(iam));
        let dhmc_iam = dhmc_iam.map(Arc::new);
        let session = Arc::new(session);
        let mut facts: Vec<Facts> = instances
            .into_iter()
            .map(|i| {
                let id = i.instance_id.clone();
                let aws = AwsFacts {
                    agent: agents.for_instance(&i.instance_id),
                    dhmc: dhmc.clone(),
                    network: match &i.vpc_id {
                        Some(v) => networks[v].clone(),
                        None => Arc::new(NetworkFacts::unknown("the instance is not in a VPC")),
                    },
                    iam: match (&i.instance_profile_arn, &dhmc_iam) {
                        (Some(p), _) => iam[p].clone(),
                        (None, Some(dhmc)) => dhmc.clone(),
                        (None, None) => Arc::new(match dhmc.as_ref().take() {
                            Ok(_) => IamFacts::unknown("no instance profile is attached"),
                            // Whether DHMC hands out a role is unknown: so is the role.
                            Err(cause) => IamFacts {
                                instance_profile: Fetch::not_applicable(
                                    "no instance profile is attached",
                                ),
                                ..IamFacts::unknown_because(&cause)
                            },
                        }),
                    },
                    console: consoles
                        .remove(&i.instance_id)
                        .unwrap_or_else(|| Fetch::not_applicable("not read")),
                    connection: connections
                        .remove(&i.instance_id)
                        .unwrap_or_else(|| Fetch::not_applicable("not asked")),
                    instance: Fetch::collected(Some(i)),
                    session: session.clone(),
                };
                self.facts(&id, document, aws, &operator, &account)
            })
            .collect();
        // Asked-for ids that do not exist still get a report, saying so.
        facts.extend(selected.missing.iter().map(|id| {
            let aws = AwsFacts {
                instance: Fetch::collected(None),
                agent: agents.for_instance(id),
                dhmc: dhmc.clone(),
                network: Arc::new(NetworkFacts::unknown("the instance was not found")),
                iam: Arc::new(IamFacts::unknown("the instance was not found")),
                session: session.clone(),
                console: Fetch::not_applicable("the instance was not found"),
                connection: Fetch::not_applicable("the instance was not found"),
            };
            self.facts(id, document, aws, &operator, &account)
        }));
        Ok(facts)
    }

    /// The session preferences, when this collection is about Session Manager.
    async fn session_facts(&self, document: &str) -> SessionFacts {
        match self.session_manager {
            true => self.session(document).await,
            false => {
                SessionFacts::unknown_because(&Fetch::not_applicable("not read by this command"))
            }
        }
    }

    /// A follow-up read of some of the instances SSM answered for, `read` for each: those `rank`
    /// gives a place (lowest first), at most `limit` of them; the others are named not read
    /// (`skipped` says why), and what the agents' answer hides is unknown for its reason.
    async fn follow_up<T, F>(
        &self,
        instances: &[crate::facts::Instance],
        agents: &ssm::Agents,
        (limit, rank, skipped): (usize, Rank, &str),
        read: impl Fn(String) -> F,
    ) -> BTreeMap<String, Fetch<T>>
    where
        F: std::future::Future<Output = (String, Fetch<T>)>,
    {
        let mut out = BTreeMap::new();
        let mut wanted = Vec::new();
        for i in instances {
            let id = i.instance_id.clone();
            match agents.for_instance(&id) {
                Fetch::Collected { value } => match rank(value.as_ref()) {
                    Some(place) => wanted.push((place, id)),
                    None => {
                        let why = match value {
                            Some(a) => format!("SSM lists the agent {}", a.ping_status),
                            None => "SSM does not know the instance".to_string(),
                        };
                        out.insert(id, Fetch::not_applicable(why));
                    }
                },
                unknown => {
                    let cause = unknown.absent();
                    out.insert(
                        id,
                        cause.unwrap_or_else(|| Fetch::not_applicable("not read")),
                    );
                }
            }
        }
        wanted.sort_by_key(|(place, _)| *place);
        let rest = wanted.split_off(limit.min(wanted.len()));
        out.extend(
            rest.into_iter()
                .map(|(_, id)| (id, Fetch::not_applicable(skipped))),
        );
        out.extend(join_all(wanted.into_iter().map(|(_, id)| read(id))).await);
        out
    }

    /// The serial console of each instance SSM knows and does not list as Online (the first
    /// [`CONSOLES`] of them).
    async fn consoles(
        &self,
        instances: &[crate::facts::Instance],
        agents: &ssm::Agents,
    ) -> BTreeMap<String, Fetch<Console>> {
        let rank: Rank = |a| a.is_none_or(|a| a.ping_status != "Online").then_some(0);
        let skipped = format!("not read: more than {CONSOLES} instances are offline in this run");
        self.follow_up(
            instances,
            agents,
            (CONSOLES, rank, &skipped),
            |id| async move {
                let console = self.console(&id).await;
                (id, console)
            },
        )
        .await
    }

    /// Session Manager's connection status of the instances SSM knows, those not Online first
    /// (at most [`CONSOLES`]: one call each).
    async fn connections(
        &self,
        instances: &[crate::facts::Instance],
        agents: &ssm::Agents,
    ) -> BTreeMap<String, Fetch<String>> {
        let rank: Rank = |a| a.map(|a| u8::from(a.ping_status == "Online"));
        let skipped = format!("not asked: more than {CONSOLES} instances in this run");
        self.follow_up(
            instances,
            agents,
            (CONSOLES, rank, &skipped),
            |id| async move {
                let status = self.connection(&id).await;
                (id, status)
            },
        )
        .await
    }

    /// One instance's facts as this collection saw them: through the APIs and as the operator.
    fn facts(
        &self,
        instance_id: &str,
        document: &str,
        aws: AwsFacts,
        operator: &Option<Arc<OperatorFacts>>,
        account: &Option<String>,
    ) -> Facts {
        Facts {
            schema_version: FACTS_SCHEMA_VERSION,
            target: Target {
                instance_id: instance_id.to_string(),
                region: self.region.clone(),
                document: document.to_string(),
                account: account.clone(),
                forward: None,
            },
            aws: Some(aws),
            operator: operator.clone(),
            instance: None,
            task: None,
        }
    }

    async fn caller(&self) -> Fetch<Caller> {
        match self.call(self.sts.get_caller_identity().send()).await {
            Ok(out) => match (out.account(), out.arn()) {
                (Some(account), Some(arn)) => Fetch::collected(Caller {
                    account: account.to_string(),
                    arn: arn.to_string(),
                    user_id: out.user_id().map(str::to_string),
                }),
                _ => incomplete(
                    "sts:GetCallerIdentity",
                    Missing("the Account or Arn".into()),
                ),
            },
            Err(e) => failure("sts:GetCallerIdentity", e),
        }
    }
}

/// Where an instance comes in a follow-up read, by what SSM knows of its agent; `None`: not read.
type Rank = fn(Option<&AgentInfo>) -> Option<u8>;

/// Consoles read (and connection statuses asked) in one run at most: each is a call of its own, so
/// a fleet run reads a few and names the rest as not read (a one-instance run reads its own).
const CONSOLES: usize = 10;

/// What one collection gathered: each instance's facts with what they cost, and the whole's cost.
pub struct Collected {
    pub instances: Vec<(Facts, Tally)>,
    pub total: Tally,
}

/// The scopes an instance's facts were answered in: the run's, its VPC's, its profile's and
/// role's, and each policy of its role.
fn scopes_of(facts: &Facts) -> Vec<Scope> {
    let mut scopes = vec![Scope::Run];
    let Some(aws) = &facts.aws else {
        return scopes;
    };
    if let Some(instance) = aws.ec2_instance() {
        if let Some(vpc) = &instance.vpc_id {
            scopes.extend([Scope::Vpcs, Scope::Vpc(vpc.clone())]);
        }
        let lists = aws.network.prefix_lists.keys();
        scopes.extend(lists.map(|id| Scope::PrefixList(id.clone())));
        scopes.extend(instance.instance_profile_arn.clone().map(Scope::Profile));
    }
    let iam = &aws.iam;
    // The role the profile names, even when reading it was refused; without a profile, DHMC's.
    let mut role_names: Vec<String> = iam
        .instance_profile
        .value()
        .and_then(Option::as_ref)
        .map(|p| p.role_names.clone())
        .unwrap_or_default();
    let profile_less = aws
        .ec2_instance()
        .is_some_and(|i| i.instance_profile_arn.is_none());
    if let (true, Some(dhmc)) = (
        profile_less,
        aws.dhmc.value().and_then(|d| d.role.as_deref()),
    ) {
        role_names.push(dhmc.rsplit('/').next().unwrap_or(dhmc).to_string());
    }
    for role in &role_names {
        scopes.push(Scope::Role(role.clone()));
        for policy in iam.inline_policies.value().into_iter().flatten() {
            scopes.push(Scope::Policy(format!("{role}/{}", policy.name)));
        }
    }
    if let Some(role) = iam.role.value() {
        scopes.extend(role.permissions_boundary_arn.clone().map(Scope::Policy));
    }
    let policies = iam.attached_policies.value().into_iter().flatten();
    scopes.extend(policies.filter_map(|p| p.arn.clone()).map(Scope::Policy));
    scopes
}

fn shared<T>(each: BTreeMap<String, T>) -> BTreeMap<String, Arc<T>> {
    each.into_iter().map(|(k, v)| (k, Arc::new(v))).collect()
}

fn ids_of(instances: &[crate::facts::Instance]) -> Vec<String> {
    instances.iter().map(|i| i.instance_id.clone()).collect()
}

/// Error codes AWS services use for "this caller may not do that".
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
];

/// Error codes that mean the credentials themselves are bad, whatever the call.
const CREDENTIAL_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "UnrecognizedClientException",
    "MissingAuthenticationToken",
    "RequestTimeTooSkewed",
    "AuthFailure",
    "InvalidAccessKeyId",
    "RequestExpired",
];

/// Maps an SDK error to `Denied` or `Failed`, keeping the service's code and message. A denial is
/// a denied code, or any HTTP 403 whose code does not say the credentials themselves are bad: some
/// front ends answer a denial in a wrapper the SDK cannot read.
fn failure<T, E>(action: &str, err: SdkError<E, HttpResponse>) -> Fetch<T>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let action = action.to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let (code, message) = match err.as_service_error() {
        Some(service) => (service.code(), service.message()),
        None => (None, None),
    };
    let bad_credentials = code.is_some_and(|c| CREDENTIAL_CODES.contains(&c));
    if code.is_some_and(|c| DENIED_CODES.contains(&c)) || (status == Some(403) && !bad_credentials)
    {
        let message = message.map_or_else(|| "HTTP 403".to_string(), |m| one_line(m, 300));
        return Fetch::Denied { action, message };
    }
    if let Some(expired) =
        std::error::Error::source(&err).and_then(|s| s.downcast_ref::<DeadlineExpired>())
    {
        return Fetch::Failed {
            action,
            reason: expired.to_string(),
        };
    }
    let reason = match (code, message) {
        (Some(code), message) => {
            format!("{code}: {}", one_line(message.unwrap_or("no message"), 300))
        }
        _ => readable(&DisplayErrorContext(&err).to_string()),
    };
    Fetch::Failed { action, reason }
}

/// What a credential helper printed to say why it failed can hold the very secrets it handles (a
/// token, a password prompt's echo): the SDK quotes it after these markers, and it is never shown.
const HELPER_OUTPUT_MARKERS: &[&str] = &["Stderr:", "could not parse response:"];

/// The guard's own words, which the SDK wraps in "response error: … interceptor encountered an
/// error: …": what follows them is the whole story.
const GUARD_WORDS: &[&str] = &[guard::INCOMPLETE, "refused to call "];

/// The SDK's error chain, minus the multi-line provider list and the trailing `Debug` dump that
/// `DisplayErrorContext` appends, minus the wrapping around the guard's words, and minus any
/// credential helper's own output: one line a person can act on.
fn readable(chain: &str) -> String {
    let chain = GUARD_WORDS
        .iter()
        .find_map(|words| chain.find(words).map(|at| &chain[at..]))
        .unwrap_or(chain);
    let mut chain = chain.to_string();
    for marker in HELPER_OUTPUT_MARKERS {
        if let Some(at) = chain.find(marker) {
            chain.truncate(at + marker.len());
            chain.push_str(" (not shown: it may contain secrets)");
        }
    }
    let chain = chain.as_str();
    let first = chain.lines().next().unwrap_or(chain);
    let bytes = first.as_bytes();
    let debug_start = (0..bytes.len().saturating_sub(3)).find(|&i| {
        bytes[i] == b' '
            && bytes[i + 1] == b'('
            && bytes[i + 2].is_ascii_uppercase()
            && first[i + 2..]
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .is_some_and(|word| first[i + 2 + word.len()..].starts_with('('))
    });
    let text = &first[..debug_start.unwrap_or(first.len())];
    text.trim_end()
        .trim_end_matches("Attempted:")
        .trim_end()
        .to_string()
}

/// How connection failures read in the SDK's error chain (hyper, the resolver, the OS).
const UNREACHABLE_SIGNS: &[&str] = &[
    "dns error",
    "failed to lookup address",
    "connection refused",
    "tcp connect error",
    "connect timeout",
    "timed out while connecting",
    "network is unreachable",
    "no route to host",
];

/// The identity call cannot be refused by IAM, so when it fails no other call will succeed either:
/// the credentials are unusable, or the API is out of reach (a mistyped region, no network).
fn setup_problem(caller: &Fetch<Caller>, region: &str) -> Option<SetupError> {
    let Fetch::Failed { reason, .. } = caller else {
        return None;
    };
    let lower = reason.to_ascii_lowercase();
    let bad_code = CREDENTIAL_CODES
        .iter()
        .any(|c| reason.starts_with(&format!("{c}:")));
    let no_provider =
        lower.contains("credential") || lower.contains("sso") || lower.contains("token");
    if bad_code || no_provider {
        return Some(SetupError::Credentials(reason.clone()));
    }
    // Only a failure to connect at all means the API is out of reach; a slow or reset answer is a
    // fault of that one call, and the run goes on to report what it can.
    let unreachable = lower.starts_with("dispatch failure")
        && UNREACHABLE_SIGNS.iter().any(|sign| lower.contains(sign));
    unreachable.then(|| SetupError::Unreachable {
        region: region.to_string(),
        detail: reason.clone(),
    })
}

/// A field the checks rely on that an answer lacked: the answer was cut short or malformed, so the
/// value is unknown, never taken as "off" or "empty".
#[derive(Debug)]
struct Missing(String);

fn required<T>(value: Option<T>, what: &str) -> Result<T, Missing> {
    value.ok_or_else(|| Missing(what.to_string()))
}

fn incomplete<T>(action: &str, missing: Missing) -> Fetch<T> {
    Fetch::Failed {
        action: action.to_string(),
        reason: format!("{}{} is missing", guard::INCOMPLETE, missing.0),
    }
}

/// IAM hands out policy documents URL-encoded; some emulators and older APIs send them plain.
fn decode_policy(action: &str, raw: &str) -> Fetch<serde_json::Value> {
    let text = if raw.trim_start().starts_with('{') {
        raw.to_string()
    } else {
        match percent_encoding::percent_decode_str(raw).decode_utf8() {
            Ok(t) => t.into_owned(),
            Err(e) => {
                return Fetch::Failed {
                    action: action.to_string(),
                    reason: format!("policy document is not valid URL-encoded UTF-8: {e}"),
                };
            }
        }
    };
    match serde_json::from_str(&text) {
        Ok(v) => Fetch::collected(v),
        Err(e) => Fetch::Failed {
            action: action.to_string(),
            reason: format!("policy document is not valid JSON: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_counts_the_scopes_its_facts_came_from() {
        let text = include_str!("../../fixtures/healthy-private-endpoints.json");
        let facts = crate::facts::parse_snapshot(text.as_bytes())
            .unwrap()
            .0
            .remove(0);
        let scopes = scopes_of(&facts);
        let profile = "arn:aws:iam::111122223333:instance-profile/app";
        let core = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
        for expected in [
            Scope::Run,
            Scope::Vpc("vpc-1".into()),
            Scope::Profile(profile.into()),
            Scope::Role("app-role".into()),
            Scope::Policy(core.into()),
        ] {
            assert!(scopes.contains(&expected), "{expected:?} not in {scopes:?}");
        }
        // A role that could not be read still counts its calls, by the name its profile gives.
        let mut denied = facts.clone();
        denied.aws_mut().iam_mut().role = Fetch::Denied {
            action: "iam:GetRole".into(),
            message: "no".into(),
        };
        assert!(scopes_of(&denied).contains(&Scope::Role("app-role".into())));
        // Another VPC's or profile's scopes are not this instance's.
        assert!(
            !scopes
                .iter()
                .any(|s| matches!(s, Scope::Vpc(v) if v != "vpc-1"))
        );
    }

    #[test]
    fn policy_documents_are_url_decoded() {
        let raw = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        let doc = decode_policy("iam:GetRolePolicy", raw);
        assert_eq!(doc.value().unwrap()["Version"], "2012-10-17");
        assert!(
            decode_policy("iam:GetRolePolicy", "{\"a\":1}")
                .value()
                .is_some()
        );
        assert!(matches!(
            decode_policy("x", "%7Bnot json"),
            Fetch::Failed { .. }
        ));
    }

    #[test]
    fn sdk_error_chains_are_shortened_to_one_line() {
        let chain = "dispatch failure: other: no credentials found in chain. Attempted:\n  Environment: not set (DispatchFailure(DispatchFailure { source: x }))";
        assert_eq!(
            readable(chain),
            "dispatch failure: other: no credentials found in chain."
        );
        let cut = "response error: ssm-doctor read-only guard read_after_deserialization \
                   interceptor encountered an error: incomplete answer: the body is empty \
                   (ResponseError(ResponseError { x }))";
        assert_eq!(readable(cut), "incomplete answer: the body is empty");
        let refused = "dispatch failure: io error: Connection refused (os error 111) (DispatchFailure(DispatchFailure { x }))";
        assert_eq!(
            readable(refused),
            "dispatch failure: io error: Connection refused (os error 111)"
        );
    }

    #[test]
    fn credential_failures_are_recognised() {
        let failed = |reason: &str| Fetch::<Caller>::Failed {
            action: "sts:GetCallerIdentity".into(),
            reason: reason.into(),
        };
        let problem = |reason: &str| setup_problem(&failed(reason), "eu-west-1");
        let expired =
            problem("ExpiredToken: The security token included in the request is expired");
        assert!(matches!(expired, Some(SetupError::Credentials(_))));
        let none = problem("dispatch failure: no credentials in the chain");
        assert!(matches!(none, Some(SetupError::Credentials(_))));
        let refused = problem("dispatch failure: io error: dns error: failed to lookup address");
        assert!(matches!(refused, Some(SetupError::Unreachable { .. })));
        assert!(problem("InternalFailure: try again").is_none());
    }
}
