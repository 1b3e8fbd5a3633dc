//! The `marketplace-scheduler` binary as a process: graceful stop on SIGTERM, and a billing pass
//! killed mid-way that charges nobody twice. One test binary, one module per area.

mod cli;
mod kill;
