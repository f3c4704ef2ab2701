//! Lookups of a checked inventory: assets, longest-prefix zones, conduit verdicts, maintenance,
//! safe limits, asset context, and the round trip through YAML.

use std::net::IpAddr;

use super::*;
use crate::features::Proto;

const PLANT: &str = r#"
zones:
  - name: enterprise
    cidrs: [10.0.0.0/8]
    security_level_target: 1
  - name: control
    cidrs: [10.10.10.0/24, "fd00:10::/64"]
    security_level_target: 3
  - name: supervisory
    cidrs: [10.10.2.0/24]
    security_level_target: 2
conduits:
  - name: hmi-to-plc
    from: supervisory
    to: control
    direction: one_way
    allow:
      - service: modbus
        transport: tcp
        ports: [502]
      - ports: [44818]
  - name: reports
    from: enterprise
    to: supervisory
    direction: both
    allow:
      - service: http
assets:
  - ip: 10.10.10.10
    name: plc-001
    type: plc
    owner: process-engineering
    criticality: high
    partners: [hmi-01]
    maintenance:
      - name: weekly
        time_zone: Europe/Berlin
        weekly:
          - days: [wed]
            start: "09:00"
            end: "12:00"
    safe_limits:
      - register: 5
        min: 700
        max: 800
      - unit: 2
        register: 5
        max: 900
  - ip: 10.10.2.10
    name: hmi-01
    type: hmi
    zone: supervisory
"#;

fn inventory() -> Inventory {
    parse_inventory(&[("plant.yaml", PLANT)]).unwrap_or_else(|error| panic!("{error}"))
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// 2026-10-07 is a Wednesday; Berlin is on summer time (UTC+2) then.
fn ts(text: &str) -> f64 {
    text.parse::<jiff::Timestamp>().unwrap().as_second() as f64
}

#[test]
fn assets_and_zones_are_found_by_address() {
    let inventory = inventory();
    let plc = inventory.asset(ip("10.10.10.10")).unwrap();
    assert_eq!(plc.name, "plc-001");
    assert_eq!(
        plc.zone.as_deref(),
        Some("control"),
        "zone found by address"
    );
    assert_eq!(
        plc.partners,
        vec![ip("10.10.2.10")],
        "partner named by asset name"
    );
    assert!(inventory.asset(ip("::ffff:10.10.10.10")).is_some());
    assert!(inventory.asset(ip("10.10.10.11")).is_none());
    let zone = |text: &str| inventory.zone_of(ip(text)).map(|zone| zone.name.as_str());
    assert_eq!(
        zone("10.10.10.99"),
        Some("control"),
        "the /24 wins over the /8"
    );
    assert_eq!(zone("10.200.1.1"), Some("enterprise"));
    assert_eq!(zone("fd00:10::7"), Some("control"));
    assert_eq!(zone("192.0.2.1"), None);
    assert_eq!(
        inventory.zone("supervisory").unwrap().security_level_target,
        2
    );
}

#[test]
fn conduits_give_the_reason_for_their_verdict() {
    let inventory = inventory();
    let verdict = |src: &str, dst: &str, port: u16, proto: Proto, service: &str| {
        inventory.conduit_allows(ip(src), ip(dst), port, proto, service)
    };
    let hmi = "10.10.2.10";
    let plc = "10.10.10.10";
    assert!(matches!(
        verdict(plc, "10.10.10.11", 445, Proto::Tcp, "smb"),
        ConduitVerdict::SameZone { zone: "control" }
    ));
    match verdict(hmi, plc, 502, Proto::Tcp, "modbus") {
        ConduitVerdict::Allowed { conduit } => assert_eq!(conduit.name, "hmi-to-plc"),
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(
            verdict(hmi, plc, 502, Proto::Tcp, ""),
            ConduitVerdict::Allowed { .. }
        ),
        "a flow Zeek did not name is judged on its port"
    );
    assert!(matches!(
        verdict(hmi, plc, 44818, Proto::Udp, "enip"),
        ConduitVerdict::Allowed { .. }
    ));
    let refused = verdict(hmi, plc, 502, Proto::Udp, "modbus");
    assert!(
        matches!(refused, ConduitVerdict::PortNotAllowed { .. }),
        "{refused:?}"
    );
    assert!(refused.is_violation());
    assert!(
        refused.describe().contains("allows only modbus tcp/502"),
        "{}",
        refused.describe()
    );
    let backwards = verdict(plc, hmi, 502, Proto::Tcp, "modbus");
    assert!(
        matches!(backwards, ConduitVerdict::WrongDirection { .. }),
        "{backwards:?}"
    );
    assert!(
        backwards
            .describe()
            .contains("one-way from supervisory to control")
    );
    match verdict("10.1.1.1", plc, 502, Proto::Tcp, "modbus") {
        ConduitVerdict::NoConduit { from, to } => assert_eq!((from, to), ("enterprise", "control")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        verdict(hmi, "10.1.1.1", 80, Proto::Tcp, "http"),
        ConduitVerdict::Allowed { .. }
    ));
    assert!(
        matches!(
            verdict("10.1.1.1", hmi, 8080, Proto::Tcp, "http"),
            ConduitVerdict::Allowed { .. }
        ),
        "a two-way conduit serves either side"
    );
    let unzoned = verdict("192.0.2.1", plc, 502, Proto::Tcp, "modbus");
    assert!(matches!(
        unzoned,
        ConduitVerdict::Unzoned {
            src_zone: None,
            dst_zone: Some("control")
        }
    ));
    assert!(!unzoned.is_violation());
}

#[test]
fn maintenance_is_read_in_the_window_time_zone() {
    let inventory = inventory();
    let plc = ip("10.10.10.10");
    let open = inventory.in_maintenance(plc, ts("2026-10-07T07:00:00Z"));
    assert_eq!(open.map(|window| window.name.as_str()), Some("weekly"));
    assert!(
        inventory
            .in_maintenance(plc, ts("2026-10-07T10:00:00Z"))
            .is_none()
    );
    assert!(
        inventory
            .in_maintenance(ip("10.10.2.10"), ts("2026-10-07T07:00:00Z"))
            .is_none()
    );
    let context = inventory.context(plc, ts("2026-10-07T07:00:00Z"));
    assert!(context.known && context.maintenance_active());
    assert_eq!(context.criticality, Some(Criticality::High));
    let json = serde_json::to_value(&context).unwrap();
    assert_eq!(json["type"], "plc");
    assert_eq!(json["zone"], "control");
    assert_eq!(json["maintenance"], "weekly");
    let stranger = inventory.context(ip("10.10.10.77"), 0.0);
    assert!(!stranger.known && !stranger.maintenance_active());
    assert_eq!(stranger.zone.as_deref(), Some("control"));
}

#[test]
fn safe_limits_prefer_the_unit_written_for() {
    let inventory = inventory();
    let plc = ip("10.10.10.10");
    let any_unit = inventory.safe_limits(plc, 1, 5).unwrap();
    assert_eq!((any_unit.min, any_unit.max), (Some(700.0), Some(800.0)));
    assert!(any_unit.allows(800.0) && !any_unit.allows(830.0));
    assert_eq!(inventory.safe_limits(plc, 2, 5).unwrap().max, Some(900.0));
    assert!(inventory.safe_limits(plc, 1, 6).is_none());
    assert!(inventory.safe_limits(ip("10.10.2.10"), 1, 5).is_none());
}

#[test]
fn an_inventory_written_as_yaml_checks_to_the_same_inventory() {
    let inventory = inventory();
    let text = inventory.to_yaml().unwrap();
    let again =
        parse_inventory(&[("again.yaml", &text)]).unwrap_or_else(|error| panic!("{error}\n{text}"));
    assert_eq!(inventory, again, "{text}");
    assert_eq!(text, again.to_yaml().unwrap());
}

#[test]
fn explain_speaks_of_zones_conduits_and_windows() {
    let text = explain(&inventory());
    for fragment in [
        "The inventory is valid: 3 zones, 2 conduits, 2 assets.",
        "Zone control (SL-T 3) covers 10.10.10.0/24, fd00:10::/64 and holds 1 asset (1 plc).",
        "Conduit hmi-to-plc joins supervisory to control (only supervisory starts connections) for modbus tcp/502; any/44818.",
        "plc-001 (10.10.10.10) has maintenance window \"weekly\": wednesday 09:00-12:00 (Europe/Berlin).",
        "2 safe limits on 1 asset.",
        "1 asset without a criticality.",
    ] {
        assert!(text.contains(fragment), "missing {fragment:?} in\n{text}");
    }
}
