//! Training a tool: pure computation, no I/O. Three methods learn for real on the training split
//! of a creator's dataset and are judged on the validation split; the test split is never seen:
//!
//! - [`dl`] (burn): an MLP trained with Adam and early stopping on the validation loss; the
//!   `neural` family's network, or a meta-labeling filter for the other families ([`features`]
//!   builds the inputs and labels);
//! - [`ql`]: tabular Q-learning of an execution policy, with rayon-parallel learners;
//! - the optimization engine: the session optimizers ([`crate::optimize`]) with creator budgets.
//!
//! A hybrid run is three jobs, one per method; its judgment (the best validation score) is a
//! pure rule of the domain ([`domain::hybrid::judge_hybrid`]) applied to their results.
//!
//! Splits are time-ordered (train, then validation, then test) and never shuffled across time;
//! labels and rewards near a split's end read no bar beyond it.

mod artifact;
pub mod dl;
pub mod features;
mod input;
mod methods;
pub mod ql;
mod tool;

pub use artifact::{LoadedModel, MLP_DIRECTION, MLP_META_FILTER, Q_TABLE};
pub use input::{Hooks, MIN_BARS, TrainError, TrainInput, split};
pub use tool::{TrainedTool, train_tool};
