//! The `marketplace-worker` binary as a process: flags, graceful stop on SIGTERM, and what a
//! killed or restarted worker leaves behind. One test binary, one module per area.

mod cli;
mod lifecycle;
