//! Unit tests of the conduit detector: allowed flows are quiet, a flow no conduit joins and one
//! against a one-way conduit are findings naming both zones, a standing violation is reported once.

use super::*;
use crate::detect::baseline::testing::conn;
use crate::features::{Extractor, Schema};
use crate::inventory::parse_inventory;

const INVENTORY: &str = "\
zones:
  - name: operations
    cidrs: [10.0.3.0/24]
    security_level_target: 2
  - name: control
    cidrs: [10.0.1.0/24]
    security_level_target: 3
  - name: dmz
    cidrs: [10.0.9.0/24]
    security_level_target: 2
conduits:
  - name: ops-to-control
    from: operations
    to: control
    direction: one_way
    allow:
      - service: modbus
        transport: tcp
        ports: [502]
";

fn findings(events: &[crate::features::FlowEvent<'_>]) -> Vec<Finding> {
    let inventory = Arc::new(parse_inventory(&[("plant.yaml", INVENTORY)]).unwrap());
    let mut detector = ConduitDetector::new(inventory);
    let mut extractor = Extractor::fit(Schema::Conn, 1024);
    let mut out = Vec::new();
    for event in events {
        let raw = extractor.push(event).unwrap();
        let observation = Observation {
            event,
            schema: Schema::Conn,
            raw: &raw,
            vocab: extractor.vocab(),
        };
        detector.observe(&observation, &mut out);
    }
    out
}

#[test]
fn allowed_and_same_zone_flows_are_quiet() {
    let quiet = findings(&[
        conn(0.0, "10.0.3.10", "10.0.1.1", 502, "modbus", 1.0),
        conn(1.0, "10.0.1.2", "10.0.1.1", 502, "modbus", 1.0),
        conn(2.0, "10.0.3.10", "10.0.3.11", 445, "smb", 1.0),
    ]);
    assert!(quiet.is_empty(), "{quiet:#?}");
}

#[test]
fn violations_name_both_zones_and_a_standing_one_is_reported_once() {
    let found = findings(&[
        conn(0.0, "10.0.9.5", "10.0.1.1", 502, "modbus", 1.0),
        conn(5.0, "10.0.9.5", "10.0.1.1", 502, "modbus", 1.0),
        conn(10.0, "10.0.1.1", "10.0.3.10", 445, "smb", 1.0),
        conn(20.0, "10.0.3.10", "10.0.1.1", 3389, "rdp", 1.0),
    ]);
    let rules: Vec<&str> = found.iter().map(|finding| finding.rule).collect();
    assert_eq!(rules, ["no_conduit", "wrong_direction", "port_not_allowed"]);
    assert_eq!(
        found[0].severity,
        Severity::Critical,
        "OT traffic into an SL-T 3 zone"
    );
    assert!(found[0].reasons[0].observed.contains("(zone dmz)"));
    assert!(found[0].reasons[0].observed.contains("(zone control)"));
    assert!(
        found[0].reasons[0]
            .baseline
            .contains("no conduit joins zone dmz and zone control")
    );
    assert_eq!(found[1].severity, Severity::High);
    assert_eq!(found[1].techniques, ["T0886"]);
    assert!(
        found[2].reasons[0]
            .baseline
            .contains("allows only modbus tcp/502")
    );
}
