//! Sample alerts for tests, fuzz targets and benches of the sinks: built like the pipeline's, with
//! every field set, and `n` making each one distinct (its id, addresses and uid).

use std::net::{IpAddr, Ipv4Addr};

use crate::alerts::{Alert, AlertState};
use crate::detect::{Reason, Scores, Seen, Severity, Subject};
use crate::features::Schema;

/// The `n`th sample alert: a new source polling a PLC on 502.
pub fn alert(n: u64) -> Alert {
    let src = IpAddr::V4(Ipv4Addr::new(10, 0, (n >> 8) as u8, n as u8));
    let dst = IpAddr::V4(Ipv4Addr::new(10, 10, 1, 20));
    let ts = 1_700_000_000.0 + n as f64 * 0.25;
    Alert {
        id: format!("{n:032x}"),
        state: AlertState::Open,
        detector: "novelty".into(),
        rule: "new_source".into(),
        title: "New source talks Modbus to a PLC".into(),
        severity: Severity::ALL[(n % 4) as usize],
        subject: Subject {
            src: Some(src),
            dst: Some(dst),
        },
        count: 1,
        first_seen: ts,
        last_seen: ts,
        seen: Seen {
            ts,
            uid: format!("C{n:017}"),
            src,
            src_port: 40000 + (n % 20000) as u16,
            dst,
            dst_port: 502,
            transport: "tcp".into(),
            service: "modbus".into(),
            record: Schema::Conn,
            ot: true,
        },
        uids: vec![format!("C{n:017}")],
        reasons: vec![Reason::new(
            format!("new source {src}"),
            "never originated in training",
        )],
        techniques: vec!["T0846".into(), "T0888".into()],
        scores: Some(Scores {
            anomaly_score: -0.125,
            score_samples: -0.625,
        }),
        model_sha256: "ab".repeat(32),
        assets: None,
    }
}
