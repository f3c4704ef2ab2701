//! `otsentry triage ALERT_ID` (advice for one stored alert, written as the triage assistant's
//! annotation, with drafts for any plant change) and `otsentry triage backtest` (the provider
//! against the alerts analysts decided). The provider and its limits come from `--config`
//! (YAML, docs/triage.md) and the flags, which win.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use comfy_table::Table;

use super::common::{Format, GovArgs, open_governance, runtime};
use crate::governance::{Actor, AiAlertWriter, AiComponent, Governance, PrincipalKind};
use crate::inventory::{Inventory, load_inventory};
use crate::store::{
    AlertDecision, AlertRecord, RecommendationRecord, RecommendationStatus, SqliteStore,
};
use crate::triage::backtest::{self, Case, Truth};
use crate::triage::config::{self, ProviderKind, TriageSection, TriageSettings};
use crate::triage::record::{record, siem_events};
use crate::triage::{Classification, TriageContext, TriageEvent, triage_one};

#[derive(Debug, Args)]
pub struct TriageArgs {
    /// The alert to triage (its id in the database), or `backtest` to replay the alerts
    /// analysts confirmed or rejected and report the agreement: confusion matrix, dangerous
    /// cell, forced rewrites, analyst overrides.
    #[arg(value_name = "ALERT_ID|backtest")]
    pub target: String,
    /// Backtest: at most this many alerts, newest first.
    #[arg(long, default_value_t = 1000)]
    pub limit: i64,
    /// Backtest: open a governance review (a recommendation pending a person's decision, to
    /// stop using the provider) when the dangerous cell is not empty or the disagreement with
    /// analysts is above --max-disagreement.
    #[arg(long)]
    pub open_review: bool,
    /// Backtest: the share of decided alerts (0 to 1) the provider may disagree on before
    /// --open-review opens a review.
    #[arg(long, default_value_t = 0.2, requires = "open_review")]
    pub max_disagreement: f64,
    #[command(flatten)]
    pub common: TriageCommon,
}

/// What both commands need: the database, the provider, the inventory.
#[derive(Debug, Args)]
pub struct TriageCommon {
    #[command(flatten)]
    pub gov: GovArgs,
    /// Triage configuration file (YAML, `triage:` section; docs/triage.md).
    #[arg(long = "config", env = "OTSENTRY_TRIAGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The provider: rules (offline, the default), anthropic, openai (llama.cpp, Ollama, vLLM).
    #[arg(long, value_enum)]
    pub provider: Option<ProviderKind>,
    #[arg(long)]
    pub model: Option<String>,
    /// The provider's base URL, such as http://127.0.0.1:8080 for a local llama.cpp server.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// The environment variable holding the API key.
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// Seconds one provider call may take.
    #[arg(long)]
    pub sla_seconds: Option<f64>,
    /// Asset inventory files, for both ends' context and the maintenance windows.
    #[arg(long = "inventory", value_delimiter = ',')]
    pub inventory: Vec<PathBuf>,
    /// The triage assistant's AI principal (component `triage`), which writes the annotation.
    #[arg(long = "as", default_value = "triage")]
    pub principal: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

impl TriageCommon {
    fn settings(&self) -> anyhow::Result<TriageSettings> {
        let file = match &self.config {
            Some(path) => config::load(path)?,
            None => TriageSection::default(),
        };
        let flags = TriageSection {
            provider: self.provider,
            model: self.model.clone(),
            endpoint: self.endpoint.clone(),
            api_key_env: self.api_key_env.clone(),
            sla_seconds: self.sla_seconds,
            ..TriageSection::default()
        };
        Ok(file.overlay(flags).check()?)
    }

    fn inventory(&self) -> anyhow::Result<Option<Inventory>> {
        if self.inventory.is_empty() {
            return Ok(None);
        }
        load_inventory(&self.inventory)
            .map(Some)
            .context("the inventory is not valid")
    }
}

pub fn run(args: TriageArgs) -> anyhow::Result<()> {
    if args.target == "backtest" {
        anyhow::ensure!(
            (0.0..=1.0).contains(&args.max_disagreement),
            "--max-disagreement must be a share from 0 to 1, not {}",
            args.max_disagreement
        );
        let review = args.open_review.then_some(args.max_disagreement);
        return run_backtest(args.limit, review, &args.common);
    }
    let alert_id = args
        .target
        .parse::<i64>()
        .map_err(|_| anyhow::anyhow!("`{}` is neither an alert id nor `backtest`", args.target))?;
    run_one(alert_id, &args.common)
}

/// The triage assistant's handle: principal `name`, which must be the AI component `triage`.
pub async fn triage_writer(
    governance: &Governance<SqliteStore>,
    name: &str,
) -> anyhow::Result<AiAlertWriter<SqliteStore>> {
    ai_writer_of(governance, name, AiComponent::Triage).await
}

/// The handle of AI principal `name`, which must be of `component`.
pub async fn ai_writer_of(
    governance: &Governance<SqliteStore>,
    name: &str,
    component: AiComponent,
) -> anyhow::Result<AiAlertWriter<SqliteStore>> {
    let kind = component.name();
    let principal = governance
        .list_principals(Actor::Local)
        .await?
        .into_iter()
        .find(|principal| principal.name == name)
        .with_context(|| {
            format!("no principal `{name}`; create it with `otsentry principal add {name} --component {kind}`")
        })?;
    let role = match component {
        AiComponent::Triage => "the triage assistant",
        AiComponent::Scorer => "the detectors' scorer",
    };
    anyhow::ensure!(
        principal.kind == (PrincipalKind::Ai { component }),
        "principal `{}` is not {role} (an AI principal of component {kind})",
        principal.name
    );
    Ok(governance.ai_writer(principal)?)
}

/// The settings of `watch --triage [CONFIG]` and `serve --triage [CONFIG]`: the file's, or the
/// offline rules without one.
pub fn settings_from(config: Option<&std::path::Path>) -> anyhow::Result<TriageSettings> {
    let section = match config {
        Some(path) => config::load(path)?,
        None => TriageSection::default(),
    };
    Ok(section.check()?)
}

async fn recent_alerts(governance: &Governance<SqliteStore>) -> anyhow::Result<Vec<AlertRecord>> {
    Ok(governance.list_alerts(Actor::Local, None, 10_000).await?)
}

fn run_one(alert_id: i64, common: &TriageCommon) -> anyhow::Result<()> {
    let settings = common.settings()?;
    let inventory = common.inventory()?;
    let provider = settings.build_provider();
    let sla = settings.triager.sla;
    runtime()?.block_on(async {
        let governance = open_governance(&common.gov).await?;
        let writer = triage_writer(&governance, &common.principal).await?;
        let detail = governance
            .alert_detail(Actor::Local, alert_id)
            .await
            .with_context(|| format!("cannot read alert {alert_id}"))?;
        let recent = recent_alerts(&governance).await?;
        let context = TriageContext::build(&detail.alert, inventory.as_ref(), &recent);
        let advice = {
            let provider = Arc::clone(&provider);
            tokio::task::spawn_blocking(move || triage_one(&provider, &context, sla))
                .await
                .context("the triage call stopped")?
        };
        let recorded = record(&writer, alert_id, &advice)
            .await
            .context("cannot record the advice")?;
        // Every draft stored beside the alert, this triage's and earlier ones, with its status.
        let drafts: Vec<RecommendationRecord> = governance
            .list_recommendations(Actor::Local, None)
            .await?
            .into_iter()
            .filter(|draft| draft.recommendation.alert_id == Some(alert_id))
            .collect();
        if common.format == Format::Json {
            let mut events = siem_events(alert_id, &advice, &recorded);
            events.truncate(1);
            events.extend(drafts.iter().map(TriageEvent::recommendation));
            for event in events {
                println!("{}", event.to_json_line());
            }
            return Ok(());
        }
        let mut table = Table::new();
        table.set_header(["field", "value"]);
        table.add_row(["alert".to_string(), alert_id.to_string()]);
        table.add_row([
            "classification".to_string(),
            advice.classification.name().to_string(),
        ]);
        table.add_row([
            "confidence".to_string(),
            format!("{:.2}", advice.confidence),
        ]);
        table.add_row(["reasoning".to_string(), advice.reasoning.clone()]);
        table.add_row([
            "actions".to_string(),
            advice.recommended_analyst_actions.join("\n"),
        ]);
        table.add_row(["data gaps".to_string(), advice.data_gaps.join("\n")]);
        table.add_row([
            "techniques".to_string(),
            advice.attack_techniques.join(", "),
        ]);
        table.add_row([
            "provider".to_string(),
            format!("{} ({})", advice.provider, advice.model),
        ]);
        if let Some(reason) = advice.llm_triage_skipped {
            table.add_row(["llm_triage_skipped".to_string(), reason.name().to_string()]);
        }
        for rewrite in &advice.rewrites {
            table.add_row([format!("rewrite {}", rewrite.rule), rewrite.detail.clone()]);
        }
        for draft in &drafts {
            let new = recorded.drafts.iter().any(|made| made.id == draft.id);
            table.add_row([
                format!("draft {}{}", draft.id, if new { " (new)" } else { "" }),
                format!(
                    "{} {} -> {} ({})",
                    draft.recommendation.kind,
                    draft.recommendation.target,
                    draft.recommendation.proposed_value,
                    draft.status
                ),
            ]);
        }
        println!("{table}");
        println!(
            "advisory only: a person reviews this alert and decides; triage note {} recorded",
            recorded.annotation.id
        );
        Ok(())
    })
}

/// Opens the review the report calls for, unless one for this provider is still pending.
async fn open_review(
    governance: &Governance<SqliteStore>,
    principal: &str,
    report: &backtest::BacktestReport,
    max_disagreement: f64,
) -> anyhow::Result<Option<RecommendationRecord>> {
    let Some(draft) = backtest::review(report, max_disagreement) else {
        return Ok(None);
    };
    let pending = governance
        .list_recommendations(
            Actor::Local,
            Some(RecommendationStatus::PendingHumanApproval),
        )
        .await?;
    if let Some(open) = pending
        .into_iter()
        .find(|open| open.recommendation.target == draft.target)
    {
        return Ok(Some(open));
    }
    let writer = triage_writer(governance, principal).await?;
    Ok(Some(writer.draft_recommendation(draft).await?))
}

fn run_backtest(limit: i64, review: Option<f64>, common: &TriageCommon) -> anyhow::Result<()> {
    let settings = common.settings()?;
    let inventory = common.inventory()?;
    let provider = settings.build_provider();
    let sla = settings.triager.sla;
    let (report, opened) = runtime()?.block_on(async {
        let governance = open_governance(&common.gov).await?;
        let alerts = governance.list_alerts(Actor::Local, None, limit).await?;
        let mut cases = Vec::new();
        for alert in &alerts {
            let detail = governance.alert_detail(Actor::Local, alert.id).await?;
            let Some(decision) = detail.decisions.iter().find(|decision| {
                matches!(
                    decision.decision,
                    AlertDecision::Confirm | AlertDecision::Reject
                )
            }) else {
                continue;
            };
            let truth = if decision.decision == AlertDecision::Confirm {
                Truth::Confirmed
            } else {
                Truth::Rejected
            };
            cases.push(Case {
                alert_id: alert.id,
                truth,
                context: TriageContext::build(alert, inventory.as_ref(), &alerts),
                earlier_advice: detail
                    .triage
                    .iter()
                    .filter(|note| note.created_at <= decision.created_at)
                    .map(|note| note.triage.recommendation)
                    .collect(),
            });
        }
        let report = tokio::task::spawn_blocking(move || backtest::run(&cases, &provider, sla))
            .await
            .context("the backtest stopped")?;
        let opened = match review {
            Some(max) => open_review(&governance, &common.principal, &report, max).await?,
            None => None,
        };
        anyhow::Ok((report, opened))
    })?;
    if common.format == Format::Json {
        let mut value = serde_json::to_value(&report)?;
        value["review_recommendation_id"] = serde_json::json!(opened.as_ref().map(|open| open.id));
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "provider {} ({}), {} decided alerts",
        report.provider, report.model, report.cases
    );
    let mut table = Table::new();
    table.set_header([
        "analyst \\ assistant",
        "likely_benign",
        "requires_investigation",
        "high_priority_escalate",
    ]);
    for (truth, row) in &report.matrix {
        let mut cells = vec![truth.name().to_string()];
        cells.extend(
            Classification::ALL
                .iter()
                .map(|class| row.get(*class).to_string()),
        );
        table.add_row(cells);
    }
    println!("{table}");
    println!("agreement: {:.1}%", report.agreement * 100.0);
    println!(
        "dangerous cell (confirmed by analysts, called likely_benign): {}{}",
        report.dangerous.len(),
        if report.dangerous.is_empty() {
            String::new()
        } else {
            format!(
                " (alerts {})",
                report
                    .dangerous
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    for (rule, count) in &report.rewrites {
        println!("rewrite forced: {rule} x{count}");
    }
    for (reason, count) in &report.skipped {
        println!("skipped: {reason} x{count}");
    }
    println!(
        "analyst overrides: {} of {} advised alerts; recommended dismissals followed: {}",
        report.overrides.overridden, report.overrides.advised, report.overrides.dismissals_followed
    );
    if report.review_required {
        println!(
            "review required: the dangerous cell is not empty; do not rely on this provider's likely_benign"
        );
    }
    if let Some(open) = &opened {
        println!(
            "review open: recommendation {} ({}), for a person to decide through POST /v1/recommendations/{}/decision",
            open.id, open.status, open.id
        );
    }
    Ok(())
}
