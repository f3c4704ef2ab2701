//! The store's part of governed retraining: security incidents (open, closed, the log-time span
//! of their activity, their alerts, the manual review of the data around them, the canary set
//! kept from their records) and the record of every retrain run. Plain data and the
//! transaction methods that read and write it; governance decides, the store persists.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::records::AlertRecord;
use super::{R, StoreTx};
use crate::governance::Permit;

/// A security incident. Log times (`started_ts`, `ended_ts`) are epoch microseconds of Zeek
/// `ts`; the other times are wall-clock epoch microseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub id: i64,
    pub title: String,
    /// `open` or `closed`.
    pub status: String,
    pub started_ts: i64,
    pub ended_ts: Option<i64>,
    pub alerts: Vec<i64>,
    pub opened_by: String,
    pub opened_at: i64,
    pub closed_by: Option<String>,
    pub closed_at: Option<i64>,
    pub closure_note: Option<String>,
    pub data_reviewed_by: Option<String>,
    pub data_reviewed_at: Option<i64>,
    pub data_review_note: Option<String>,
    /// The canary set kept from the incident's records.
    pub canary: Option<CanarySet>,
}

impl IncidentRecord {
    pub fn is_open(&self) -> bool {
        self.status == "open"
    }
}

/// Files of an incident's records kept beside the database, each with its SHA-256, so a
/// retrained model can be tested against the attack it must still catch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanarySet {
    pub files: Vec<CanaryFile>,
    pub kept_by: String,
    pub kept_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanaryFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// An incident as a person opens it.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub title: String,
    pub started_ts: i64,
    pub alerts: Vec<i64>,
    pub opened_by: String,
    pub at: i64,
}

/// One retrain run: every field a retraining policy's `logging.log_fields` may list, with the
/// signature of the dataset digest and the provenance the policy asks to log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainRun {
    pub request_id: i64,
    pub model_version_id: i64,
    pub timestamp: String,
    pub requested_by: String,
    pub approved_by: String,
    pub approval_ticket_id: String,
    pub training_window_start: String,
    pub training_window_end: String,
    pub training_dataset_sha256: String,
    pub previous_model_sha256: String,
    pub new_model_sha256: String,
    pub adversarial_test_result: String,
    pub dataset_signature: Option<String>,
    pub signing_key: Option<String>,
    /// Data sources and their digests, anomaly alerts and incidents in the window.
    pub provenance: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainRunRecord {
    pub id: i64,
    #[serde(flatten)]
    pub run: RetrainRun,
}

/// Reads and writes of incidents and retrain runs inside one transaction.
pub trait RetrainingTx: StoreTx {
    fn incident(&mut self, id: i64) -> impl Future<Output = R<Option<IncidentRecord>>> + Send;
    fn list_incidents(&mut self) -> impl Future<Output = R<Vec<IncidentRecord>>> + Send;
    /// Alerts whose log time is in `[since, until)`, oldest first.
    fn alerts_between(
        &mut self,
        since: i64,
        until: i64,
    ) -> impl Future<Output = R<Vec<AlertRecord>>> + Send;
    fn insert_incident(
        &mut self,
        permit: &Permit,
        incident: &NewIncident,
    ) -> impl Future<Output = R<IncidentRecord>> + Send;
    /// Closes an open incident; false if it was not open.
    fn close_incident(
        &mut self,
        permit: &Permit,
        id: i64,
        ended_ts: i64,
        by: &str,
        note: &str,
        at: i64,
    ) -> impl Future<Output = R<bool>> + Send;
    /// Records the manual data review; false if the incident is open or already reviewed.
    fn review_incident_data(
        &mut self,
        permit: &Permit,
        id: i64,
        by: &str,
        note: &str,
        at: i64,
    ) -> impl Future<Output = R<bool>> + Send;
    fn set_incident_canary(
        &mut self,
        permit: &Permit,
        id: i64,
        canary: &CanarySet,
    ) -> impl Future<Output = R<()>> + Send;
    fn list_retrain_runs(&mut self) -> impl Future<Output = R<Vec<RetrainRunRecord>>> + Send;
    fn retrain_run_of(
        &mut self,
        request_id: i64,
    ) -> impl Future<Output = R<Option<RetrainRunRecord>>> + Send;
    /// `Conflict` when the request already has a run.
    fn insert_retrain_run(
        &mut self,
        permit: &Permit,
        run: &RetrainRun,
    ) -> impl Future<Output = R<RetrainRunRecord>> + Send;
}
