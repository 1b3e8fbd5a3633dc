//! `verify`: checks a promotion certificate three ways. Its seal (the stored text still has the
//! stored hash), its chain (every certificate of the tool up to it names the hash of the one
//! before), and its numbers: the promotion's re-check is run again from the certificate alone
//! (the data found by content hash, the artifact by id and checked against its hash, the
//! parameters, folds, costs, seed, trial statistics and gate it names) and every metric of every
//! fold must come out equal bit for bit, with the same report.

use std::sync::Arc;

use serde_json::json;
use shared::domain::Metric;
use shared::domain::certificate::{
    CertificateBody, CertifiedJudgment, Mismatch, Rerun, Revisions, Verification, chain_breaks,
};
use shared::jobs::VerifyCertificateJob;
use shared::store::Store;

use super::recheck::{Recheck, RecheckInput, recheck};
use super::{JobControl, JobError, blocking, load_certified_model};
use crate::Stop;
use crate::engine::ENGINE_VERSION;
use crate::optimize::Judgment;

pub(super) async fn run(
    store: &Arc<dyn Store>,
    input: VerifyCertificateJob,
    control: Arc<JobControl>,
) -> Result<Verification, JobError> {
    control.report(0.05, "loading the certificate and its chain");
    let chain = store.certificates(input.tool_id).await?;
    let at = chain
        .iter()
        .position(|c| c.version == input.version)
        .ok_or_else(|| {
            JobError::invalid("Certificate not found", "the version has no certificate")
        })?;
    let certificate = &chain[at];
    let breaks = chain_breaks(&chain[..=at]);
    let sealed = certificate.sealed();
    let body = certificate.content().ok();
    let rerun = match &body {
        None => not_run("the certificate's text is not a certificate body"),
        Some(body) => rerun(store, body, &control).await?,
    };
    let now = chrono::Utc::now();
    let certified = |f: fn(&CertificateBody) -> u32| body.as_ref().map_or(0, f);
    let verification = Verification {
        tool_id: input.tool_id,
        version: input.version,
        hash: certificate.hash.clone(),
        verified: sealed && breaks.is_empty() && rerun.reproduced,
        sealed,
        chain_breaks: breaks,
        rerun,
        engine_version: Revisions {
            certified: certified(|b| b.engine_version),
            now: ENGINE_VERSION,
        },
        family_version: Revisions {
            certified: certified(|b| b.family_version),
            now: body
                .as_ref()
                .and_then(|b| shared::families::get(&b.family))
                .map_or(0, |f| f.version),
        },
        verified_at: now,
    };
    Ok(verification)
}

fn not_run(note: &str) -> Rerun {
    Rerun {
        ran: false,
        reproduced: false,
        compared: 0,
        mismatches: Vec::new(),
        note: Some(note.to_owned()),
    }
}

/// Runs the certificate's re-check again and compares.
async fn rerun(
    store: &Arc<dyn Store>,
    body: &CertificateBody,
    control: &Arc<JobControl>,
) -> Result<Rerun, JobError> {
    let Some(bars) = store
        .dataset_bars_by_hash(&body.session.dataset_hash)
        .await?
    else {
        return Ok(not_run(
            "the session's data (by its hash) is no longer stored: the numbers cannot be re-run",
        ));
    };
    let reference = match &body.reference {
        Some(r) => match store.dataset_bars_by_hash(&r.dataset_hash).await? {
            Some(b) => Some(b),
            None => return Ok(not_run("the reference data is no longer stored")),
        },
        None => None,
    };
    let model = match &body.artifact {
        None => None,
        Some(a) => match load_certified_model(store, Some(a.id)).await? {
            Some((model, stored)) if stored.sha256 == a.sha256 => Some(model),
            Some(_) => {
                return Ok(not_run(
                    "the artifact's bytes no longer have the certified hash",
                ));
            }
            None => return Ok(not_run("the artifact is no longer stored")),
        },
    };
    control.check()?;
    control.report(0.2, "re-running the re-check");
    let input = RecheckInput {
        bars,
        reference,
        family: body.family.clone(),
        current: body.params_before.clone(),
        candidate: body.params_after.clone(),
        model,
        eval: body.eval,
        standards: body.standards.clone(),
        seed: body.search.seed,
        trial_stats: body.search.trial_stats,
    };
    let checked: Recheck = blocking({
        let control = control.clone();
        move || {
            let canceled = || control.is_canceled();
            recheck(input, Stop::new(&canceled))
        }
    })
    .await?;
    control.check()?;
    let mut mismatches = Vec::new();
    let mut compared = compare("session", &body.session, &checked.session, &mut mismatches);
    match (&body.reference, &checked.reference) {
        (Some(c), Some(r)) => compared += compare("reference", c, r, &mut mismatches),
        (None, None) => {}
        _ => mismatches.push(Mismatch {
            at: "reference".into(),
            certified: json!(body.reference.is_some()),
            rerun: json!(checked.reference.is_some()),
        }),
    }
    let versions_moved = body.engine_version != ENGINE_VERSION
        || shared::families::get(&body.family).map(|f| f.version) != Some(body.family_version);
    Ok(Rerun {
        ran: true,
        reproduced: mismatches.is_empty(),
        compared,
        note: (versions_moved && !mismatches.is_empty()).then(|| {
            "the engine or the family changed revision since the certificate: its numbers may legitimately differ".to_owned()
        }),
        mismatches,
    })
}

/// Compares one dataset's certified numbers with the re-run's, bit for bit; returns how many
/// numbers were compared.
fn compare(
    label: &str,
    certified: &CertifiedJudgment,
    rerun: &Judgment,
    out: &mut Vec<Mismatch>,
) -> usize {
    let mut compared = 0;
    for (side, c, r) in [
        ("before", &certified.before, &rerun.before),
        ("after", &certified.after, &rerun.after),
    ] {
        if c.len() != r.len() {
            out.push(Mismatch {
                at: format!("{label}.{side}"),
                certified: json!(c.len()),
                rerun: json!(r.len()),
            });
            continue;
        }
        for (fold, (cm, rm)) in c.iter().zip(r).enumerate() {
            for metric in Metric::ALL {
                compared += 1;
                let (a, b) = (cm.get(metric), rm.get(metric));
                if a.to_bits() != b.to_bits() {
                    out.push(Mismatch {
                        at: format!("{label}.{side}[{fold}].{}", metric.name()),
                        certified: json!(a),
                        rerun: json!(b),
                    });
                }
            }
        }
    }
    let (a, b) = (json!(certified.report), json!(rerun.report));
    compared += 1;
    if a != b {
        out.push(Mismatch {
            at: format!("{label}.report"),
            certified: a,
            rerun: b,
        });
    }
    compared
}
