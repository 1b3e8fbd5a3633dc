//! Exit codes scripts can rely on (documented in `marketplace --help` and the README).

use client::Error;

/// Success.
pub(crate) const OK: u8 = 0;
/// Anything not below (a local file that cannot be read, a bad configuration file).
pub(crate) const FAILURE: u8 = 1;
/// The command line is wrong (clap's own code).
pub(crate) const USAGE: u8 = 2;
/// The server refused the request (400, 402, 409, 413, 422, 429): nothing changed.
pub(crate) const REFUSED: u8 = 3;
/// No key, a bad or revoked key, or not allowed (401, 403), or not logged in.
pub(crate) const AUTH: u8 = 4;
/// No such thing, or not the caller's (404).
pub(crate) const NOT_FOUND: u8 = 5;
/// The server cannot be reached.
pub(crate) const UNREACHABLE: u8 = 6;
/// The server failed (5xx) or answered something unexpected.
pub(crate) const SERVER: u8 = 7;
/// A job the command waited for failed or was canceled.
pub(crate) const JOB_FAILED: u8 = 8;
/// Ctrl-C while following work.
pub(crate) const INTERRUPTED: u8 = 130;

/// The user pressed Ctrl-C while the command followed work.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub(crate) struct Interrupted;

/// Not logged in (no profile, no key), or a key that may not do this.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NotLoggedIn(pub(crate) String);

/// The exit code of an error.
pub(crate) fn code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<Interrupted>().is_some() {
        return INTERRUPTED;
    }
    if e.downcast_ref::<NotLoggedIn>().is_some() {
        return AUTH;
    }
    match e.downcast_ref::<Error>() {
        Some(Error::Api(p)) => match p.status {
            401 | 403 => AUTH,
            404 => NOT_FOUND,
            400..=499 => REFUSED,
            _ => SERVER,
        },
        Some(Error::Transport(_)) => UNREACHABLE,
        Some(Error::Unexpected { .. }) => SERVER,
        Some(Error::Job { .. }) => JOB_FAILED,
        Some(Error::Config(_)) => USAGE,
        None => FAILURE,
    }
}

/// How `code` is explained in `--help`.
pub(crate) const HELP: &str = "Exit codes: 0 success, 1 other failure, 2 usage, 3 refused by the server (nothing changed), \
4 not logged in / bad key / not allowed, 5 not found, 6 server unreachable, 7 server error, \
8 a waited-for job failed or was canceled, 130 interrupted.";
