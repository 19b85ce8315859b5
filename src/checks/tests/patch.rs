//! patch.* over fixture facts: a public instance in patch group `web`, patched by window
//! `mw-0123456789abcdef0` every Sunday.

use super::*;

pub const WINDOW: &str = "mw-0123456789abcdef0";
/// AWS's default baseline for Amazon Linux 2023, as its ARN.
const AWS_DEFAULT: &str = "arn:aws:ssm:eu-west-1:aws:patchbaseline/pb-0c10e657807c7a700";
const SERVICE_ROLE: &str = "patching-role";

fn ssm_trust() -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ssm.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
}

fn window(targets: Vec<Selector>) -> Window {
    Window {
        id: WINDOW.into(),
        name: Some("weekly-patching".into()),
        enabled: true,
        schedule: Some("cron(0 2 ? * SUN *)".into()),
        timezone: Some("UTC".into()),
        duration: Some(3),
        cutoff: Some(1),
        next_run: Some("2026-11-29T02:00Z".into()),
        start_date: None,
        end_date: None,
        targets: Fetch::collected(vec![WindowTarget {
            id: "wt-1".into(),
            name: Some("web".into()),
            targets,
        }]),
        tasks: Fetch::collected(vec![WindowTask {
            id: "wtask-1".into(),
            document: "AWS-RunPatchBaseline".into(),
            kind: "RUN_COMMAND".into(),
            targets: vec![selector("WindowTargetIds", "wt-1")],
            service_role: Some(format!("arn:aws:iam::{ACCOUNT}:role/{SERVICE_ROLE}")),
        }]),
    }
}

fn selector(key: &str, value: &str) -> Selector {
    Selector {
        key: key.into(),
        values: vec![value.into()],
    }
}

/// Public, Online, tagged `Patch Group=web`, targeted by an enabled window whose task runs as a
/// role that trusts Systems Manager; its last Install went well.
pub fn patched() -> Facts {
    let mut f = public_with_igw();
    f.operator = None;
    instance_mut(&mut f)
        .tags
        .as_mut()
        .unwrap()
        .insert("Patch Group".into(), "web".into());
    f.task = Some(Task::Patch(PatchFacts {
        asked_at: "2026-11-22T06:02:00Z".into(),
        patch_group: Some("web".into()),
        operating_system: Some("AMAZON_LINUX_2023".into()),
        windows: Fetch::collected(vec![window(vec![selector("tag:Patch Group", "web")])]),
        associations: Fetch::collected(vec![]),
        group_baseline: Fetch::collected(Some("pb-0123456789abcdef0".into())),
        default_baseline: Fetch::collected(AWS_DEFAULT.into()),
        baseline: Fetch::collected(Baseline {
            id: "pb-0123456789abcdef0".into(),
            name: Some("web-baseline".into()),
            operating_system: Some("AMAZON_LINUX_2023".into()),
            rules: vec!["CLASSIFICATION Security; approved 7 days after release".into()],
            approved: vec![],
            rejected: vec![],
        }),
        state: Fetch::collected(Some(PatchState {
            operation: "Install".into(),
            ended: Some("2026-11-15T02:40:00Z".into()),
            baseline_id: Some("pb-0123456789abcdef0".into()),
            installed: 42,
            installed_pending_reboot: 0,
            missing: 0,
            failed: 0,
        })),
        service_roles: BTreeMap::from([(
            SERVICE_ROLE.to_string(),
            Fetch::collected(Role {
                name: SERVICE_ROLE.into(),
                arn: format!("arn:aws:iam::{ACCOUNT}:role/{SERVICE_ROLE}"),
                trust_policy: ssm_trust(),
                permissions_boundary_arn: None,
                run_as: None,
            }),
        )]),
    }));
    f
}

pub fn patch_mut(f: &mut Facts) -> &mut PatchFacts {
    match &mut f.task {
        Some(Task::Patch(p)) => p,
        _ => panic!("a patching question"),
    }
}

pub fn window_mut(f: &mut Facts) -> &mut Window {
    &mut collected_mut(&mut patch_mut(f).windows)[0]
}

/// The window's target selects another patch group.
pub fn targets_db(f: &mut Facts) {
    collected_mut(&mut window_mut(f).targets)[0].targets = vec![selector("tag:Patch Group", "db")];
}

#[test]
fn a_patched_instance_passes_every_check_and_only_patch_checks_are_reported() {
    let report = run(&patched());
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "patch.managed",
            "patch.targeted",
            "patch.window",
            "patch.service-role",
            "patch.baseline",
            "patch.s3",
            "patch.last-run"
        ],
        "the order a reader follows"
    );
    let bad: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .map(|c| format!("{}: {}", c.id, c.message))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    let said = message(&report, "patch.targeted");
    assert!(
        said.contains(WINDOW) && said.contains("tag:Patch Group=web"),
        "{said}"
    );
    assert!(said.contains("next run 2026-11-29T02:00Z"), "{said}");
    assert!(message(&report, "patch.window").contains("2 h to start in"));
    assert!(message(&report, "patch.baseline").contains("web-baseline"));
    assert!(message(&report, "patch.last-run").contains("7 days ago"));
    assert_eq!(report.target.subject(), "patching i-0123456789abcdef0");
}

#[test]
fn a_window_targeting_a_tag_the_instance_lacks_fails_naming_it() {
    let mut f = patched();
    targets_db(&mut f);
    let report = run(&f);
    assert_eq!(fails(&report), set(&["patch.targeted"]));
    let said = message(&report, "patch.targeted");
    assert!(
        said.contains(&format!(
            "window {WINDOW}'s target wt-1 (tag:Patch Group=db)"
        )),
        "{said}"
    );
    assert!(
        said.contains("Patch Group=web"),
        "the instance's own tags: {said}"
    );
    for id in ["patch.window", "patch.service-role"] {
        assert_eq!(status(&report, id), Status::Skip, "{id}");
    }
    let fix = finding(&report, "patch.targeted")
        .remediation
        .as_ref()
        .unwrap();
    assert!(fix.cli.as_deref().unwrap().contains(WINDOW), "{fix:?}");
}

#[test]
fn a_disabled_window_fails() {
    let mut f = patched();
    window_mut(&mut f).enabled = false;
    window_mut(&mut f).next_run = None;
    let report = run(&f);
    assert_eq!(fails(&report), set(&["patch.targeted"]));
    let said = message(&report, "patch.targeted");
    assert!(said.contains("disabled") && said.contains(WINDOW), "{said}");
}

#[test]
fn other_ways_of_targeting_are_understood() {
    // The task names the instance itself.
    let mut f = patched();
    collected_mut(&mut window_mut(&mut f).tasks)[0].targets =
        vec![selector("InstanceIds", "i-0123456789abcdef0")];
    assert_eq!(status(&run(&f), "patch.targeted"), Status::Pass);
    // Tags combine: both must match.
    let mut f = patched();
    collected_mut(&mut window_mut(&mut f).targets)[0].targets = vec![
        selector("tag:Patch Group", "web"),
        selector("tag:env", "prod"),
    ];
    assert_eq!(status(&run(&f), "patch.targeted"), Status::Fail);
    // A tag key alone.
    let mut f = patched();
    collected_mut(&mut window_mut(&mut f).targets)[0].targets =
        vec![selector("tag-key", "Patch Group")];
    assert_eq!(status(&run(&f), "patch.targeted"), Status::Pass);
    // A resource group: its members are not read.
    let mut f = patched();
    collected_mut(&mut window_mut(&mut f).targets)[0].targets =
        vec![selector("resource-groups:Name", "web-servers")];
    let report = run(&f);
    assert_eq!(status(&report, "patch.targeted"), Status::Warn);
    assert!(message(&report, "patch.targeted").contains("resource-groups:Name=web-servers"));
}

#[test]
fn an_association_patches_without_a_window() {
    let mut f = patched();
    patch_mut(&mut f).windows = Fetch::collected(vec![]);
    patch_mut(&mut f).associations = Fetch::collected(vec![Association {
        id: "assoc-1".into(),
        document: "AWS-RunPatchBaselineAssociation".into(),
        targets: vec![selector("InstanceIds", "*")],
        schedule: Some("rate(1 day)".into()),
        last_run: Some("2026-11-21T00:00:00Z".into()),
        status: Some("Success".into()),
    }]);
    let report = run(&f);
    assert_eq!(status(&report, "patch.targeted"), Status::Pass);
    assert!(message(&report, "patch.targeted").starts_with("Association assoc-1 runs"));
    assert_eq!(status(&report, "patch.window"), Status::Skip);
    assert_eq!(status(&report, "patch.service-role"), Status::Skip);
}

#[test]
fn nothing_patching_at_all_fails() {
    let mut f = patched();
    patch_mut(&mut f).windows = Fetch::collected(vec![]);
    let report = run(&f);
    assert_eq!(status(&report, "patch.targeted"), Status::Fail);
    assert!(message(&report, "patch.targeted").starts_with("Nothing patches"));
}

#[test]
fn a_window_that_never_opens_again_fails() {
    let mut f = patched();
    window_mut(&mut f).next_run = None;
    window_mut(&mut f).end_date = Some("2026-06-30T00:00:00Z".into());
    let report = run(&f);
    assert_eq!(status(&report, "patch.window"), Status::Fail);
    assert!(message(&report, "patch.window").contains("end date 2026-06-30T00:00:00Z has passed"));
    let mut f = patched();
    window_mut(&mut f).next_run = Some("2026-01-04T02:00Z".into());
    let report = run(&f);
    assert_eq!(status(&report, "patch.window"), Status::Fail);
    assert!(message(&report, "patch.window").contains("has passed"));
}

#[test]
fn the_task_s_role_must_exist_and_trust_systems_manager() {
    let mut f = patched();
    patch_mut(&mut f).service_roles.insert(
        SERVICE_ROLE.into(),
        Fetch::not_applicable("no role named patching-role exists"),
    );
    let report = run(&f);
    assert_eq!(status(&report, "patch.service-role"), Status::Fail);
    assert!(message(&report, "patch.service-role").contains("which does not exist"));

    let mut f = patched();
    if let Some(Fetch::Collected { value }) = patch_mut(&mut f).service_roles.get_mut(SERVICE_ROLE)
    {
        value.trust_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    }
    assert_eq!(status(&run(&f), "patch.service-role"), Status::Fail);

    // No role named: the service-linked role, which must exist.
    let mut f = patched();
    collected_mut(&mut window_mut(&mut f).tasks)[0].service_role = None;
    patch_mut(&mut f).service_roles = BTreeMap::from([(
        SERVICE_LINKED_ROLE.to_string(),
        Fetch::not_applicable("no role named AWSServiceRoleForAmazonSSM exists"),
    )]);
    let report = run(&f);
    assert_eq!(status(&report, "patch.service-role"), Status::Fail);
    assert!(message(&report, "patch.service-role").contains(SERVICE_LINKED_ROLE));
}

#[test]
fn a_patch_group_without_its_own_baseline_warns_and_names_the_default() {
    // Systems Manager answers a group nobody registered with the default baseline.
    let mut f = patched();
    patch_mut(&mut f).group_baseline = Fetch::collected(Some(AWS_DEFAULT.into()));
    let report = run(&f);
    assert_eq!(status(&report, "patch.baseline"), Status::Warn);
    assert!(message(&report, "patch.baseline").contains("gets the default baseline"));
    // Whether it is the default is unknown without it: what applies is still said.
    patch_mut(&mut f).default_baseline = Fetch::Denied {
        action: "ssm:GetDefaultPatchBaseline".into(),
        message: "not authorized".into(),
    };
    assert_eq!(status(&run(&f), "patch.baseline"), Status::Pass);
    // No answer at all for the group.
    let mut f = patched();
    patch_mut(&mut f).group_baseline = Fetch::collected(None);
    let report = run(&f);
    assert_eq!(status(&report, "patch.baseline"), Status::Warn);
    assert!(message(&report, "patch.baseline").contains("has no baseline registered"));
    let mut f = patched();
    patch_mut(&mut f).patch_group = None;
    let report = run(&f);
    assert_eq!(status(&report, "patch.baseline"), Status::Pass);
    assert!(message(&report, "patch.baseline").contains("default baseline for AMAZON_LINUX_2023"));
}

/// Private, the three interface endpoints and an S3 gateway endpoint routed from its table.
pub fn through_s3_gateway(endpoint_policy: Option<serde_json::Value>) -> Facts {
    let mut f = patched();
    instance_mut(&mut f).public_ip = None;
    let tables = tables_mut(&mut f);
    tables[0].routes.retain(|r| r.target != "igw-1");
    tables[0].routes.push(Route {
        destination: None,
        destination_ipv6: None,
        destination_prefix_list: Some("pl-s3".into()),
        target: "vpce-s3".into(),
        state: "active".into(),
    });
    let mut endpoints = vec![
        endpoint("ssm"),
        endpoint("ssmmessages"),
        endpoint("ec2messages"),
    ];
    endpoints.push(VpcEndpoint {
        id: "vpce-s3".into(),
        service_name: "com.amazonaws.eu-west-1.s3".into(),
        endpoint_type: "Gateway".into(),
        subnet_ids: vec![],
        security_group_ids: vec![],
        policy: endpoint_policy,
        ..endpoint("s3")
    });
    f.aws_mut().network_mut().vpc_endpoints = Fetch::collected(endpoints);
    let reads_buckets = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "s3:GetObject", "Resource": "*"}]});
    set_policies(
        &mut f,
        vec![policy("core", None, managed_core_policy())],
        vec![policy("s3", None, reads_buckets)],
    );
    f
}

#[test]
fn an_endpoint_policy_that_blocks_the_patch_bucket_fails() {
    assert_eq!(
        status(&run(&through_s3_gateway(None)), "patch.s3"),
        Status::Pass
    );
    let own_bucket_only = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::company-artifacts/*"}]});
    let report = run(&through_s3_gateway(Some(own_bucket_only)));
    assert_eq!(fails(&report), set(&["patch.s3"]));
    let said = message(&report, "patch.s3");
    assert!(
        said.contains("patch-baseline-snapshot-eu-west-1") && said.contains("vpce-s3"),
        "{said}"
    );
    let fix = finding(&report, "patch.s3").remediation.as_ref().unwrap();
    assert!(fix.cli.as_deref().unwrap().contains("vpce-s3"), "{fix:?}");
}

#[test]
fn through_an_endpoint_the_role_must_read_the_buckets() {
    let mut f = through_s3_gateway(None);
    set_policies(
        &mut f,
        vec![policy("core", None, managed_core_policy())],
        vec![],
    );
    let report = run(&f);
    assert_eq!(status(&report, "patch.s3"), Status::Fail);
    assert!(message(&report, "patch.s3").contains("role app-role's policies do not allow s3:GetObject on patch-baseline-snapshot-eu-west-1 and aws-ssm-eu-west-1"));
}

#[test]
fn without_any_way_to_s3_it_fails() {
    let mut f = through_s3_gateway(None);
    collected_mut(&mut f.aws_mut().network_mut().vpc_endpoints).retain(|e| e.id != "vpce-s3");
    let report = run(&f);
    assert_eq!(status(&report, "patch.s3"), Status::Fail);
    assert!(message(&report, "patch.s3").contains("cannot reach S3"));
}

#[test]
fn the_last_run_is_judged_by_its_counts_and_age() {
    let with = |change: fn(&mut PatchState)| {
        let mut f = patched();
        change(
            collected_mut(&mut patch_mut(&mut f).state)
                .as_mut()
                .unwrap(),
        );
        run(&f)
    };
    let failed = with(|s| s.failed = 2);
    assert_eq!(status(&failed, "patch.last-run"), Status::Fail);
    let scanned = with(|s| {
        s.operation = "Scan".into();
        s.missing = 5;
    });
    assert_eq!(status(&scanned, "patch.last-run"), Status::Warn);
    assert!(message(&scanned, "patch.last-run").contains("Operation=Install"));
    let stale = with(|s| s.ended = Some("2026-08-01T00:00:00Z".into()));
    assert_eq!(status(&stale, "patch.last-run"), Status::Warn);
    let mut f = patched();
    patch_mut(&mut f).state = Fetch::collected(None);
    let never = run(&f);
    assert_eq!(status(&never, "patch.last-run"), Status::Warn);
    assert!(message(&never, "patch.last-run").contains("never been scanned"));
}

#[test]
fn an_instance_ssm_does_not_list_online_is_not_managed() {
    let mut f = patched();
    lose_connection(&mut f);
    let report = run(&f);
    assert_eq!(status(&report, "patch.managed"), Status::Fail);
    assert!(message(&report, "patch.managed").contains("(from agent.online)"));
    assert_eq!(status(&report, "patch.baseline"), Status::Skip);
}

#[test]
fn denied_reads_are_errors_naming_the_action() {
    let mut f = patched();
    patch_mut(&mut f).windows = Fetch::Denied {
        action: "ssm:DescribeMaintenanceWindows".into(),
        message: "not authorized".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "patch.targeted"), Status::Error);
    assert!(message(&report, "patch.targeted").contains("denied: ssm:DescribeMaintenanceWindows"));
    for id in ["patch.window", "patch.service-role"] {
        assert_eq!(status(&report, id), Status::Error, "{id}");
    }
    assert!(fails(&report).is_empty());
    assert_eq!(report.verdict, Verdict::Incomplete);

    let mut f = patched();
    patch_mut(&mut f).state = Fetch::Denied {
        action: "ssm:DescribeInstancePatchStates".into(),
        message: "not authorized".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "patch.last-run"), Status::Error);
    assert_eq!(
        statuses(&report, Status::Error),
        set(&["patch.last-run"]),
        "the others keep their verdict"
    );
}

#[test]
fn window_times_are_read_as_systems_manager_writes_them() {
    use crate::checks::patch::seconds;
    let minute = seconds("2026-11-29T02:00Z").unwrap();
    assert_eq!(seconds("2026-11-29T02:00:00Z"), Some(minute));
    assert_eq!(seconds("2026-11-29T02:00:00.000Z"), Some(minute));
    assert_eq!(seconds("2026-11-29T02:00:00"), Some(minute));
    assert_eq!(seconds("next sunday"), None);
    // Offsets, with or without seconds.
    assert_eq!(seconds("2026-11-29T03:00+01:00"), Some(minute));
    assert_eq!(
        seconds("2021-04-07T14:29:00-08:00"),
        seconds("2021-04-07T22:29:00Z")
    );
    // Whatever a hand-edited snapshot holds: an answer or none, never a panic.
    for odd in [
        "",
        "2026",
        "2026-11-29T02:00+é",
        "2026-11-29T02:0é",
        "é".repeat(20).as_str(),
    ] {
        let _ = seconds(odd);
    }
}

#[test]
fn a_next_run_that_cannot_be_read_is_a_doubt_not_a_failure() {
    let mut f = patched();
    window_mut(&mut f).next_run = Some("next Sunday".into());
    let report = run(&f);
    assert_eq!(status(&report, "patch.window"), Status::Warn);
    assert!(message(&report, "patch.window").contains("cannot compare"));
}

#[test]
fn an_endpoint_policy_for_the_account_s_principals_only_is_a_doubt() {
    let own_account = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}}]});
    let report = run(&through_s3_gateway(Some(own_account)));
    assert_eq!(status(&report, "patch.s3"), Status::Warn);
    assert!(
        message(&report, "patch.s3").contains("for requests without your credentials"),
        "{}",
        message(&report, "patch.s3")
    );
}

#[test]
fn a_task_aimed_at_other_instance_ids_is_named_and_an_association_s_last_status_said() {
    let mut f = patched();
    collected_mut(&mut window_mut(&mut f).tasks)[0].targets =
        vec![selector("InstanceIds", "i-0fedcba9876543210")];
    let report = run(&f);
    let said = message(&report, "patch.targeted");
    assert!(
        said.contains("task wtask-1 (InstanceIds=i-0fedcba9876543210)"),
        "{said}"
    );

    let mut f = patched();
    patch_mut(&mut f).windows = Fetch::collected(vec![]);
    patch_mut(&mut f).associations = Fetch::collected(vec![Association {
        id: "assoc-1".into(),
        document: "AWS-RunPatchBaseline".into(),
        targets: vec![selector("tag:Patch Group", "web")],
        schedule: None,
        last_run: Some("2026-11-21T00:00:00Z".into()),
        status: Some("Failed".into()),
    }]);
    let said = message(&run(&f), "patch.targeted").to_string();
    assert!(
        said.contains("last run 2026-11-21T00:00:00Z: Failed"),
        "{said}"
    );
}

#[test]
fn a_window_that_starts_later_says_from_when() {
    let mut f = patched();
    window_mut(&mut f).start_date = Some("2026-11-25T00:00:00Z".into());
    let report = run(&f);
    assert!(message(&report, "patch.window").contains("from 2026-11-25T00:00:00Z"));
}
