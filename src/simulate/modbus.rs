//! Modbus/TCP traffic: requests and responses as ICSNPP logs them (modbus.log with one line per
//! PDU, modbus_detailed.log with one line per matched request and response) and the byte counts
//! conn.log sums up.

use zeek::write::WriteError;

use super::conn::{Conn, write_ids};
use super::output::Sinks;
use super::process::ProcessModel;

/// The function codes the plant uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    ReadCoils,
    ReadHoldingRegisters,
    ReadInputRegisters,
    WriteSingleCoil,
    WriteSingleRegister,
    WriteMultipleRegisters,
    ReadDeviceIdentification,
}

impl Func {
    /// The name Zeek writes in the `func` column.
    pub fn zeek_name(self) -> &'static str {
        match self {
            Func::ReadCoils => "READ_COILS",
            Func::ReadHoldingRegisters => "READ_HOLDING_REGISTERS",
            Func::ReadInputRegisters => "READ_INPUT_REGISTERS",
            Func::WriteSingleCoil => "WRITE_SINGLE_COIL",
            Func::WriteSingleRegister => "WRITE_SINGLE_REGISTER",
            Func::WriteMultipleRegisters => "WRITE_MULTIPLE_REGISTERS",
            Func::ReadDeviceIdentification => "ENCAP_INTERFACE_TRANSPORT",
        }
    }
}

/// The most registers one simulated request writes.
pub const MAX_WRITE: usize = 16;

/// One Modbus request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub func: Func,
    pub address: u16,
    pub quantity: u16,
    pub values: [u16; MAX_WRITE],
}

impl Request {
    pub fn read(func: Func, address: u16, quantity: u16) -> Request {
        Request {
            func,
            address,
            quantity,
            values: [0; MAX_WRITE],
        }
    }

    /// A write of `values` starting at `address` (single or multiple by the function).
    pub fn write(func: Func, address: u16, values: &[u16]) -> Request {
        let mut request = Request::read(func, address, values.len().min(MAX_WRITE) as u16);
        for (slot, value) in request.values.iter_mut().zip(values) {
            *slot = *value;
        }
        request
    }

    /// Application data unit sizes (MBAP header included) of the request and its response.
    fn sizes(&self) -> (u64, u64) {
        let quantity = u64::from(self.quantity);
        match self.func {
            Func::ReadCoils => (12, 9 + quantity.div_ceil(8)),
            Func::ReadHoldingRegisters | Func::ReadInputRegisters => (12, 9 + 2 * quantity),
            Func::WriteSingleCoil | Func::WriteSingleRegister => (12, 12),
            Func::WriteMultipleRegisters => (13 + 2 * quantity, 12),
            Func::ReadDeviceIdentification => (11, 48),
        }
    }
}

/// The PLC a Modbus transaction goes to: its index in the process model and its unit id.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub plc: usize,
    pub unit: u8,
}

/// Writes one transaction (request at `t_request`, response `rtt` later) to modbus.log and
/// modbus_detailed.log and adds its bytes to `conn`. Returns the response time.
#[allow(clippy::too_many_arguments)]
pub fn transaction(
    sinks: &mut Sinks,
    process: &ProcessModel,
    conn: &mut Conn,
    target: Target,
    tid: u16,
    t_request: i64,
    rtt: i64,
    request: &Request,
) -> Result<i64, WriteError> {
    let t_response = t_request + rtt;
    let func = request.func.zeek_name();
    for (ts, pdu_type) in [(t_request, "REQ"), (t_response, "RESP")] {
        write_ids(&mut sinks.modbus, ts, conn)
            .count(u64::from(tid))
            .count(u64::from(target.unit))
            .string(func)
            .string(pdu_type)
            .unset();
        sinks.modbus.end_row()?;
    }

    let mut values = [0u64; 128];
    let quantity = usize::from(request.quantity).min(values.len());
    let detailed = &mut sinks.modbus_detailed;
    write_ids(detailed, t_request, conn)
        .count(u64::from(tid))
        .count(u64::from(target.unit))
        .string(func);
    match request.func {
        Func::ReadCoils => {
            process.coil_block(
                target.plc,
                request.address,
                t_request,
                &mut values[..quantity],
            );
            detailed
                .count(u64::from(request.address))
                .count(u64::from(request.quantity))
                .unset()
                .counts(&values[..quantity]);
        }
        Func::ReadHoldingRegisters | Func::ReadInputRegisters => {
            process.holding_block(
                target.plc,
                request.address,
                t_request,
                &mut values[..quantity],
            );
            // Input registers are the raw 12-bit analog inputs behind the scaled holding values.
            if request.func == Func::ReadInputRegisters {
                for slot in &mut values[..quantity] {
                    *slot = (*slot * 4).min(4095);
                }
            }
            detailed
                .count(u64::from(request.address))
                .count(u64::from(request.quantity))
                .unset()
                .counts(&values[..quantity]);
        }
        Func::WriteSingleCoil | Func::WriteSingleRegister => {
            let value = [u64::from(request.values[0])];
            detailed
                .count(u64::from(request.address))
                .count(1)
                .counts(&value)
                .counts(&value);
        }
        Func::WriteMultipleRegisters => {
            for (slot, value) in values[..quantity].iter_mut().zip(request.values) {
                *slot = u64::from(value);
            }
            detailed
                .count(u64::from(request.address))
                .count(u64::from(request.quantity))
                .counts(&values[..quantity])
                .unset();
        }
        Func::ReadDeviceIdentification => {
            detailed.unset().unset().unset().unset();
        }
    }
    detailed
        .unset()
        .bool(true)
        .unset()
        .unset()
        .unset()
        .unset()
        .unset();
    if request.func == Func::ReadDeviceIdentification {
        detailed.string("Read Device Identification");
    } else {
        detailed.unset();
    }
    detailed.end_row()?;

    let (request_bytes, response_bytes) = request.sizes();
    conn.exchange(request_bytes, response_bytes, t_response);
    Ok(t_response)
}

/// A request the PLC refuses: `func` as Zeek names the request, the exception it answers with,
/// and the address and quantity asked for (`None` for a function the PLC does not implement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub func: &'static str,
    pub exception: &'static str,
    pub range: Option<(u16, u16)>,
}

/// Writes one refused transaction as Zeek and ICSNPP log it: the request under its function
/// name, the answer as `<FUNC>_EXCEPTION` with the `exception` column set (modbus.log), one
/// modbus_detailed line with `exception_code`, and the bytes of a 12-byte request and a 9-byte
/// exception answer. Returns the response time.
pub fn refused(
    sinks: &mut Sinks,
    conn: &mut Conn,
    unit: u8,
    tid: u16,
    t_request: i64,
    rtt: i64,
    request: &Refused,
) -> Result<i64, WriteError> {
    let t_response = t_request + rtt;
    let answer = format!("{}_EXCEPTION", request.func);
    write_ids(&mut sinks.modbus, t_request, conn)
        .count(u64::from(tid))
        .count(u64::from(unit))
        .string(request.func)
        .string("REQ")
        .unset();
    sinks.modbus.end_row()?;
    write_ids(&mut sinks.modbus, t_response, conn)
        .count(u64::from(tid))
        .count(u64::from(unit))
        .string(&answer)
        .string("RESP")
        .string(request.exception);
    sinks.modbus.end_row()?;

    let detailed = &mut sinks.modbus_detailed;
    write_ids(detailed, t_request, conn)
        .count(u64::from(tid))
        .count(u64::from(unit))
        .string(request.func);
    match request.range {
        Some((address, quantity)) => detailed
            .count(u64::from(address))
            .count(u64::from(quantity)),
        None => detailed.unset().unset(),
    };
    detailed
        .unset()
        .unset()
        .unset()
        .bool(true)
        .unset()
        .unset()
        .unset()
        .unset()
        .string(request.exception)
        .unset();
    detailed.end_row()?;

    conn.exchange(12, 9, t_response);
    Ok(t_response)
}
