//! The registry's promotion rules on a real SQLite file through the governance service:
//! promotion refused without a passed certification of this exact artifact, during the staging
//! period, and with an unacknowledged baseline-diff item; the admin override audited; rollback;
//! and every change explained by the audit log.

mod common;

use otsentry::governance::{
    Actor, ConsolePerson, Governance, GovernanceError, StagingOverride, verify_store,
};
use otsentry::registry::DiffItem;
use otsentry::store::{ModelStage, NewModelVersion, SqliteStore, Store};

fn version(sha: &str) -> NewModelVersion {
    NewModelVersion {
        sha256: sha.to_string(),
        parent_id: None,
        path: format!("/models/{sha}.otm"),
        provenance: serde_json::json!({
            "window": { "start_utc": "2026-10-01T00:00:00Z", "end_utc": "2026-10-31T00:00:00Z" },
            "dataset_sha256": "d".repeat(64),
        }),
        registered_by: String::new(),
        at: 0,
    }
}

fn report(sha: &str) -> serde_json::Value {
    serde_json::json!({ "model_sha256": sha, "passed": true })
}

async fn person(governance: &Governance<SqliteStore>, name: &str, role: &str) -> ConsolePerson {
    common::enrolled(governance, name, &[role]).await;
    governance
        .console_login(name, &common::passphrase_of(name))
        .await
        .expect("console login")
}

fn refusal(result: Result<impl std::fmt::Debug, GovernanceError>) -> String {
    result.expect_err("refused").to_string()
}

/// The newest audit entries as (action, decision, reason).
async fn last_entries(governance_db: &std::path::Path, n: usize) -> Vec<(String, String, String)> {
    let store = SqliteStore::open(governance_db).await.expect("opens");
    let rows = store.audit_entries().await.expect("reads");
    rows.iter()
        .rev()
        .take(n)
        .map(|row| {
            let entry: serde_json::Value = serde_json::from_str(&row.json).expect("json");
            (
                entry["action"].as_str().unwrap_or_default().to_string(),
                entry["decision"].as_str().unwrap_or_default().to_string(),
                entry["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_model_reaches_production_only_through_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("otsentry.db");
    let governance = common::governance(&db, None).await;
    let analyst = person(&governance, "ana", "analyst").await;
    let admin = person(&governance, "root", "admin").await;
    let sha1 = "1".repeat(64);

    let v1 = governance
        .register_model(Actor::Local, version(&sha1), None)
        .await
        .expect("registered");
    assert_eq!(v1.stage, ModelStage::Candidate);
    // A candidate cannot skip staging, whatever else it has.
    let message = refusal(governance.promote_model(Actor::Local, v1.id, None).await);
    assert!(
        message.contains("only a staging model can be promoted"),
        "{message}"
    );
    governance
        .stage_model(Actor::Local, v1.id)
        .await
        .expect("staged");

    // Not certified, and inside the staging period.
    let message = refusal(governance.promote_model(Actor::Local, v1.id, None).await);
    assert!(message.contains("has no certification"), "{message}");
    assert!(
        message.contains("staging period of 3 day(s) cannot run: no model is in production"),
        "{message}"
    );
    let refused = last_entries(&db, 1).await;
    assert_eq!(refused[0].0, "promote_model");
    assert_eq!(refused[0].1, "refuse");

    // A certification of another artifact is not accepted for this one.
    let other = "f".repeat(64);
    let message = refusal(
        governance
            .record_certification(Actor::Local, v1.id, &report(&other), true)
            .await,
    );
    assert!(message.contains("not version 1"), "{message}");

    // A failed certification blocks even with the override.
    governance
        .record_certification(Actor::Local, v1.id, &report(&sha1), false)
        .await
        .expect("recorded");
    let over = StagingOverride {
        admin: &admin,
        justification: "emergency replacement of a broken model, ticket CHG-17",
    };
    let message = refusal(
        governance
            .promote_model(Actor::Local, v1.id, Some(over))
            .await,
    );
    assert!(
        message.contains("failed its adversarial certification"),
        "{message}"
    );
    // The override of a promotion that was refused is refused too, not left applied.
    let entries = last_entries(&db, 2).await;
    assert_eq!(entries[0].0, "override_staging_period");
    assert_eq!(entries[0].1, "refuse", "{entries:?}");
    assert!(entries[0].2.contains("is not applied"), "{entries:?}");
    assert_ne!(entries[1].0, "override_staging_period");

    governance
        .record_certification(Actor::Local, v1.id, &report(&sha1), true)
        .await
        .expect("recorded");
    // Still in staging: refused without an override.
    let message = refusal(governance.promote_model(Actor::Local, v1.id, None).await);
    assert!(message.contains("staging period"), "{message}");
    // Only an admin can override the staging period, and the refusal is audited.
    let not_admin = StagingOverride {
        admin: &analyst,
        justification: "I am in a hurry",
    };
    let message = refusal(
        governance
            .promote_model(Actor::Local, v1.id, Some(not_admin))
            .await,
    );
    assert!(message.contains("needs the admin role"), "{message}");
    let denied = last_entries(&db, 1).await;
    assert_eq!(denied[0].0, "override_staging_period");
    assert_eq!(denied[0].1, "deny");

    let promoted = governance
        .promote_model(Actor::Local, v1.id, Some(over))
        .await
        .expect("promoted with the admin's override");
    assert_eq!(promoted.stage, ModelStage::Production);
    let entries = last_entries(&db, 2).await;
    assert_eq!(entries[0].0, "promote_model");
    assert_eq!(entries[0].1, "applied");
    assert!(
        entries[0]
            .2
            .contains("staging period skipped by human:root"),
        "{}",
        entries[0].2
    );
    assert_eq!(entries[1].0, "override_staging_period");
    assert!(entries[1].2.contains("ticket CHG-17"), "{}", entries[1].2);

    // A second version learnt an edge production alerted on: it must be acknowledged.
    let sha2 = "2".repeat(64);
    let learnt = [DiffItem {
        kind: "edge",
        item: "10.0.0.101 -> 10.0.0.105:4444/tcp -".to_string(),
    }];
    // A diff computed against the wrong production is refused.
    let message = refusal(
        governance
            .register_model(Actor::Local, version(&sha2), Some((99, &learnt)))
            .await,
    );
    assert!(message.contains("compute it again"), "{message}");
    let v2 = governance
        .register_model(Actor::Local, version(&sha2), Some((v1.id, &learnt)))
        .await
        .expect("registered");
    assert_eq!(v2.parent_id, Some(v1.id));
    governance
        .stage_model(Actor::Local, v2.id)
        .await
        .expect("staged");
    governance
        .record_certification(Actor::Local, v2.id, &report(&sha2), true)
        .await
        .expect("recorded");
    let message = refusal(
        governance
            .promote_model(Actor::Local, v2.id, Some(over))
            .await,
    );
    assert!(
        message.contains("1 baseline-diff item(s) are not acknowledged"),
        "{message}"
    );
    assert_eq!(last_entries(&db, 1).await[0].1, "refuse");
    // Without the override, v2 has production to score beside but never did.
    let message = refusal(governance.promote_model(Actor::Local, v2.id, None).await);
    assert!(
        message.contains("never scored live traffic beside production"),
        "{message}"
    );
    assert!(
        message.contains("10.0.0.101 -> 10.0.0.105:4444/tcp"),
        "{message}"
    );

    let detail = governance
        .model_detail(Actor::Local, v2.id)
        .await
        .expect("detail");
    let item = detail.diff_items[0].id;
    let message = refusal(governance.acknowledge_diff_item(&analyst, item, "  ").await);
    assert!(message.contains("needs a justification"), "{message}");
    let acknowledged = governance
        .acknowledge_diff_item(&analyst, item, "the new historian, ticket CHG-18")
        .await
        .expect("acknowledged");
    assert_eq!(acknowledged.acknowledged_by.as_deref(), Some("human:ana"));
    let promoted = governance
        .promote_model(Actor::Local, v2.id, Some(over))
        .await
        .expect("promoted");
    assert_eq!(promoted.stage, ModelStage::Production);
    let versions = governance.list_models(Actor::Local).await.expect("list");
    assert_eq!(versions[0].stage, ModelStage::Archived);

    // Rollback puts the parent back and retires the current one.
    let restored = governance
        .rollback_model(Actor::Local, None, &|_| Ok(()))
        .await
        .expect("rolled back");
    assert_eq!(restored.id, v1.id);
    assert_eq!(restored.stage, ModelStage::Production);
    let versions = governance.list_models(Actor::Local).await.expect("list");
    assert_eq!(versions[1].stage, ModelStage::Archived);

    let card = otsentry::registry::card::model_card(
        &detail.version,
        &detail.diff_items,
        detail.staging.as_ref(),
        |t| t.to_string(),
    );
    assert!(card.contains("# Model card: version 2"), "{card}");

    governance.close().await;
    let store = SqliteStore::open(&db).await.expect("opens");
    verify_store(&store, &Default::default())
        .await
        .expect("reads")
        .expect("every registry row is explained by the audit log");
}

#[tokio::test]
async fn staging_evidence_is_recorded_only_for_a_staging_model() {
    use otsentry::store::{StagingCount, StagingDelta, StagingSide};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("otsentry.db");
    let governance = common::governance(&db, None).await;
    let v1 = governance
        .register_model(Actor::Local, version(&"4".repeat(64)), None)
        .await
        .expect("registered");
    let delta = StagingDelta {
        scored_micros: 1_000_000,
        records: 10,
        rows_scored: 9,
        production_sha256: "5".repeat(64),
        at: 1,
        counts: vec![StagingCount {
            day: "2026-10-01".into(),
            side: StagingSide::Staging,
            detector: "novelty".into(),
            rule: "new_source".into(),
            severity: "high".into(),
            alerts: 2,
        }],
    };
    let message = refusal(
        governance
            .record_staging_evidence(Actor::Local, v1.id, &delta)
            .await,
    );
    assert!(
        message.contains("recorded only for a staging model"),
        "{message}"
    );
    governance
        .stage_model(Actor::Local, v1.id)
        .await
        .expect("staged");
    for _ in 0..2 {
        governance
            .record_staging_evidence(Actor::Local, v1.id, &delta)
            .await
            .expect("recorded");
    }
    let evidence = governance
        .staging_evidence(Actor::Local, v1.id)
        .await
        .expect("reads")
        .expect("evidence");
    assert_eq!(evidence.records, 20);
    assert_eq!(evidence.scored_micros, 2_000_000);
    assert_eq!(evidence.counts.len(), 1);
    assert_eq!(evidence.counts[0].alerts, 4);
    // Evidence is of one (candidate, production) pair: beside another production model it
    // starts over.
    let beside_another = StagingDelta {
        production_sha256: "6".repeat(64),
        ..delta.clone()
    };
    governance
        .record_staging_evidence(Actor::Local, v1.id, &beside_another)
        .await
        .expect("recorded");
    let evidence = governance
        .staging_evidence(Actor::Local, v1.id)
        .await
        .expect("reads")
        .expect("evidence");
    assert_eq!(evidence.production_sha256, "6".repeat(64));
    assert_eq!(evidence.records, 10);
    assert_eq!(evidence.scored_micros, 1_000_000);
    assert_eq!(evidence.counts[0].alerts, 2);
    governance.close().await;
    let store = SqliteStore::open(&db).await.expect("opens");
    verify_store(&store, &Default::default())
        .await
        .expect("reads")
        .expect("every evidence row is explained by the audit log");
}

#[tokio::test]
async fn an_ai_principal_cannot_promote_a_model() {
    use otsentry::governance::{AiComponent, PrincipalKind};
    let dir = tempfile::tempdir().unwrap();
    let governance = common::governance(&dir.path().join("otsentry.db"), None).await;
    let scorer = governance
        .create_principal(
            Actor::Local,
            "scorer",
            PrincipalKind::Ai {
                component: AiComponent::Scorer,
            },
        )
        .await
        .expect("created");
    let v1 = governance
        .register_model(Actor::Local, version(&"3".repeat(64)), None)
        .await
        .expect("registered");
    let message = refusal(
        governance
            .promote_model(Actor::Principal(&scorer), v1.id, None)
            .await,
    );
    assert!(message.starts_with("refused:"), "{message}");
}

/// The version in production, if any.
async fn production_id(governance: &Governance<SqliteStore>) -> Option<i64> {
    governance
        .list_models(Actor::Local)
        .await
        .expect("list")
        .into_iter()
        .find(|v| v.stage == ModelStage::Production)
        .map(|v| v.id)
}

/// A rollback restores only a version that ran in production before and still holds a passed
/// certification of its artifact: a rejected version, archived without ever running, cannot
/// reach production through it, and neither can one whose certification is no longer a pass.
#[tokio::test]
async fn a_rollback_restores_only_a_version_that_ran_in_production_and_is_still_certified() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("otsentry.db");
    let governance = common::governance(&db, None).await;
    let admin = person(&governance, "root", "admin").await;
    let over = StagingOverride {
        admin: &admin,
        justification: "the site's first model, CHG-1",
    };
    let mut ids = Vec::new();
    for digit in ["7", "8", "9"] {
        let sha = digit.repeat(64);
        let production = production_id(&governance).await;
        let registered = governance
            .register_model(
                Actor::Local,
                version(&sha),
                production.map(|id| (id, &[][..])),
            )
            .await
            .expect("registered");
        governance
            .record_certification(Actor::Local, registered.id, &report(&sha), true)
            .await
            .expect("recorded");
        governance
            .stage_model(Actor::Local, registered.id)
            .await
            .expect("staged");
        ids.push(registered.id);
        if digit != "8" {
            governance
                .promote_model(Actor::Local, registered.id, Some(over))
                .await
                .expect("promoted");
        }
    }
    let (v1, v2, v3) = (ids[0], ids[1], ids[2]);
    // Version 2 is rejected from staging: archived, certified, never in production.
    let message = refusal(governance.reject_model(Actor::Local, v2, " ").await);
    assert!(message.contains("needs a reason"), "{message}");
    let rejected = governance
        .reject_model(Actor::Local, v2, "learnt the contractor's laptop, CHG-20")
        .await
        .expect("rejected");
    assert_eq!(rejected.stage, ModelStage::Archived);
    let message = refusal(
        governance
            .rollback_model(Actor::Local, Some(v2), &|_| Ok(()))
            .await,
    );
    assert!(
        message.contains("version 2 was never in production"),
        "{message}"
    );
    assert!(message.contains("otsentry model promote"), "{message}");
    assert_eq!(last_entries(&db, 1).await[0].1, "refuse");

    // Version 1 ran in production; once its certification on record fails, it cannot return.
    governance
        .record_certification(Actor::Local, v1, &report(&"7".repeat(64)), false)
        .await
        .expect("recorded");
    let message = refusal(
        governance
            .rollback_model(Actor::Local, None, &|_| Ok(()))
            .await,
    );
    assert!(
        message.contains("version 1 has no passed certification of its artifact"),
        "{message}"
    );
    assert!(message.contains("its certification failed"), "{message}");
    // Certified again, the default rollback (version 3's parent) restores it.
    governance
        .record_certification(Actor::Local, v1, &report(&"7".repeat(64)), true)
        .await
        .expect("recorded");
    // Its file gone from disk, the rollback is refused before anything changes: production
    // would otherwise point at nothing that can run.
    let message = refusal(
        governance
            .rollback_model(Actor::Local, None, &|version| {
                Err(format!("{} is missing", version.path))
            })
            .await,
    );
    assert!(
        message.contains(&format!(
            "version 1's artifact /models/{}.otm cannot be restored",
            "7".repeat(64)
        )),
        "{message}"
    );
    assert!(
        message.contains("is missing; production is unchanged"),
        "{message}"
    );
    assert_eq!(last_entries(&db, 1).await[0].1, "refuse");
    assert_eq!(
        production_id(&governance).await,
        Some(v3),
        "production is still version 3"
    );
    let restored = governance
        .rollback_model(Actor::Local, None, &|_| Ok(()))
        .await
        .expect("rolled back");
    assert_eq!(restored.id, v1);
    assert_eq!(restored.stage, ModelStage::Production);
    // And version 3, which ran, can come back by name.
    let restored = governance
        .rollback_model(Actor::Local, Some(v3), &|_| Ok(()))
        .await
        .expect("rolled back");
    assert_eq!(restored.id, v3);
    governance.close().await;
    let store = SqliteStore::open(&db).await.expect("opens");
    verify_store(&store, &Default::default())
        .await
        .expect("reads")
        .expect("every registry row is explained by the audit log");
}
