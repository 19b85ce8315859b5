//! Managed policy documents by ARN and version id. A published version never changes, so its
//! document is asked of IAM once: AWS-managed ones ship with the tool
//! (`aws-managed-policies.json`, written by `scripts/aws-managed-policies`), and any other read is
//! kept for the later collections of the same [`super::Aws`] (a watch re-runs every few seconds).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

const SHIPPED: &str = include_str!("aws-managed-policies.json");

#[derive(Deserialize)]
struct Shipped {
    arn: String,
    version: String,
    document: serde_json::Value,
}

type Key = (String, String);

fn shipped() -> &'static BTreeMap<Key, serde_json::Value> {
    static SHIPPED_DOCUMENTS: OnceLock<BTreeMap<Key, serde_json::Value>> = OnceLock::new();
    SHIPPED_DOCUMENTS.get_or_init(|| {
        let list: Vec<Shipped> =
            serde_json::from_str(SHIPPED).expect("aws-managed-policies.json is valid (tested)");
        list.into_iter()
            .map(|p| ((p.arn, p.version), p.document))
            .collect()
    })
}

/// The documents known without asking: shipped, or read earlier.
#[derive(Default)]
pub(super) struct Documents {
    read: Mutex<BTreeMap<Key, serde_json::Value>>,
}

impl Documents {
    pub fn known(&self, arn: &str, version: &str) -> Option<serde_json::Value> {
        let key = (arn.to_string(), version.to_string());
        if let Some(document) = shipped().get(&key) {
            return Some(document.clone());
        }
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.get(&key).cloned()
    }

    pub fn remember(&self, arn: &str, version: String, document: serde_json::Value) {
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.insert((arn.to_string(), version), document);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_documents_are_aws_managed_policies_keyed_by_version() {
        let core = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
        let documents = Documents::default();
        let document = documents.known(core, "v2").expect("Core v2 ships");
        let text = document.to_string();
        assert!(text.contains("ssmmessages:CreateControlChannel"), "{text}");
        // Another version of the same policy is not assumed to be the same document.
        assert!(documents.known(core, "v3").is_none());
        for key in shipped().keys() {
            assert!(key.0.starts_with("arn:aws:iam::aws:policy/"), "{key:?}");
            assert!(key.1.starts_with('v'), "{key:?}");
        }
    }

    #[test]
    fn a_version_read_once_is_known_afterwards() {
        let documents = Documents::default();
        let arn = "arn:aws:iam::111122223333:policy/app";
        assert!(documents.known(arn, "v1").is_none());
        documents.remember(arn, "v1".into(), serde_json::json!({"Statement": []}));
        assert_eq!(
            documents.known(arn, "v1"),
            Some(serde_json::json!({"Statement": []}))
        );
        assert!(documents.known(arn, "v2").is_none());
    }
}
