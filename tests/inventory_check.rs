//! Inventory validation, data-driven: one tiny YAML per mistake, each refused with the file, the
//! line and words that say what is wrong; and the shapes a site writes are accepted.

use otsentry::inventory::{Criticality, parse_inventory};

/// A valid zone block used by many cases (lines 1 to 8).
const ZONES: &str = "# the plant's zones
zones:
  - name: control
    cidrs: [10.10.10.0/24]
    security_level_target: 3
  - name: supervisory
    cidrs: [10.10.2.0/24]
    security_level_target: 2
";

/// Checks that `files` are refused and that one error names `origin:line:` and every fragment.
fn check_files(files: &[(&str, &str)], origin: &str, line: u64, fragments: &[&str]) {
    let errors = match parse_inventory(files) {
        Ok(_) => panic!("accepted, expected a refusal at {origin}:{line}: {fragments:?}"),
        Err(errors) => errors,
    };
    let text = errors.to_string();
    let prefix = format!("{origin}:{line}:");
    let found = errors.0.iter().any(|error| {
        let message = error.to_string();
        message.starts_with(&prefix) && fragments.iter().all(|fragment| message.contains(fragment))
    });
    assert!(found, "no error at {prefix} with {fragments:?} in:\n{text}");
}

/// One file named `case.yaml`.
fn check(yaml: &str, line: u64, fragments: &[&str]) {
    check_files(&[("case.yaml", yaml)], "case.yaml", line, fragments);
}

/// The zones above followed by `rest`.
fn with_zones(rest: &str) -> String {
    format!("{ZONES}{rest}")
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    check("zone:\n  - name: control\n", 1, &["unknown key `zone`"]);
    check(
        &with_zones("assets:\n  - ip: 10.10.10.10\n    name: plc\n    type: plc\n    ownr: ops\n"),
        13,
        &["unknown key `ownr`"],
    );
    check(
        &with_zones(
            "conduits:\n  - name: c\n    from: supervisory\n    to: control\n    direction: both\n    allow:\n      - service: modbus\n        port: 502\n",
        ),
        16,
        &["unknown key `port`"],
    );
}

#[test]
fn bad_addresses_and_blocks_are_refused() {
    check(
        &with_zones("assets:\n  - ip: 10.10.300.1\n    name: plc\n    type: plc\n"),
        10,
        &["ip", "`10.10.300.1` is not an IPv4 or IPv6 address"],
    );
    check(
        "zones:\n  - name: control\n    cidrs: [10.10.10.7/24]\n    security_level_target: 3\n",
        3,
        &["host bits", "10.10.10.0/24"],
    );
    check(
        "zones:\n  - name: control\n    cidrs:\n      - 10.10.10.0/24\n      - 10.10.11.0/40\n    security_level_target: 3\n",
        5,
        &["bad prefix length"],
    );
    check(
        "zones:\n  - name: control\n    cidrs: [control-net]\n    security_level_target: 3\n",
        3,
        &["not an address block"],
    );
    check(
        "zones:\n  - name: control\n    cidrs: []\n    security_level_target: 3\n",
        3,
        &["lists no address blocks"],
    );
}

#[test]
fn overlapping_zones_are_refused() {
    check(
        &with_zones(
            "  - name: plc-net\n    cidrs: [10.10.10.0/24]\n    security_level_target: 3\n",
        ),
        10,
        &[
            "zones overlap",
            "10.10.10.0/24",
            "`control` (case.yaml:4)",
            "`plc-net`",
        ],
    );
    check(
        "zones:\n  - name: control\n    cidrs: [10.10.10.0/24, 10.10.10.0/24]\n    security_level_target: 3\n",
        3,
        &["lists 10.10.10.0/24 twice"],
    );
    check(
        &with_zones(
            "  - name: control\n    cidrs: [10.10.11.0/24]\n    security_level_target: 3\n",
        ),
        9,
        &["zone `control` is already defined at case.yaml:3"],
    );
}

#[test]
fn security_levels_run_one_to_four() {
    for level in [0, 5] {
        check(
            &format!(
                "zones:\n  - name: control\n    cidrs: [10.10.10.0/24]\n    security_level_target: {level}\n"
            ),
            4,
            &["security_level_target", "SL-T runs 1 to 4"],
        );
    }
    check(
        "zones:\n  - name: control\n    cidrs: [10.10.10.0/24]\n    security_level_target: high\n",
        4,
        &[],
    );
}

#[test]
fn an_asset_must_sit_in_its_zone() {
    check(
        &with_zones(
            "assets:\n  - ip: 10.10.3.10\n    name: plc\n    type: plc\n    zone: control\n",
        ),
        13,
        &["asset `plc` (10.10.3.10) is outside zone `control` (10.10.10.0/24)"],
    );
    check(
        &with_zones(
            "assets:\n  - ip: 10.10.2.10\n    name: hmi\n    type: hmi\n    zone: control\n",
        ),
        13,
        &["says zone `control`, but its address is in zone `supervisory` (10.10.2.0/24)"],
    );
    check(
        &with_zones(
            "assets:\n  - ip: 10.10.10.10\n    name: plc\n    type: plc\n    zone: kontrol\n",
        ),
        13,
        &["zone", "`kontrol`, which no inventory file defines"],
    );
}

#[test]
fn a_carved_out_zone_wins_over_the_block_around_it() {
    let yaml = "zones:
  - name: enterprise
    cidrs: [10.0.0.0/8]
    security_level_target: 1
  - name: control
    cidrs: [10.10.10.0/24]
    security_level_target: 3
assets:
  - ip: 10.10.10.10
    name: plc
    type: plc
    zone: enterprise
";
    check(
        yaml,
        12,
        &["its address is in zone `control` (10.10.10.0/24)"],
    );
    let fixed = yaml.replace("zone: enterprise", "zone: control");
    let inventory = parse_inventory(&[("case.yaml", &fixed)]).unwrap();
    assert_eq!(inventory.assets[0].zone.as_deref(), Some("control"));
}

#[test]
fn conduits_must_join_two_known_zones_with_real_rules() {
    let conduit = |body: &str| with_zones(&format!("conduits:\n  - name: hmi-to-plc\n{body}"));
    let good_allow = "    allow:\n      - service: modbus\n        ports: [502]\n";
    check(
        &conduit(&format!(
            "    from: scada\n    to: control\n    direction: one_way\n{good_allow}"
        )),
        11,
        &[
            "from",
            "names zone `scada`, which no inventory file defines",
        ],
    );
    check(
        &conduit(&format!(
            "    from: control\n    to: control\n    direction: one_way\n{good_allow}"
        )),
        12,
        &["joins zone `control` to itself"],
    );
    check(
        &conduit(&format!(
            "    from: supervisory\n    to: control\n    direction: inbound\n{good_allow}"
        )),
        13,
        &["unknown direction `inbound`"],
    );
    check(
        &conduit("    from: supervisory\n    to: control\n    direction: both\n    allow: []\n"),
        14,
        &["allows nothing"],
    );
    check(
        &conduit(
            "    from: supervisory\n    to: control\n    direction: both\n    allow:\n      - transport: tcp\n",
        ),
        15,
        &["an empty rule would allow everything"],
    );
    check(
        &conduit(
            "    from: supervisory\n    to: control\n    direction: both\n    allow:\n      - ports: [502, 70000]\n",
        ),
        15,
        &["70000 is not a port"],
    );
    check(
        &conduit(
            "    from: supervisory\n    to: control\n    direction: both\n    allow:\n      - ports: [502]\n        transport: sctp\n",
        ),
        16,
        &["unknown transport `sctp`"],
    );
    let twice = format!(
        "{}  - name: hmi-to-plc\n    from: supervisory\n    to: control\n    direction: both\n{good_allow}",
        conduit(&format!(
            "    from: supervisory\n    to: control\n    direction: one_way\n{good_allow}"
        ))
    );
    check(
        &twice,
        17,
        &["conduit `hmi-to-plc` is already defined at case.yaml:10"],
    );
}

const ASSET: &str = "assets:
  - ip: 10.10.10.10
    name: plc-001
    type: plc
";

/// The zones, one PLC asset (lines 9 to 12) and `rest` indented as its keys.
fn plc_with(rest: &str) -> String {
    with_zones(&format!("{ASSET}{rest}"))
}

#[test]
fn impossible_schedules_are_refused() {
    let window = |slot: &str, tz: &str| {
        plc_with(&format!(
            "    maintenance:\n      - name: weekly\n        time_zone: {tz}\n        weekly:\n{slot}"
        ))
    };
    let slot = |days: &str, start: &str, end: &str| {
        format!(
            "          - days: [{days}]\n            start: \"{start}\"\n            end: \"{end}\"\n"
        )
    };
    check(
        &window(&slot("wednesday", "12:00", "09:00"), "UTC"),
        19,
        &["end", "ends at 09:00, not after it starts at 12:00"],
    );
    check(
        &window(&slot("wednesday", "09:00", "09:00"), "UTC"),
        19,
        &["not after it starts"],
    );
    check(
        &window(&slot("wednesday, funday", "09:00", "12:00"), "UTC"),
        17,
        &["days", "`funday` is not a weekday"],
    );
    check(
        &window(&slot("wednesday", "09:00", "25:00"), "UTC"),
        19,
        &["`25:00` is not a time of day"],
    );
    check(
        &window(&slot("wednesday", "9am", "12:00"), "UTC"),
        18,
        &["start", "write it as HH:MM"],
    );
    check(
        &window(&slot("wednesday", "09:00", "12:00"), "Europe/Atlantis"),
        15,
        &["time_zone", "unknown time zone `Europe/Atlantis`"],
    );
    check(
        &window("          []\n", "UTC"),
        17,
        &["at least one weekly slot"],
    );
    check(
        &window(&slot("", "09:00", "12:00"), "UTC"),
        17,
        &["at least one day"],
    );
}

#[test]
fn unquoted_times_and_overnight_slots_are_read() {
    let yaml = plc_with(
        "    maintenance:
      - name: night shift
        time_zone: America/Chicago
        weekly:
          - days: [sat]
            start: 22:00
            end: 24:00
          - days: [sun]
            start: 00:00
            end: 02:30
",
    );
    let inventory =
        parse_inventory(&[("case.yaml", &yaml)]).unwrap_or_else(|error| panic!("{error}"));
    let window = &inventory.assets[0].maintenance[0];
    assert_eq!(window.weekly[0].start.to_string(), "22:00");
    assert_eq!(window.weekly[1].end.to_string(), "02:30");
    let plc = "10.10.10.10".parse().unwrap();
    // 2026-10-11 is a Sunday; Chicago is on CDT (UTC-5): 01:00 local is 06:00 UTC.
    let sunday_one_am = 1_791_698_400.0;
    assert!(inventory.in_maintenance(plc, sunday_one_am).is_some());
    assert!(
        inventory
            .in_maintenance(plc, sunday_one_am + 2.0 * 3600.0)
            .is_none()
    );
}

#[test]
fn duplicate_assets_are_refused_with_the_first_place() {
    check(
        &with_zones(&format!(
            "{ASSET}  - ip: 10.10.10.10\n    name: plc-002\n    type: plc\n"
        )),
        13,
        &["duplicate asset: 10.10.10.10 is already listed at case.yaml:10"],
    );
    check(
        &with_zones(&format!(
            "{ASSET}  - ip: 10.10.10.11\n    name: plc-001\n    type: plc\n"
        )),
        14,
        &["duplicate asset name `plc-001`: already used at case.yaml:11"],
    );
    let zones_only = ZONES;
    let first = ASSET;
    let second = "assets:\n  - ip: 10.10.10.10\n    name: other\n    type: plc\n";
    check_files(
        &[
            ("zones.yaml", zones_only),
            ("a.yaml", first),
            ("b.yaml", second),
        ],
        "b.yaml",
        2,
        &["already listed at a.yaml:2"],
    );
}

#[test]
fn asset_values_are_checked() {
    check(
        &with_zones("assets:\n  - ip: 10.10.10.10\n    name: plc\n    type: plcc\n"),
        12,
        &[
            "type",
            "unknown asset type `plcc`; expected one of plc, rtu, hmi, historian, ews, server, workstation, network, other",
        ],
    );
    check(
        &plc_with("    criticality: urgent\n"),
        13,
        &["unknown criticality `urgent`"],
    );
    check(
        &plc_with("    partners: [hmi-99]\n"),
        13,
        &["partner `hmi-99` of `plc-001` is neither an address nor the name of an asset"],
    );
    check(
        &plc_with("    partners: [10.10.10.10]\n"),
        13,
        &["lists itself as a partner"],
    );
    check(
        &plc_with("    partners: [10.10.2.10, 10.10.2.10]\n"),
        13,
        &["listed twice"],
    );
    check(
        &with_zones("assets:\n  - ip: 10.10.10.10\n    name: \" \"\n    type: plc\n"),
        11,
        &["name", "must not be empty"],
    );
}

#[test]
fn safe_limits_must_be_a_range() {
    let limits = |body: &str| plc_with(&format!("    safe_limits:\n{body}"));
    check(
        &limits("      - register: 5\n        min: 800\n        max: 700\n"),
        16,
        &["min 800 is above max 700 for register 5"],
    );
    check(
        &limits("      - register: 5\n        name: setpoint\n"),
        14,
        &["gives neither min nor max"],
    );
    check(
        &limits("      - register: 5\n        max: 800\n      - register: 5\n        min: 1\n"),
        16,
        &["register 5 has limits twice"],
    );
    check(
        &limits("      - register: 5\n        max: .nan\n"),
        15,
        &["must be a finite number"],
    );
    check(&limits("      - register: -5\n        max: 1\n"), 14, &[]);
}

#[test]
fn yaml_mistakes_name_their_line() {
    check(
        "zones:\n  - name: control\n    cidrs: [10.0.0.0/8\n    security_level_target: 1\n",
        4,
        &["illegal placement"],
    );
    // serde-saphyr notices a missing key at the end of its mapping.
    check(
        "zones:\n  - cidrs: [10.0.0.0/8]\n    security_level_target: 1\n",
        3,
        &["missing key `name`"],
    );
    check("assets: {ip: 1}\n", 1, &[]);
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    let refused = parse_inventory(&[("bomb.yaml", bomb)]);
    assert!(refused.is_err(), "an alias bomb is refused");
}

#[test]
fn every_mistake_is_reported_at_once() {
    let yaml = with_zones(
        "assets:
  - ip: 10.10.10.10
    name: plc-001
    type: plcc
    criticality: urgent
  - ip: 10.10.10.10
    name: plc-002
    type: plc
",
    );
    let errors = parse_inventory(&[("case.yaml", &yaml)]).unwrap_err();
    let lines: Vec<Option<u64>> = errors.0.iter().map(|error| error.line()).collect();
    assert_eq!(lines, vec![Some(12), Some(13), Some(14)], "{errors}");
    assert!(
        errors.to_string().starts_with("inventory has 3 mistakes"),
        "{errors}"
    );
}

#[test]
fn a_full_asset_is_read_as_written() {
    let yaml = plc_with(
        "    owner: process-engineering
    zone: control
    criticality: critical
    partners: [10.10.2.10]
    notes: pump station 3
    safe_limits:
      - unit: 1
        register: 5
        name: level setpoint
        min: 700
        max: 800.5
",
    );
    let inventory =
        parse_inventory(&[("case.yaml", &yaml)]).unwrap_or_else(|error| panic!("{error}"));
    let asset = &inventory.assets[0];
    assert_eq!(asset.owner.as_deref(), Some("process-engineering"));
    assert_eq!(asset.criticality, Some(Criticality::Critical));
    assert_eq!(asset.notes.as_deref(), Some("pump station 3"));
    assert_eq!(asset.safe_limits[0].max, Some(800.5));
    assert!(
        parse_inventory(&[("empty.yaml", "{}\n")])
            .unwrap()
            .assets
            .is_empty()
    );
}
