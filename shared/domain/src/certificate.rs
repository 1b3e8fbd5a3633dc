//! Promotion certificates: the immutable evidence a promoted tool version carries. A certificate
//! holds everything the promotion's re-check ran from (data by hash, folds, costs, seeds, the
//! search's trial statistics, the gate's configuration, the parameters and the artifact judged,
//! engine and family versions) and everything it found (metrics per fold, the full gate report
//! with the deflated Sharpe ratio and every stability run).
//!
//! It is *sealed*: its canonical JSON text (keys sorted, as `serde_json` writes a map) is stored
//! as is with its SHA-256, and the text names the hash of the tool's previous certificate, so
//! editing a certificate breaks its own hash and editing it together with its hash breaks the
//! link from the next one. A verification re-runs the re-check from the certificate alone and
//! compares the metrics bit for bit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Metrics, TrialStats};
use crate::evaluation::EvalConfig;
use crate::optimization::Method;
use crate::standards::{StandardsConfig, StandardsReport};

/// The format of [`CertificateBody`] this build writes.
pub const CERTIFICATE_FORMAT: u32 = 1;

/// The learned artifact both sides ran with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CertifiedArtifact {
    /// The artifact's id.
    pub id: Uuid,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

/// The search that produced the candidate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CertifiedSearch {
    /// The sampler.
    pub method: Method,
    /// Seed of the search and of the gate's stability runs.
    pub seed: u64,
    /// Trials evaluated.
    pub trials_run: u64,
    /// The trials' count and Sharpe spread (the deflated Sharpe ratio's inputs); absent for
    /// records made before trials were kept.
    pub trial_stats: Option<TrialStats>,
}

/// One dataset's judgment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CertifiedJudgment {
    /// SHA-256 of the dataset's canonical encoding (never the data).
    pub dataset_hash: String,
    /// Its bars.
    pub bars: usize,
    /// The version judged against, out of sample, per fold.
    pub before: Vec<Metrics>,
    /// The promoted parameters, out of sample, per fold.
    pub after: Vec<Metrics>,
    /// The gate's full report.
    pub report: StandardsReport,
}

/// What a certificate says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CertificateBody {
    /// [`CERTIFICATE_FORMAT`] when written.
    pub format: u32,
    /// The tool.
    pub tool_id: Uuid,
    /// The version it certifies.
    pub version: i32,
    /// The version it was judged against (the tool's current version at the re-check).
    pub against_version: i32,
    /// The tool's family.
    pub family: String,
    /// The family's rule revision.
    pub family_version: u32,
    /// The engine's revision.
    pub engine_version: u32,
    /// Parameters of the version judged against.
    #[schema(value_type = Object)]
    pub params_before: Map<String, Value>,
    /// The promoted parameters.
    #[schema(value_type = Object)]
    pub params_after: Map<String, Value>,
    /// The learned artifact both ran with, if any.
    pub artifact: Option<CertifiedArtifact>,
    /// The optimization record promoted.
    pub record_id: Uuid,
    /// Its session.
    pub session_id: Uuid,
    /// The job that optimized.
    pub optimization_job_id: Uuid,
    /// The job that re-checked.
    pub promotion_job_id: Uuid,
    /// `creator` or `auto_promote`.
    pub promoted_by: String,
    /// Folds, costs and starting equity.
    pub eval: EvalConfig,
    /// The search.
    pub search: CertifiedSearch,
    /// The gate's configuration.
    pub standards: StandardsConfig,
    /// The session's data.
    pub session: CertifiedJudgment,
    /// The tool's reference dataset, when the creator set one.
    pub reference: Option<CertifiedJudgment>,
    /// Every check on both datasets passed.
    pub passed: bool,
    /// When it was sealed.
    pub issued_at: DateTime<Utc>,
    /// Hash of the tool's previous certificate (`None` for its first).
    pub previous_certificate: Option<String>,
}

/// A sealed certificate as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Certificate {
    /// The tool.
    pub tool_id: Uuid,
    /// The version it certifies.
    pub version: i32,
    /// The canonical JSON text of the body, exactly as sealed.
    pub body: String,
    /// SHA-256 of `body` (hex).
    pub hash: String,
    /// The previous certificate's hash, as the body names it.
    pub previous_hash: Option<String>,
    /// Sealed.
    pub created_at: DateTime<Utc>,
}

/// SHA-256 of `text`, hex.
fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl CertificateBody {
    /// Seals the body: sets when and after which certificate it was issued, and returns its
    /// canonical text and that text's hash.
    ///
    /// # Errors
    /// When the body cannot be written as JSON (a non-finite number).
    pub fn seal(
        mut self,
        previous: Option<String>,
        issued_at: DateTime<Utc>,
    ) -> Result<(String, String), serde_json::Error> {
        self.previous_certificate = previous;
        self.issued_at = issued_at;
        // A `Value` first: its maps are sorted, so the text is canonical.
        let text = serde_json::to_string(&serde_json::to_value(&self)?)?;
        let hash = sha256_hex(&text);
        Ok((text, hash))
    }
}

/// A link of a tool's chain of certificates that does not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChainBreak {
    /// The version whose certificate is at fault.
    pub version: i32,
    /// What does not hold.
    pub problem: String,
}

impl Certificate {
    /// Whether the stored text still has the stored hash.
    pub fn sealed(&self) -> bool {
        sha256_hex(&self.body) == self.hash
    }

    /// The body.
    ///
    /// # Errors
    /// When the text is not a certificate body (a manual edit).
    pub fn content(&self) -> Result<CertificateBody, serde_json::Error> {
        serde_json::from_str(&self.body)
    }
}

/// Every link of a tool's chain that does not hold, `chain` oldest first: a certificate whose
/// text no longer has its hash, whose body does not parse or names another tool or version, or
/// whose `previous_certificate` is not the hash of the certificate before it.
pub fn chain_breaks(chain: &[Certificate]) -> Vec<ChainBreak> {
    let mut breaks = Vec::new();
    let mut previous: Option<&str> = None;
    for c in chain {
        let problem = |p: &str| ChainBreak {
            version: c.version,
            problem: p.to_owned(),
        };
        if !c.sealed() {
            breaks.push(problem("the text no longer has its hash: it was edited"));
        }
        match c.content() {
            Err(_) => breaks.push(problem("the text is not a certificate")),
            Ok(body) => {
                if body.tool_id != c.tool_id || body.version != c.version {
                    breaks.push(problem("the text names another tool or version"));
                }
                if body.previous_certificate.as_deref() != previous {
                    breaks.push(problem(
                        "it does not name the hash of the certificate before it",
                    ));
                }
                if body.previous_certificate != c.previous_hash {
                    breaks.push(problem("its stored link differs from its text"));
                }
            }
        }
        previous = Some(&c.hash);
    }
    breaks
}

/// A number (or a report) the re-run did not reproduce.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Mismatch {
    /// Where: `session.after[2].sharpe`, `reference.report`, ...
    pub at: String,
    /// What the certificate says.
    #[schema(value_type = Object)]
    pub certified: Value,
    /// What the re-run found.
    #[schema(value_type = Object)]
    pub rerun: Value,
}

/// A revision then and now.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Revisions {
    /// In the certificate.
    pub certified: u32,
    /// In this build.
    pub now: u32,
}

/// The re-run's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rerun {
    /// Whether it could run (the data and the artifact are still stored).
    pub ran: bool,
    /// Every metric of every fold, on every dataset, equal bit for bit, and the same report.
    pub reproduced: bool,
    /// Numbers compared.
    pub compared: usize,
    /// What differed.
    pub mismatches: Vec<Mismatch>,
    /// Why it could not run, or why a difference may be legitimate.
    pub note: Option<String>,
}

/// A certificate's verification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Verification {
    /// The tool.
    pub tool_id: Uuid,
    /// The version.
    pub version: i32,
    /// The certificate's hash as stored.
    pub hash: String,
    /// The seal, the chain and the re-run all hold.
    pub verified: bool,
    /// The stored text still has the stored hash.
    pub sealed: bool,
    /// Links of the tool's chain, up to this certificate, that do not hold.
    pub chain_breaks: Vec<ChainBreak>,
    /// The re-run of the re-check from the certificate alone.
    pub rerun: Rerun,
    /// The engine's revision.
    pub engine_version: Revisions,
    /// The family's rule revision.
    pub family_version: Revisions,
    /// When it was verified.
    pub verified_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(version: i32) -> CertificateBody {
        CertificateBody {
            format: CERTIFICATE_FORMAT,
            tool_id: Uuid::nil(),
            version,
            against_version: version - 1,
            family: "rsi".into(),
            family_version: 1,
            engine_version: 2,
            params_before: Map::new(),
            params_after: Map::new(),
            artifact: None,
            record_id: Uuid::nil(),
            session_id: Uuid::nil(),
            optimization_job_id: Uuid::nil(),
            promotion_job_id: Uuid::nil(),
            promoted_by: "creator".into(),
            eval: EvalConfig::default(),
            search: CertifiedSearch {
                method: Method::Bayesian,
                seed: 7,
                trials_run: 100,
                trial_stats: Some(TrialStats {
                    trials: 100,
                    sharpe_variance: 1e-4,
                    information_ratio_variance: 4e-5,
                }),
            },
            standards: StandardsConfig::default(),
            session: CertifiedJudgment {
                dataset_hash: "ab".into(),
                bars: 1_000,
                before: vec![Metrics::default()],
                after: vec![Metrics {
                    sharpe: 0.1 + 0.2,
                    ..Metrics::default()
                }],
                report: StandardsReport {
                    passed: true,
                    improvement: Some(0.3),
                    checks: Vec::new(),
                    evidence: Vec::new(),
                    runs: Vec::new(),
                    deflated_sharpe: None,
                    deflated_sharpe_absolute: None,
                },
            },
            reference: None,
            passed: true,
            issued_at: DateTime::<Utc>::UNIX_EPOCH,
            previous_certificate: None,
        }
    }

    fn chain(n: i32) -> Vec<Certificate> {
        let mut out: Vec<Certificate> = Vec::new();
        for v in 2..2 + n {
            let previous = out.last().map(|c| c.hash.clone());
            let (text, hash) = body(v)
                .seal(previous.clone(), DateTime::<Utc>::UNIX_EPOCH)
                .expect("seals");
            out.push(Certificate {
                tool_id: Uuid::nil(),
                version: v,
                body: text,
                hash,
                previous_hash: previous,
                created_at: DateTime::<Utc>::UNIX_EPOCH,
            });
        }
        out
    }

    #[test]
    fn a_sealed_chain_holds_and_its_bodies_round_trip_bit_for_bit() {
        let c = chain(3);
        assert!(chain_breaks(&c).is_empty(), "{:?}", chain_breaks(&c));
        let back = c[0].content().expect("parses");
        assert_eq!(
            back.session.after[0].sharpe.to_bits(),
            (0.1f64 + 0.2).to_bits()
        );
        // The same body seals to the same text and hash.
        let again = body(2)
            .seal(None, DateTime::<Utc>::UNIX_EPOCH)
            .expect("seals");
        assert_eq!(
            (again.0.as_str(), again.1.as_str()),
            (c[0].body.as_str(), c[0].hash.as_str())
        );
    }

    #[test]
    fn an_edited_certificate_breaks_its_seal() {
        let mut c = chain(2);
        c[0].body = c[0].body.replace("\"passed\":true", "\"passed\":false");
        let breaks = chain_breaks(&c);
        assert_eq!(breaks.len(), 1, "{breaks:?}");
        assert_eq!(breaks[0].version, 2);
    }

    #[test]
    fn an_edit_that_rehashes_breaks_the_next_link() {
        let mut c = chain(3);
        c[1].body = c[1].body.replace("\"seed\":7", "\"seed\":8");
        c[1].hash = sha256_hex(&c[1].body);
        let breaks = chain_breaks(&c);
        assert_eq!(breaks.len(), 1, "{breaks:?}");
        assert_eq!(
            breaks[0].version, 4,
            "the next certificate no longer links to it"
        );
    }
}
