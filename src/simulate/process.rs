//! The physical process behind the PLCs: register values every reader of a PLC agrees on.
//!
//! Values are pure functions of (seed, PLC, register, time): a tank level following a slow fill and
//! drain cycle with sensor noise, temperature following the day, pressure following the level,
//! and a setpoint that stays put unless the setpoint-drift attack rewrites it. Because nothing is
//! stored, an HMI and the SCADA server reading the same PLC at the same time see the same values,
//! whatever order their generators run in.

use std::f64::consts::TAU;

use super::rng::unit_noise;

/// The holding register that carries the tank level setpoint.
pub const SETPOINT_REGISTER: u16 = 5;
/// The setpoint every PLC runs with in normal operation (per mille of tank height).
pub const SETPOINT_BASE: u16 = 750;

/// The setpoint-drift attack's writes: write `k` (0-based) at `first_write + k * interval` sets
/// the setpoint to `SETPOINT_BASE + step * (k + 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftPlan {
    pub plc: usize,
    pub first_write: i64,
    pub interval: i64,
    pub n_writes: u32,
    pub step: f64,
}

impl DriftPlan {
    pub fn write_time(&self, k: u32) -> i64 {
        self.first_write + i64::from(k) * self.interval
    }

    pub fn value_of_write(&self, k: u32) -> u16 {
        let value = f64::from(SETPOINT_BASE) + self.step * f64::from(k + 1);
        value.round().clamp(0.0, 1000.0) as u16
    }

    /// The setpoint in force at `t`.
    pub fn setpoint_at(&self, t: i64) -> u16 {
        if t < self.first_write {
            return SETPOINT_BASE;
        }
        let done = ((t - self.first_write) / self.interval).min(i64::from(self.n_writes) - 1);
        self.value_of_write(done.max(0) as u32)
    }
}

/// Register values of every PLC of the plant.
#[derive(Debug, Clone)]
pub struct ProcessModel {
    seed: u64,
    drift: Option<DriftPlan>,
}

impl ProcessModel {
    pub fn new(seed: u64, drift: Option<DriftPlan>) -> Self {
        ProcessModel { seed, drift }
    }

    fn noise(&self, plc: usize, register: u16, t: i64) -> f64 {
        // Sensors refresh every 100 ms: readers within one refresh see the same value.
        unit_noise(
            self.seed ^ (plc as u64) << 16 ^ u64::from(register),
            (t / 100_000) as u64,
            0x5eed,
        ) - 0.5
    }

    fn phase(&self, plc: usize) -> f64 {
        unit_noise(self.seed, plc as u64, 1) * TAU
    }

    pub fn setpoint(&self, plc: usize, t: i64) -> u16 {
        match &self.drift {
            Some(drift) if drift.plc == plc => drift.setpoint_at(t),
            _ => SETPOINT_BASE,
        }
    }

    /// Holding register `register` of PLC `plc` at time `t` (microseconds).
    pub fn holding(&self, plc: usize, register: u16, t: i64) -> u16 {
        let mut value = [0u64; 1];
        self.holding_block(plc, register, t, &mut value);
        value[0] as u16
    }

    /// Holding registers `address..address + out.len()` of PLC `plc` at time `t`: the process
    /// state is computed once for the whole block, as a PLC answers one read from one scan.
    pub fn holding_block(&self, plc: usize, address: u16, t: i64, out: &mut [u64]) {
        let secs = t as f64 / 1e6;
        let phase = self.phase(plc);
        // A fill and drain cycle of four to eight hours, different for every tank.
        let cycle = 4.0 * 3600.0 * (1.0 + unit_noise(self.seed, plc as u64, 2));
        let setpoint = self.setpoint(plc, t);
        let wave = TAU * secs / cycle + phase;
        let level = 0.6 * f64::from(setpoint) + 200.0 * wave.sin() + 12.0 * self.noise(plc, 0, t);
        for (offset, slot) in out.iter_mut().enumerate() {
            let register = address.wrapping_add(offset as u16);
            let value = match register {
                0 => level,
                1 => {
                    450.0
                        + 30.0 * (TAU * secs / 86_400.0 + phase).sin()
                        + 4.0 * self.noise(plc, 1, t)
                }
                2 => 300.0 + level / 10.0 + 6.0 * self.noise(plc, 2, t),
                3 => 120.0 + 40.0 * (wave + 1.0).cos() + 5.0 * self.noise(plc, 3, t),
                4 => 1450.0 + 20.0 * self.noise(plc, 4, t),
                SETPOINT_REGISTER => f64::from(setpoint),
                6 => 900.0,
                7 => 100.0,
                8 => ((t / 3_600_000_000) % 65_536) as f64,
                _ => 1.0,
            };
            *slot = value.round().clamp(0.0, 65_535.0) as u64;
        }
    }

    /// Coils `address..address + out.len()` (pump and valve states follow the level against the
    /// setpoint).
    pub fn coil_block(&self, plc: usize, address: u16, t: i64, out: &mut [u64]) {
        let level = u32::from(self.holding(plc, 0, t));
        let setpoint = u32::from(self.setpoint(plc, t));
        for (offset, slot) in out.iter_mut().enumerate() {
            let index = address.wrapping_add(offset as u16);
            *slot = u64::from(match index {
                0 => level * 10 < setpoint * 6,
                1 => level * 10 >= setpoint * 6,
                2 => true,
                3 => false,
                _ => index.is_multiple_of(3),
            });
        }
    }

    /// Coil `index`.
    pub fn coil(&self, plc: usize, index: u16, t: i64) -> bool {
        let mut value = [0u64; 1];
        self.coil_block(plc, index, t, &mut value);
        value[0] == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_stays_in_safe_range_without_attack() {
        let model = ProcessModel::new(42, None);
        for step in 0..10_000 {
            let t = 1_790_000_000_000_000 + step * 17_000_000;
            let level = model.holding(3, 0, t);
            assert!((150..=700).contains(&level), "level {level}");
        }
    }

    #[test]
    fn drift_raises_the_setpoint_step_by_step() {
        let drift = DriftPlan {
            plc: 1,
            first_write: 1_000,
            interval: 100,
            n_writes: 10,
            step: 2.0,
        };
        let model = ProcessModel::new(1, Some(drift));
        assert_eq!(model.setpoint(1, 0), SETPOINT_BASE);
        assert_eq!(model.setpoint(1, 1_000), SETPOINT_BASE + 2);
        assert_eq!(model.setpoint(1, 1_950), SETPOINT_BASE + 20);
        assert_eq!(model.setpoint(1, 99_999), SETPOINT_BASE + 20);
        assert_eq!(model.setpoint(0, 99_999), SETPOINT_BASE);
    }
}
