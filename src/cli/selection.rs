//! The reading flags `inspect`, `train` and `score` share: which records are OT traffic, and the
//! column names of header-less logs. One definition, so the three commands behave the same.

use anyhow::Context;
use clap::Args;

use crate::ot::{OtConfig, OtSelector};
use crate::sources::SourceOptions;

/// How logs are read and which records are OT traffic.
#[derive(Debug, Clone, Default, Args)]
pub struct SelectionArgs {
    /// conn.log services counted as OT, comma-separated (default: modbus, dnp3, dnp3_tcp,
    /// dnp3_udp, enip, cip, s7comm, s7comm-plus, bacnet).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub ot_services: Option<Vec<String>>,
    /// Responder ports counted as OT when service names no OT protocol, comma-separated
    /// (default: 502, 20000, 44818, 2222, 102, 47808).
    #[arg(long, value_delimiter = ',', value_name = "PORT,...")]
    pub ot_ports: Option<Vec<u16>>,
    /// Column names for logs without a #fields header (zeek-cut output), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub fields: Option<Vec<String>>,
    /// Stop at the first malformed line and fail with its location, instead of skipping it.
    #[arg(long)]
    pub strict: bool,
}

impl SelectionArgs {
    /// True when the OT selection was given on the command line.
    pub fn names_ot_selection(&self) -> bool {
        self.ot_services.is_some() || self.ot_ports.is_some()
    }

    /// The OT selection: the flags over `base`.
    pub fn ot_config(&self, base: OtConfig) -> OtConfig {
        let mut config = base;
        if let Some(services) = &self.ot_services {
            config.services = services.clone();
        }
        if let Some(ports) = &self.ot_ports {
            config.ports = ports.clone();
        }
        config
    }

    /// The checked OT selection over the defaults.
    pub fn selector(&self) -> anyhow::Result<OtSelector> {
        self.ot_config(OtConfig::default())
            .check()
            .context("invalid OT selection (--ot-services, --ot-ports)")
    }

    /// The source options with `ot` as the selection.
    pub fn source(&self, ot: OtSelector) -> SourceOptions {
        SourceOptions {
            read: zeek::ReadOptions {
                strict: self.strict,
                fields: self.fields.clone(),
                ..zeek::ReadOptions::default()
            },
            ot,
        }
    }
}
