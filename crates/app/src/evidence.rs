//! Where the analyzers' snapshot comes from: a case's recordings in a replay; the cluster, read
//! through the Kubernetes adapter, when one is configured.

use async_trait::async_trait;
use nightwatch_core::Clock;
use nightwatch_core::evidence::{Scope, Snapshot};
use std::sync::Arc;

/// Reads the objects around an alert's scope.
#[async_trait]
pub trait EvidenceReader: Send + Sync {
    async fn snapshot(&self, scope: &Scope) -> Snapshot;
}

/// A recorded snapshot (a replayed case's): the same whatever the scope, as the recording is
/// all there is.
pub struct RecordedEvidence(pub Snapshot);

#[async_trait]
impl EvidenceReader for RecordedEvidence {
    async fn snapshot(&self, _scope: &Scope) -> Snapshot {
        self.0.clone()
    }
}

/// The cluster, read through the Kubernetes adapter (every failed read is a gap), stamped
/// with the time it was read.
pub struct LiveEvidence {
    pub kube: nightwatch_kube::Kube,
    pub clock: Arc<dyn Clock>,
}

#[async_trait]
impl EvidenceReader for LiveEvidence {
    async fn snapshot(&self, scope: &Scope) -> Snapshot {
        let taken_at = self.clock.now();
        let mut snapshot = self.kube.snapshot(scope).await;
        snapshot.taken_at = Some(taken_at);
        snapshot
    }
}
