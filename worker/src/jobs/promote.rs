//! `promote`: re-checks an optimization record against the tool's *current* version (which may
//! have changed since the session inserted it) on the session's out-of-sample folds and, when
//! the creator set one, on the tool's reference dataset. Passing both makes a new tool version
//! with its lineage, in the same transaction as the job's success and only while the tool is
//! still at the version checked against (otherwise the job runs again against the new one).
//! A failed re-check keeps its report on the record and changes nothing else.

use std::sync::Arc;

use serde_json::json;
use shared::domain::RecordStatus;
use shared::jobs::{Job, PromoteRecordJob};
use shared::standards::{Check, StandardsReport};
use shared::store::{JobEffect, Promotion, Store};

use super::{JobControl, JobError, JobOutput, blocking, load_model, payload};
use crate::optimize::judge_out_of_sample;

pub(super) async fn run(
    store: &Arc<dyn Store>,
    job: &Job,
    control: Arc<JobControl>,
) -> Result<JobOutput, JobError> {
    let input: PromoteRecordJob = payload(job)?;
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
    let reference = match tool.reference_dataset_id {
        Some(id) => Some(store.dataset_bars(id).await?.ok_or_else(|| {
            JobError::invalid(
                "Reference dataset not found",
                "the tool's reference dataset was deleted; set another or none",
            )
        })?),
        None => None,
    };
    let model = load_model(store, tool.artifact_id).await?;
    control.check()?;
    control.report(
        0.2,
        format!("re-checking against version {}", tool.current_version),
    );

    let standards = tool.standards();
    let eval = session.config.eval_config();
    let family = tool.family.clone();
    let current = tool.parameters.clone();
    let candidate = record.params_after.clone();
    let (session_check, reference_check) = blocking(move || {
        // The candidate and the current version both run with the current version's artifact.
        let judge = |bars: &shared::dataset::Bars| {
            let prepared = model.as_ref().map(|m| m.prepare(bars));
            judge_out_of_sample(
                bars,
                &family,
                &current,
                &candidate,
                prepared.as_ref(),
                eval,
                &standards,
            )
        };
        let judged =
            judge(&bars).map_err(|e| JobError::invalid("Cannot re-check", e.to_string()))?;
        let reference = reference
            .map(|bars| {
                judge(&bars).map_err(|e| {
                    JobError::invalid("Cannot re-check on the reference dataset", e.to_string())
                })
            })
            .transpose()?;
        Ok((judged, reference))
    })
    .await?;
    control.check()?;

    // One report: the session's checks as they are, the reference dataset's prefixed.
    let mut checks: Vec<Check> = session_check.report.checks.clone();
    if let Some(r) = &reference_check {
        checks.extend(r.report.checks.iter().map(|c| Check {
            name: format!("reference:{}", c.name),
            ..c.clone()
        }));
    }
    let report = StandardsReport {
        passed: checks.iter().all(|c| c.passed),
        improvement: session_check.report.improvement,
        checks,
    };
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
        let result = json!({
            "record_id": record.id,
            "passed": false,
            "against_version": tool.current_version,
            "standards_report": report,
        });
        return Ok(JobOutput {
            result,
            effect: Some(JobEffect::RecordCheck {
                record_id: record.id,
                check,
            }),
        });
    }
    let version = tool.current_version + 1;
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
        "standards_report": report,
    });
    let result = json!({
        "record_id": record.id,
        "passed": true,
        "against_version": tool.current_version,
        "version": version,
        "standards_report": report,
    });
    Ok(JobOutput {
        result,
        effect: Some(JobEffect::Promote(Box::new(Promotion {
            record_id: record.id,
            tool_id: tool.id,
            against_version: tool.current_version,
            parameters: record.params_after,
            lineage,
            check,
        }))),
    })
}
