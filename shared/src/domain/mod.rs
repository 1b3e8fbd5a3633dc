//! The domain model: plain types and the rules that need no I/O.

pub mod account;
pub mod advice;
pub mod certificate;
pub mod dataset;
pub mod hybrid;
pub mod ledger;
pub mod metrics;
pub mod money;
pub mod period;
pub mod session;
pub mod stats;
pub mod study;
pub mod subscription;
pub mod tier;
pub mod tool;
pub mod training;

pub use account::{Account, AccountKind};
pub use certificate::{Certificate, CertificateBody};
pub use dataset::{Dataset, DatasetSource};
pub use ledger::{LedgerEntry, TransactionKind};
pub use metrics::{Direction, Metric, Metrics};
pub use money::{Money, MoneyError};
pub use session::{
    OptimizationRecord, RecordStatus, Session, SessionConfig, SessionStatus, SessionTool, StudySpec,
};
pub use study::{OptimizationTrial, TrialStats};
pub use subscription::{BillingPolicy, NextCharge, Subscription, SubscriptionStatus};
pub use tier::Tier;
pub use tool::{Tool, ToolVersion};
pub use training::{
    Artifact, ArtifactSummary, ResolvedConfig, SplitMetrics, TrainingConfig, TrainingMethod,
    TrainingResult, TrainingRun,
};
