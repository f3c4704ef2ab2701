//! How `otsentry eval` prints its results: one line per dataset (the default, greppable), a
//! terminal table, or JSON for scripts.

use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};

use super::EvalResult;

/// The output format of `otsentry eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One line per dataset: `NAME auc=0.XXXX rows=N fit_ms=.. score_ms=..`.
    Lines,
    /// A table on the terminal, with outliers, the AUC's spread over repeats and the offset.
    Table,
    /// A JSON array with every figure, including each repeat's AUC.
    Json,
}

/// `NAME auc=0.XXXX rows=N fit_ms=.. score_ms=..`
pub fn line(result: &EvalResult) -> String {
    format!(
        "{} auc={:.4} rows={} fit_ms={:.1} score_ms={:.1}",
        result.name, result.auc, result.rows, result.fit_ms, result.score_ms
    )
}

pub fn table(results: &[EvalResult]) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "dataset", "rows", "features", "outliers", "auc", "auc sd", "offset", "fit ms", "score ms",
    ]);
    for result in results {
        let cells = vec![
            Cell::new(&result.name),
            Cell::new(result.rows),
            Cell::new(result.features),
            Cell::new(result.outliers),
            Cell::new(format!("{:.4}", result.auc)),
            Cell::new(format!("{:.4}", result.auc_std)),
            Cell::new(format!("{:.4}", result.offset)),
            Cell::new(format!("{:.1}", result.fit_ms)),
            Cell::new(format!("{:.1}", result.score_ms)),
        ];
        table.add_row(
            cells
                .into_iter()
                .enumerate()
                .map(|(column, cell)| {
                    if column == 0 {
                        cell
                    } else {
                        cell.set_alignment(CellAlignment::Right)
                    }
                })
                .collect::<Vec<_>>(),
        );
    }
    table.to_string()
}

pub fn json(results: &[EvalResult]) -> serde_json::Result<String> {
    serde_json::to_string_pretty(results)
}
