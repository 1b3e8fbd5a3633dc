//! `promote`: re-checks an optimization record against the tool's *current* version (which may
//! have changed since the session inserted it) on the session's out-of-sample folds and, when
//! the creator set one, on the tool's reference dataset. Passing both makes a new tool version
//! with its lineage, in the same transaction as the job's success and only while the tool is
//! still at the version checked against (otherwise the job runs again against the new one).
//! A failed re-check keeps its report on the record and changes nothing else. A passed one
//! leaves the version a certificate (see [`shared::domain::certificate`]) with everything the
//! re-check ran from and found.

use std::sync::Arc;

use serde_json::json;
use shared::domain::RecordStatus;
use shared::domain::certificate::{
    CERTIFICATE_FORMAT, CertificateBody, CertifiedJudgment, CertifiedSearch,
};
use shared::jobs::{Job, PromoteRecordJob, PromotionOutcome};
use shared::standards::StandardsReport;
use shared::store::{JobEffect, Promotion, Store};

use super::recheck::{RecheckInput, recheck};
use super::{JobControl, JobError, JobOutput, blocking, load_certified_model};
use crate::Stop;
use crate::engine::ENGINE_VERSION;

pub(super) async fn run(
    store: &Arc<dyn Store>,
    job: &Job,
    input: PromoteRecordJob,
    control: Arc<JobControl>,
) -> Result<JobOutput, JobError> {
    control.report(0.05, "loading the record, the tool and the data");
    let record = store
        .optimization_record(input.record_id)
        .await?
        .ok_or_else(|| JobError::invalid("Record not found", "no such optimization record"))?;
    if record.status == RecordStatus::Promoted {
        return Err(JobError::invalid(
            "Already promoted",
            format!(
                "the record was already promoted to version {}",
                record.promoted_version.unwrap_or_default()
            ),
        ));
    }
    if !record.standards_report.passed {
        return Err(JobError::invalid(
            "Standards not met",
            "the record did not pass the standards gate",
        ));
    }
    let tool = store
        .tool(record.tool_id)
        .await?
        .filter(|t| t.deleted_at.is_none())
        .ok_or_else(|| JobError::invalid("Tool not found", "the tool was deleted"))?;
    if let Some(limit) = input.recheck_limit
        && !store.count_recheck(record.id, job.id, limit).await?
    {
        return Err(JobError::invalid(
            "Re-check limit reached",
            format!(
                "the record was re-checked {limit} times; each re-check runs the tool's current \
                 parameters on the renter's data, so a record allows {limit}"
            ),
        ));
    }
    // What the creator is shown of a re-check on a renter's data: the verdict and relative
    // figures (the creator chooses the parameters it compares against); the record keeps the
    // full report for its owner, the certificate for verification.
    let renters = tool.creator_id != record.owner_id;
    let shown = |report: &StandardsReport| {
        if renters {
            report.relative_only()
        } else {
            report.clone()
        }
    };
    let session = store
        .session(record.session_id)
        .await?
        .ok_or_else(|| JobError::invalid("Session not found", "the record's session is gone"))?;
    let bars = store
        .dataset_bars(session.dataset_id)
        .await?
        .ok_or_else(|| {
            JobError::invalid(
                "Dataset not found",
                "the session's dataset was deleted, so the record cannot be re-checked",
            )
        })?;
    let gone = || {
        JobError::invalid(
            "Reference dataset not found",
            "the tool's reference dataset was deleted; set another or none",
        )
    };
    let reference = match tool.reference_dataset_id {
        Some(id) => {
            let summary = store.dataset(tool.creator_id, id).await?.ok_or_else(gone)?;
            let bars = store.dataset_bars(id).await?.ok_or_else(gone)?;
            Some((summary.content_hash, bars))
        }
        None => None,
    };
    let (model, artifact) = load_certified_model(store, tool.artifact_id).await?.unzip();
    control.check()?;
    control.report(
        0.2,
        format!("re-checking against version {}", tool.current_version),
    );

    let standards = tool.standards();
    let eval = session.config.eval_config();
    let trial_stats = record.trial_stats();
    let (reference_hash, reference_bars) = reference.unzip();
    let session_bars = bars.len();
    let reference_len = reference_bars.as_ref().map(|b| b.len());
    let checked = blocking({
        let control = control.clone();
        let input = RecheckInput {
            bars,
            reference: reference_bars,
            family: tool.family.clone(),
            current: tool.parameters.clone(),
            candidate: record.params_after.clone(),
            model,
            eval,
            standards: standards.clone(),
            seed: record.study.seed,
            trial_stats,
        };
        move || {
            let canceled = || control.is_canceled();
            recheck(input, Stop::new(&canceled))
        }
    })
    .await?;
    control.check()?;
    let report = checked.report();
    let session_check = &checked.session;
    let check = json!({
        "job_id": job.id,
        "against_version": tool.current_version,
        "passed": report.passed,
        "improvement": report.improvement,
        "checks": report.checks,
        "metrics_before": session_check.before,
        "metrics_after": session_check.after,
        "reference_dataset_id": tool.reference_dataset_id,
        "checked_at": chrono::Utc::now(),
    });
    if !report.passed {
        let result = PromotionOutcome {
            record_id: record.id,
            passed: false,
            against_version: tool.current_version,
            version: None,
            standards_report: shown(&report),
        };
        return JobOutput::with_effect(
            &result,
            Some(JobEffect::RecordCheck {
                record_id: record.id,
                check,
            }),
        );
    }
    let version = tool.current_version + 1;
    let certified =
        |j: &crate::optimize::Judgment, dataset_hash: String, bars: usize| CertifiedJudgment {
            dataset_hash,
            bars,
            before: j.before.clone(),
            after: j.after.clone(),
            report: j.report.clone(),
        };
    let certificate = CertificateBody {
        format: CERTIFICATE_FORMAT,
        tool_id: tool.id,
        version,
        against_version: tool.current_version,
        family: tool.family.clone(),
        family_version: shared::families::get(&tool.family).map_or(0, |f| f.version),
        engine_version: ENGINE_VERSION,
        params_before: tool.parameters.clone(),
        params_after: record.params_after.clone(),
        artifact,
        record_id: record.id,
        session_id: record.session_id,
        optimization_job_id: record.job_id,
        promotion_job_id: job.id,
        promoted_by: if input.auto {
            "auto_promote"
        } else {
            "creator"
        }
        .into(),
        eval,
        search: CertifiedSearch {
            method: record.study.method,
            seed: record.study.seed,
            trials_run: record.trials_run,
            trial_stats,
        },
        standards,
        session: certified(session_check, record.dataset_hash.clone(), session_bars),
        reference: checked
            .reference
            .as_ref()
            .zip(reference_hash.zip(reference_len))
            .map(|(j, (hash, len))| certified(j, hash, len)),
        passed: report.passed,
        // Set when the store seals it.
        issued_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        previous_certificate: None,
    };
    let lineage = json!({
        "record_id": record.id,
        "session_id": record.session_id,
        "dataset_hash": record.dataset_hash,
        "seed": record.study.seed,
        "method": record.study.method,
        "trials_run": record.trials_run,
        "optimization_job_id": record.job_id,
        "promotion_job_id": job.id,
        "promoted_by": if input.auto { "auto_promote" } else { "creator" },
        "previous_version": tool.current_version,
        "base_version": record.base_version,
        "improvement": report.improvement,
        "standards_report": shown(&report),
    });
    let result = PromotionOutcome {
        record_id: record.id,
        passed: true,
        against_version: tool.current_version,
        version: Some(version),
        standards_report: shown(&report),
    };
    JobOutput::with_effect(
        &result,
        Some(JobEffect::Promote(Box::new(Promotion {
            record_id: record.id,
            tool_id: tool.id,
            against_version: tool.current_version,
            parameters: record.params_after,
            lineage,
            check,
            certificate: Box::new(certificate),
        }))),
    )
}
