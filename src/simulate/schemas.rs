//! The field layouts of the logs the simulator writes, copied from real Zeek and ICSNPP output.
//!
//! Each layout is the `#fields`/`#types` pair of a current file in `shared/data/zeek-real`
//! (Zeek's own conn.log with `ip_proto` and modbus.log with `pdu_type`; the ICSNPP btest
//! baselines for modbus_detailed, dnp3, dnp3_control, enip, cip and cip_io), so that the
//! simulator's output has exactly the columns a current sensor writes.

use zeek::write::{FieldType, LogSchema};

/// `conn.log`, as in `zeek/baseline/modbus.modbus_and_non_modbus_on_port_502/conn.log`.
pub fn conn() -> LogSchema {
    LogSchema::new(
        "conn",
        &[
            ("ts", FieldType::Time),
            ("uid", FieldType::String),
            ("id.orig_h", FieldType::Addr),
            ("id.orig_p", FieldType::Port),
            ("id.resp_h", FieldType::Addr),
            ("id.resp_p", FieldType::Port),
            ("proto", FieldType::Enum),
            ("service", FieldType::String),
            ("duration", FieldType::Interval),
            ("orig_bytes", FieldType::Count),
            ("resp_bytes", FieldType::Count),
            ("conn_state", FieldType::String),
            ("local_orig", FieldType::Bool),
            ("local_resp", FieldType::Bool),
            ("missed_bytes", FieldType::Count),
            ("history", FieldType::String),
            ("orig_pkts", FieldType::Count),
            ("orig_ip_bytes", FieldType::Count),
            ("resp_pkts", FieldType::Count),
            ("resp_ip_bytes", FieldType::Count),
            ("tunnel_parents", FieldType::SetString),
            ("ip_proto", FieldType::Count),
        ],
    )
}

/// `modbus.log`, as in `zeek/baseline/modbus.modbus_and_non_modbus_on_port_502/modbus.log`.
pub fn modbus() -> LogSchema {
    LogSchema::new(
        "modbus",
        &[
            ("ts", FieldType::Time),
            ("uid", FieldType::String),
            ("id.orig_h", FieldType::Addr),
            ("id.orig_p", FieldType::Port),
            ("id.resp_h", FieldType::Addr),
            ("id.resp_p", FieldType::Port),
            ("tid", FieldType::Count),
            ("unit", FieldType::Count),
            ("func", FieldType::String),
            ("pdu_type", FieldType::String),
            ("exception", FieldType::String),
        ],
    )
}

/// `modbus_detailed.log`, as in `icsnpp-modbus/baseline-head/modbus_detailed.log`.
pub fn modbus_detailed() -> LogSchema {
    LogSchema::new(
        "modbus_detailed",
        &[
            ("ts", FieldType::Time),
            ("uid", FieldType::String),
            ("id.orig_h", FieldType::Addr),
            ("id.orig_p", FieldType::Port),
            ("id.resp_h", FieldType::Addr),
            ("id.resp_p", FieldType::Port),
            ("tid", FieldType::Count),
            ("unit", FieldType::Count),
            ("func", FieldType::String),
            ("address", FieldType::Count),
            ("quantity", FieldType::Count),
            ("request_values", FieldType::VectorCount),
            ("response_values", FieldType::VectorCount),
            ("modbus_detailed_link_id", FieldType::String),
            ("matched", FieldType::Bool),
            ("request_subfunction_code", FieldType::String),
            ("response_subfunction_code", FieldType::String),
            ("request_data", FieldType::String),
            ("response_data", FieldType::String),
            ("exception_code", FieldType::String),
            ("mei_type", FieldType::String),
        ],
    )
}

/// `dnp3.log`, as in `icsnpp-dnp3/baseline-head/dnp3.log`.
pub fn dnp3() -> LogSchema {
    LogSchema::new(
        "dnp3",
        &[
            ("ts", FieldType::Time),
            ("uid", FieldType::String),
            ("id.orig_h", FieldType::Addr),
            ("id.orig_p", FieldType::Port),
            ("id.resp_h", FieldType::Addr),
            ("id.resp_p", FieldType::Port),
            ("fc_request", FieldType::String),
            ("fc_reply", FieldType::String),
            ("iin", FieldType::Count),
        ],
    )
}

/// `dnp3_control.log`, as in `icsnpp-dnp3/baseline-head/dnp3_control.log`.
pub fn dnp3_control() -> LogSchema {
    LogSchema::new(
        "dnp3_control",
        &[
            ("ts", FieldType::Time),
            ("uid", FieldType::String),
            ("id.orig_h", FieldType::Addr),
            ("id.orig_p", FieldType::Port),
            ("id.resp_h", FieldType::Addr),
            ("id.resp_p", FieldType::Port),
            ("is_orig", FieldType::Bool),
            ("source_h", FieldType::Addr),
            ("source_p", FieldType::Port),
            ("destination_h", FieldType::Addr),
            ("destination_p", FieldType::Port),
            ("block_type", FieldType::String),
            ("function_code", FieldType::String),
            ("index_number", FieldType::Count),
            ("trip_control_code", FieldType::String),
            ("operation_type", FieldType::String),
            ("clear_bit", FieldType::Bool),
            ("execute_count", FieldType::Count),
            ("on_time", FieldType::Count),
            ("off_time", FieldType::Count),
            ("status_code", FieldType::String),
        ],
    )
}

/// `enip.log`, as in `icsnpp-enip/baseline-2023/enip.log`.
pub fn enip() -> LogSchema {
    LogSchema::new(
        "enip",
        &[
            ("ts", FieldType::Time),
            ("uid", FieldType::String),
            ("id.orig_h", FieldType::Addr),
            ("id.orig_p", FieldType::Port),
            ("id.resp_h", FieldType::Addr),
            ("id.resp_p", FieldType::Port),
            ("is_orig", FieldType::Bool),
            ("source_h", FieldType::Addr),
            ("source_p", FieldType::Port),
            ("destination_h", FieldType::Addr),
            ("destination_p", FieldType::Port),
            ("enip_command_code", FieldType::String),
            ("enip_command", FieldType::String),
            ("length", FieldType::Count),
            ("session_handle", FieldType::String),
            ("enip_status", FieldType::String),
            ("sender_context", FieldType::String),
            ("options", FieldType::String),
        ],
    )
}

/// `cip.log`, as in `icsnpp-enip/baseline-2023/cip.log`.
pub fn cip() -> LogSchema {
    LogSchema::new(
        "cip",
        &[
            ("ts", FieldType::Time),
            ("uid", FieldType::String),
            ("id.orig_h", FieldType::Addr),
            ("id.orig_p", FieldType::Port),
            ("id.resp_h", FieldType::Addr),
            ("id.resp_p", FieldType::Port),
            ("is_orig", FieldType::Bool),
            ("source_h", FieldType::Addr),
            ("source_p", FieldType::Port),
            ("destination_h", FieldType::Addr),
            ("destination_p", FieldType::Port),
            ("cip_sequence_count", FieldType::Count),
            ("direction", FieldType::String),
            ("cip_service_code", FieldType::String),
            ("cip_service", FieldType::String),
            ("cip_status_code", FieldType::String),
            ("cip_status", FieldType::String),
            ("cip_extended_status_code", FieldType::String),
            ("cip_extended_status", FieldType::String),
            ("class_id", FieldType::String),
            ("class_name", FieldType::String),
            ("instance_id", FieldType::String),
            ("attribute_id", FieldType::String),
        ],
    )
}

/// `cip_io.log`, as in `icsnpp-enip/baseline-2023/cip_io.log`.
pub fn cip_io() -> LogSchema {
    LogSchema::new(
        "cip_io",
        &[
            ("ts", FieldType::Time),
            ("uid", FieldType::String),
            ("id.orig_h", FieldType::Addr),
            ("id.orig_p", FieldType::Port),
            ("id.resp_h", FieldType::Addr),
            ("id.resp_p", FieldType::Port),
            ("is_orig", FieldType::Bool),
            ("source_h", FieldType::Addr),
            ("source_p", FieldType::Port),
            ("destination_h", FieldType::Addr),
            ("destination_p", FieldType::Port),
            ("connection_id", FieldType::String),
            ("sequence_number", FieldType::Count),
            ("data_length", FieldType::Count),
            ("io_data", FieldType::String),
        ],
    )
}
