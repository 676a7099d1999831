//! Evidence, not names: what the cluster shows about an alert's subject, read into a
//! [`Snapshot`] (live or from a recording), checked by deterministic analyzers, and concluded
//! into an [`Assessment`] — findings with a severity, a class of cause, the objects involved
//! and the facts each rests on — with no model involved.
//!
//! Files: `snapshot` (what is read), `scope` (what an alert is about, from its labels),
//! `finding` (what analyzers conclude), `analyze` (the analyzers and the assessment),
//! `premise` (whether an action's fault shows now), `quantity` (Kubernetes quantities).

pub mod analyze;
pub mod finding;
pub mod premise;
pub mod quantity;
pub mod scope;
pub mod snapshot;

pub use analyze::{Assessment, Healthy, assess};
pub use finding::{Category, Evidence, Finding, Severity};
pub use scope::Scope;
pub use snapshot::{ObjectRef, Snapshot};
