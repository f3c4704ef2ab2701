//! Modbus views: Zeek's modbus.log and the ICSNPP modbus_detailed.log and
//! modbus_read_write_multiple_registers.log, across their schema changes (`unit` vs `unit_id`,
//! `values` vs `request_values`/`response_values`, direction as `pdu_type`, `is_orig`,
//! `request_response` or `network_direction`).

use std::borrow::Cow;

use crate::field::SetItems;
use crate::header::Header;
use crate::record::{Bad, Record};
use crate::views::{
    Columns, Common, DIRECTION_COLUMNS, Direction, FieldError, IdColumns, MissingColumn, optional,
    read_direction, required,
};

fn items<'a>(record: &Record<'a>, idx: Option<usize>) -> SetItems<'a> {
    match idx {
        Some(idx) => record.set(idx),
        None => SetItems::new(None, ","),
    }
}

/// One modbus.log record: one request or response.
#[derive(Debug, Clone, PartialEq)]
pub struct Modbus<'a> {
    pub common: Common<'a>,
    /// Modbus/TCP transaction id (newer logs).
    pub tid: Option<u64>,
    /// Unit (slave) id, from `unit` or `unit_id` (newer logs).
    pub unit: Option<u64>,
    /// The function name (`READ_HOLDING_REGISTERS`, `WRITE_SINGLE_COIL`, ...).
    pub func: Option<Cow<'a, str>>,
    /// From `pdu_type` (newer logs); older logs have one line per request/response pair.
    pub direction: Option<Direction>,
    pub exception: Option<Cow<'a, str>>,
}

/// Column indexes of a modbus.log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModbusColumns {
    pub id: IdColumns,
    pub tid: Option<usize>,
    pub unit: Option<usize>,
    pub func: usize,
    pub direction: Option<usize>,
    pub exception: Option<usize>,
}

impl Columns for ModbusColumns {
    type Row<'a> = Modbus<'a>;
    const VIEW: &'static str = "modbus";

    fn resolve(header: &Header) -> Result<ModbusColumns, MissingColumn> {
        Ok(ModbusColumns {
            id: IdColumns::resolve(Self::VIEW, header)?,
            tid: optional(header, &["tid"]),
            unit: optional(header, &["unit", "unit_id"]),
            func: required(Self::VIEW, header, &["func"])?,
            direction: optional(header, DIRECTION_COLUMNS),
            exception: optional(header, &["exception", "exception_code"]),
        })
    }

    fn read<'a>(&self, record: &Record<'a>) -> Result<Modbus<'a>, FieldError> {
        self.read_fast(record).map_err(|bad| record.explain(bad))
    }
}

impl ModbusColumns {
    fn read_fast<'a>(&self, record: &Record<'a>) -> Result<Modbus<'a>, Bad> {
        Ok(Modbus {
            common: self.id.read_fast(record)?,
            tid: record.u64_opt(self.tid)?,
            unit: record.u64_opt(self.unit)?,
            func: record.text(self.func),
            direction: read_direction(record, self.direction)?,
            exception: record.text_opt(self.exception),
        })
    }
}

/// One modbus_detailed.log record: a request or response with its registers.
#[derive(Debug, Clone)]
pub struct ModbusDetailed<'a> {
    pub common: Common<'a>,
    pub tid: Option<u64>,
    pub unit: Option<u64>,
    pub func: Option<Cow<'a, str>>,
    pub direction: Option<Direction>,
    /// Start address.
    pub address: Option<u64>,
    pub quantity: Option<u64>,
    /// The 2021/2022 schema's single `values` column.
    pub values: SetItems<'a>,
    /// The current schema's request values.
    pub request_values: SetItems<'a>,
    /// The current schema's response values.
    pub response_values: SetItems<'a>,
    pub exception: Option<Cow<'a, str>>,
    /// Whether request and response were matched (current schema).
    pub matched: Option<bool>,
}

/// Column indexes of a modbus_detailed.log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModbusDetailedColumns {
    pub id: IdColumns,
    pub tid: Option<usize>,
    pub unit: Option<usize>,
    pub func: usize,
    pub direction: Option<usize>,
    pub address: Option<usize>,
    pub quantity: Option<usize>,
    pub values: Option<usize>,
    pub request_values: Option<usize>,
    pub response_values: Option<usize>,
    pub exception: Option<usize>,
    pub matched: Option<usize>,
}

impl Columns for ModbusDetailedColumns {
    type Row<'a> = ModbusDetailed<'a>;
    const VIEW: &'static str = "modbus_detailed";

    fn resolve(header: &Header) -> Result<ModbusDetailedColumns, MissingColumn> {
        Ok(ModbusDetailedColumns {
            id: IdColumns::resolve(Self::VIEW, header)?,
            tid: optional(header, &["tid"]),
            unit: optional(header, &["unit", "unit_id"]),
            func: required(Self::VIEW, header, &["func"])?,
            direction: optional(header, DIRECTION_COLUMNS),
            address: optional(header, &["address"]),
            quantity: optional(header, &["quantity"]),
            values: optional(header, &["values"]),
            request_values: optional(header, &["request_values"]),
            response_values: optional(header, &["response_values"]),
            exception: optional(header, &["exception_code", "exception"]),
            matched: optional(header, &["matched"]),
        })
    }

    fn read<'a>(&self, record: &Record<'a>) -> Result<ModbusDetailed<'a>, FieldError> {
        self.read_fast(record).map_err(|bad| record.explain(bad))
    }
}

impl ModbusDetailedColumns {
    fn read_fast<'a>(&self, record: &Record<'a>) -> Result<ModbusDetailed<'a>, Bad> {
        Ok(ModbusDetailed {
            common: self.id.read_fast(record)?,
            tid: record.u64_opt(self.tid)?,
            unit: record.u64_opt(self.unit)?,
            func: record.text(self.func),
            direction: read_direction(record, self.direction)?,
            address: record.u64_opt(self.address)?,
            quantity: record.u64_opt(self.quantity)?,
            values: items(record, self.values),
            request_values: items(record, self.request_values),
            response_values: items(record, self.response_values),
            exception: record.text_opt(self.exception),
            matched: record.bool_opt(self.matched)?,
        })
    }
}

/// One modbus_read_write_multiple_registers.log record.
#[derive(Debug, Clone)]
pub struct ModbusReadWriteMultipleRegisters<'a> {
    pub common: Common<'a>,
    pub tid: Option<u64>,
    pub unit: Option<u64>,
    pub func: Option<Cow<'a, str>>,
    pub direction: Option<Direction>,
    pub write_start_address: Option<u64>,
    pub write_registers: SetItems<'a>,
    pub read_start_address: Option<u64>,
    pub read_quantity: Option<u64>,
    pub read_registers: SetItems<'a>,
}

/// Column indexes of a modbus_read_write_multiple_registers.log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModbusReadWriteMultipleRegistersColumns {
    pub id: IdColumns,
    pub tid: Option<usize>,
    pub unit: Option<usize>,
    pub func: Option<usize>,
    pub direction: Option<usize>,
    pub write_start_address: Option<usize>,
    pub write_registers: Option<usize>,
    pub read_start_address: Option<usize>,
    pub read_quantity: Option<usize>,
    pub read_registers: Option<usize>,
}

impl Columns for ModbusReadWriteMultipleRegistersColumns {
    type Row<'a> = ModbusReadWriteMultipleRegisters<'a>;
    const VIEW: &'static str = "modbus_read_write_multiple_registers";

    fn resolve(header: &Header) -> Result<ModbusReadWriteMultipleRegistersColumns, MissingColumn> {
        let write_start_address = required(Self::VIEW, header, &["write_start_address"])?;
        Ok(ModbusReadWriteMultipleRegistersColumns {
            id: IdColumns::resolve(Self::VIEW, header)?,
            tid: optional(header, &["tid"]),
            unit: optional(header, &["unit", "unit_id"]),
            func: optional(header, &["func"]),
            direction: optional(header, DIRECTION_COLUMNS),
            write_start_address: Some(write_start_address),
            write_registers: optional(header, &["write_registers"]),
            read_start_address: optional(header, &["read_start_address"]),
            read_quantity: optional(header, &["read_quantity"]),
            read_registers: optional(header, &["read_registers"]),
        })
    }

    fn read<'a>(
        &self,
        record: &Record<'a>,
    ) -> Result<ModbusReadWriteMultipleRegisters<'a>, FieldError> {
        self.read_fast(record).map_err(|bad| record.explain(bad))
    }
}

impl ModbusReadWriteMultipleRegistersColumns {
    fn read_fast<'a>(
        &self,
        record: &Record<'a>,
    ) -> Result<ModbusReadWriteMultipleRegisters<'a>, Bad> {
        Ok(ModbusReadWriteMultipleRegisters {
            common: self.id.read_fast(record)?,
            tid: record.u64_opt(self.tid)?,
            unit: record.u64_opt(self.unit)?,
            func: record.text_opt(self.func),
            direction: read_direction(record, self.direction)?,
            write_start_address: record.u64_opt(self.write_start_address)?,
            write_registers: items(record, self.write_registers),
            read_start_address: record.u64_opt(self.read_start_address)?,
            read_quantity: record.u64_opt(self.read_quantity)?,
            read_registers: items(record, self.read_registers),
        })
    }
}
