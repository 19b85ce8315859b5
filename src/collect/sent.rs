//! Every HTTP request the SDK sends, retries included, counted as it leaves: an interceptor on
//! every client sees each attempt, where the collector's own calls see only operations.

use super::ledger::Ledger;
use aws_sdk_ec2::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// Requests sent by every client of one `Aws` (the progress line shows it; each collection's
/// figures, retries apart, are its ledger's).
#[derive(Debug, Default)]
pub struct Sent {
    requests: AtomicU32,
}

impl Sent {
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone)]
pub struct Counting(pub Arc<Sent>);

impl Intercept for Counting {
    fn name(&self) -> &'static str {
        "ssm-doctor request count"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let retry = cfg
            .load::<RequestAttempts>()
            .is_some_and(|a| a.attempts() > 1);
        self.0.requests.fetch_add(1, Ordering::Relaxed);
        // The operation is awaited in the task that asked, so the ledger of its scope is at hand.
        Ledger::book(retry);
        Ok(())
    }
}
