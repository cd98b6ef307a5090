//! Effective policies and backup plans for 10,000 accounts under a 5-level OU tree
//! with 50 attached policies.
//!
//! `cargo bench -p bunker-policy --bench effective`

use bunker_policy::tree::{OrgNode, for_each_account};
use bunker_policy::{Attachment, PolicyDocument, Source};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const ACCOUNTS: usize = 10_000;
/// OUs per parent at each of the 5 levels: 4 × 4 × 3 × 3 × 2 = 288 leaf OUs.
const FANOUT: [usize; 5] = [4, 4, 3, 3, 2];

/// The 50 policy documents: one org-wide baseline with locks, then OU and account
/// policies that add plans, append regions, change schedules and try to break locks.
fn documents() -> Vec<PolicyDocument> {
    let regions = ["us-east-1", "us-west-2", "eu-north-1", "eu-central-1", "ap-northeast-3", "sa-east-1"];
    let mut docs = vec![json!({"plans": {
        "@@operators_allowed_for_child_policies": ["@@append"],
        "Baseline": {
            "regions": {"@@operators_allowed_for_child_policies": ["@@append"], "@@assign": ["us-east-1", "eu-north-1"]},
            "rules": {"Daily": {
                "schedule_expression": {"@@assign": "cron(0 5 ? * * *)"},
                "start_backup_window_minutes": {"@@assign": "60"},
                "target_backup_vault_name": {"@@operators_allowed_for_child_policies": ["@@none"], "@@assign": "FortKnox"},
                "lifecycle": {"move_to_cold_storage_after_days": {"@@assign": "30"}, "delete_after_days": {"@@assign": "365"}},
                "copy_actions": {"arn:aws:backup:us-west-2:111111111111:backup-vault:Bunker": {
                    "target_backup_vault_arn": {"@@assign": "arn:aws:backup:us-west-2:111111111111:backup-vault:Bunker"},
                    "lifecycle": {"delete_after_days": {"@@assign": "730"}}}}}},
            "selections": {"tags": {"All": {"iam_role_arn": {"@@assign": "arn:aws:iam::$account:role/Backup"},
                "tag_key": {"@@assign": "backup"}, "tag_value": {"@@assign": ["daily", "critical"]}}}}}}})];
    for i in 1..50 {
        let doc = match i % 5 {
            0 => json!({"plans": {format!("Team{i}"): {
                "regions": {"@@assign": [regions[i % 6]]},
                "rules": {"Hourly": {"schedule_expression": {"@@assign": "cron(0 0/1 ? * * *)"}, "target_backup_vault_name": {"@@assign": format!("Team{i}")}}},
                "selections": {"tags": {"Hot": {"iam_role_arn": {"@@assign": "arn:aws:iam::$account:role/Backup"}, "tag_key": {"@@assign": "tier"}, "tag_value": {"@@assign": ["hot"]}}}}}}}),
            1 => json!({"plans": {"Baseline": {"regions": {"@@append": [regions[i % 6], regions[(i + 1) % 6]]}}}}),
            2 => json!({"plans": {"Baseline": {"rules": {"Daily": {"schedule_expression": {"@@assign": format!("cron(0 {} ? * * *)", i % 24)}}}}}}),
            3 => json!({"plans": {"Baseline": {"rules": {"Daily": {"target_backup_vault_name": {"@@assign": "Elsewhere"}}},
                "selections": {"tags": {"All": {"tag_value": {"@@append": [format!("t{i}")], "@@remove": ["critical"]}}}}}}}),
            _ => json!({"plans": {"Baseline": {"backup_plan_tags": {"CostCenter": {"tag_key": {"@@assign": "CostCenter"}, "tag_value": {"@@assign": format!("cc{i}")}}}}}}),
        };
        docs.push(doc);
    }
    docs.iter().map(|d| PolicyDocument::parse(&d.to_string()).expect("valid benchmark policy")).collect()
}

/// Builds the tree: policy 0 on the root, policies 1..40 spread over OUs of every
/// level, 41..49 on accounts.
fn tree(docs: &[PolicyDocument]) -> OrgNode<'_> {
    let att = |i: usize, target: &str| Attachment { source: Source::new(&format!("p-{i:08}"), &format!("policy{i}"), target), document: &docs[i] };
    let mut next_ou_policy = 1;
    let mut next_account = 0usize;
    let leaves: usize = FANOUT.iter().product();
    fn build<'a>(
        level: usize,
        path: String,
        att: &dyn Fn(usize, &str) -> Attachment<'a>,
        next_ou_policy: &mut usize,
        next_account: &mut usize,
        leaves: usize,
    ) -> OrgNode<'a> {
        let mut node = OrgNode::default();
        if level > 0 && *next_ou_policy <= 40 && path.ends_with('0') {
            node.attachments.push(att(*next_ou_policy, &path));
            *next_ou_policy += 1;
        }
        if level == FANOUT.len() {
            let per_leaf = ACCOUNTS.div_ceil(leaves);
            for _ in 0..per_leaf {
                if *next_account == ACCOUNTS {
                    break;
                }
                let id = format!("{:012}", 100_000_000_000 + *next_account);
                let own = if (*next_account).is_multiple_of(1112) { vec![att(41 + *next_account / 1112, &id)] } else { Vec::new() };
                node.accounts.push((id, own));
                *next_account += 1;
            }
            return node;
        }
        for c in 0..FANOUT[level] {
            node.children.push(build(level + 1, format!("{path}-{c}"), att, next_ou_policy, next_account, leaves));
        }
        node
    }
    let mut root = build(0, "ou".into(), &att, &mut next_ou_policy, &mut next_account, leaves);
    root.attachments.push(att(0, "r-root"));
    root
}

fn bench(c: &mut Criterion) {
    let docs = documents();
    let root = tree(&docs);
    let mut accounts = 0;
    let mut plans = 0;
    for_each_account(&root, |id, eff| {
        accounts += 1;
        plans += eff.backup_plans(id).len();
    });
    assert_eq!(accounts, ACCOUNTS);
    fn attached(n: &OrgNode<'_>) -> usize {
        n.attachments.len() + n.accounts.iter().map(|(_, a)| a.len()).sum::<usize>() + n.children.iter().map(attached).sum::<usize>()
    }
    assert_eq!(attached(&root), 50, "50 attached policies");
    eprintln!("{accounts} accounts, {plans} effective plans (plan × Region)");
    let mut group = c.benchmark_group("organization");
    group.sample_size(10);
    group.bench_function("effective_policies_and_plans_10k_accounts", |b| {
        b.iter(|| {
            let mut n = 0;
            for_each_account(&root, |id, eff| n += eff.backup_plans(id).len());
            n
        });
    });
    group.bench_function("effective_policies_only_10k_accounts", |b| {
        b.iter(|| {
            let mut n = 0;
            for_each_account(&root, |_, eff| n += eff.to_json().as_object().map_or(0, |m| m.len()));
            n
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
