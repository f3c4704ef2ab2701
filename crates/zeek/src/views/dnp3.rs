//! DNP3 views: Zeek's dnp3.log (one line per request/reply pair) and the ICSNPP dnp3_control.log
//! and dnp3_objects.log, with or without the `is_orig`/`source_h` columns added in 2023.

use std::borrow::Cow;

use crate::header::Header;
use crate::record::{Bad, Record};
use crate::views::{
    Columns, Common, DIRECTION_COLUMNS, Direction, FieldError, IdColumns, MissingColumn, optional,
    read_direction, required,
};

/// One dnp3.log record.
#[derive(Debug, Clone, PartialEq)]
pub struct Dnp3<'a> {
    pub common: Common<'a>,
    /// The request's function name (`READ`, `SELECT`, `OPERATE`, `COLD_RESTART`, ...).
    pub fc_request: Option<Cow<'a, str>>,
    /// The reply's function name (`RESPONSE`, `UNSOLICITED_RESPONSE`).
    pub fc_reply: Option<Cow<'a, str>>,
    /// Internal indications of the reply.
    pub iin: Option<u64>,
}

/// Column indexes of a dnp3.log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dnp3Columns {
    pub id: IdColumns,
    pub fc_request: usize,
    pub fc_reply: Option<usize>,
    pub iin: Option<usize>,
}

impl Columns for Dnp3Columns {
    type Row<'a> = Dnp3<'a>;
    const VIEW: &'static str = "dnp3";

    fn resolve(header: &Header) -> Result<Dnp3Columns, MissingColumn> {
        Ok(Dnp3Columns {
            id: IdColumns::resolve(Self::VIEW, header)?,
            fc_request: required(Self::VIEW, header, &["fc_request"])?,
            fc_reply: optional(header, &["fc_reply"]),
            iin: optional(header, &["iin"]),
        })
    }

    fn read<'a>(&self, record: &Record<'a>) -> Result<Dnp3<'a>, FieldError> {
        self.read_fast(record).map_err(|bad| record.explain(bad))
    }
}

impl Dnp3Columns {
    fn read_fast<'a>(&self, record: &Record<'a>) -> Result<Dnp3<'a>, Bad> {
        Ok(Dnp3 {
            common: self.id.read_fast(record)?,
            fc_request: record.text(self.fc_request),
            fc_reply: record.text_opt(self.fc_reply),
            iin: record.u64_opt(self.iin)?,
        })
    }
}

/// One dnp3_control.log record: a control relay output block or analog output command.
#[derive(Debug, Clone, PartialEq)]
pub struct Dnp3Control<'a> {
    pub common: Common<'a>,
    pub direction: Option<Direction>,
    /// `Control Relay Output Block`, `Pattern Control Block`, `Analog Output ...`.
    pub block_type: Option<Cow<'a, str>>,
    /// `SELECT`, `OPERATE`, `DIRECT_OPERATE`, `RESPONSE`, ...
    pub function_code: Option<Cow<'a, str>>,
    pub index_number: Option<u64>,
    pub trip_control_code: Option<Cow<'a, str>>,
    pub operation_type: Option<Cow<'a, str>>,
    pub execute_count: Option<u64>,
    pub on_time: Option<u64>,
    pub off_time: Option<u64>,
    pub status_code: Option<Cow<'a, str>>,
}

/// Column indexes of a dnp3_control.log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dnp3ControlColumns {
    pub id: IdColumns,
    pub direction: Option<usize>,
    pub block_type: Option<usize>,
    pub function_code: usize,
    pub index_number: Option<usize>,
    pub trip_control_code: Option<usize>,
    pub operation_type: Option<usize>,
    pub execute_count: Option<usize>,
    pub on_time: Option<usize>,
    pub off_time: Option<usize>,
    pub status_code: Option<usize>,
}

impl Columns for Dnp3ControlColumns {
    type Row<'a> = Dnp3Control<'a>;
    const VIEW: &'static str = "dnp3_control";

    fn resolve(header: &Header) -> Result<Dnp3ControlColumns, MissingColumn> {
        Ok(Dnp3ControlColumns {
            id: IdColumns::resolve(Self::VIEW, header)?,
            direction: optional(header, DIRECTION_COLUMNS),
            block_type: optional(header, &["block_type"]),
            function_code: required(Self::VIEW, header, &["function_code"])?,
            index_number: optional(header, &["index_number"]),
            trip_control_code: optional(header, &["trip_control_code"]),
            operation_type: optional(header, &["operation_type"]),
            execute_count: optional(header, &["execute_count"]),
            on_time: optional(header, &["on_time"]),
            off_time: optional(header, &["off_time"]),
            status_code: optional(header, &["status_code"]),
        })
    }

    fn read<'a>(&self, record: &Record<'a>) -> Result<Dnp3Control<'a>, FieldError> {
        self.read_fast(record).map_err(|bad| record.explain(bad))
    }
}

impl Dnp3ControlColumns {
    fn read_fast<'a>(&self, record: &Record<'a>) -> Result<Dnp3Control<'a>, Bad> {
        Ok(Dnp3Control {
            common: self.id.read_fast(record)?,
            direction: read_direction(record, self.direction)?,
            block_type: record.text_opt(self.block_type),
            function_code: record.text(self.function_code),
            index_number: record.u64_opt(self.index_number)?,
            trip_control_code: record.text_opt(self.trip_control_code),
            operation_type: record.text_opt(self.operation_type),
            execute_count: record.u64_opt(self.execute_count)?,
            on_time: record.u64_opt(self.on_time)?,
            off_time: record.u64_opt(self.off_time)?,
            status_code: record.text_opt(self.status_code),
        })
    }
}

/// One dnp3_objects.log record: the objects a request or response carried.
#[derive(Debug, Clone, PartialEq)]
pub struct Dnp3Objects<'a> {
    pub common: Common<'a>,
    pub direction: Option<Direction>,
    pub function_code: Option<Cow<'a, str>>,
    pub object_type: Option<Cow<'a, str>>,
    pub object_count: Option<u64>,
    pub range_low: Option<u64>,
    pub range_high: Option<u64>,
}

/// Column indexes of a dnp3_objects.log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dnp3ObjectsColumns {
    pub id: IdColumns,
    pub direction: Option<usize>,
    pub function_code: usize,
    pub object_type: Option<usize>,
    pub object_count: Option<usize>,
    pub range_low: Option<usize>,
    pub range_high: Option<usize>,
}

impl Columns for Dnp3ObjectsColumns {
    type Row<'a> = Dnp3Objects<'a>;
    const VIEW: &'static str = "dnp3_objects";

    fn resolve(header: &Header) -> Result<Dnp3ObjectsColumns, MissingColumn> {
        Ok(Dnp3ObjectsColumns {
            id: IdColumns::resolve(Self::VIEW, header)?,
            direction: optional(header, DIRECTION_COLUMNS),
            function_code: required(Self::VIEW, header, &["function_code"])?,
            object_type: optional(header, &["object_type"]),
            object_count: optional(header, &["object_count"]),
            range_low: optional(header, &["range_low"]),
            range_high: optional(header, &["range_high"]),
        })
    }

    fn read<'a>(&self, record: &Record<'a>) -> Result<Dnp3Objects<'a>, FieldError> {
        self.read_fast(record).map_err(|bad| record.explain(bad))
    }
}

impl Dnp3ObjectsColumns {
    fn read_fast<'a>(&self, record: &Record<'a>) -> Result<Dnp3Objects<'a>, Bad> {
        Ok(Dnp3Objects {
            common: self.id.read_fast(record)?,
            direction: read_direction(record, self.direction)?,
            function_code: record.text(self.function_code),
            object_type: record.text_opt(self.object_type),
            object_count: record.u64_opt(self.object_count)?,
            range_low: record.u64_opt(self.range_low)?,
            range_high: record.u64_opt(self.range_high)?,
        })
    }
}
