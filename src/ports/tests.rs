use super::*;

fn m(ip: Option<&str>, h: (u16, u16), c: (u16, u16), proto: &str) -> PortMapping {
    PortMapping {
        host_ip: ip.map(|i| i.parse().unwrap()),
        host_port: h.0,
        host_port_end: h.1,
        container_port: c.0,
        container_port_end: c.1,
        protocol: proto.into(),
    }
}

#[test]
fn every_form_parses() {
    assert_eq!(
        parse("8080:80").unwrap(),
        m(None, (8080, 8080), (80, 80), "tcp")
    );
    assert_eq!(
        parse("127.0.0.1:9090:80").unwrap(),
        m(Some("127.0.0.1"), (9090, 9090), (80, 80), "tcp")
    );
    assert_eq!(
        parse("8000-8010:8000-8010/udp").unwrap(),
        m(None, (8000, 8010), (8000, 8010), "udp")
    );
    assert_eq!(
        parse("10.0.0.5:8000-8002:7000-7002/sctp").unwrap(),
        m(Some("10.0.0.5"), (8000, 8002), (7000, 7002), "sctp")
    );
    assert_eq!(
        parse("53:53/UDP").unwrap(),
        m(None, (53, 53), (53, 53), "udp")
    );
    // 0.0.0.0 is "every address", as with no address; so is [::].
    assert_eq!(parse("0.0.0.0:8080:80").unwrap(), parse("8080:80").unwrap());
    assert_eq!(parse("[::]:8080:80").unwrap(), parse("8080:80").unwrap());
    let v6 = parse("[fd00::1]:8000-8001:80-81/udp").unwrap();
    assert_eq!(v6, m(Some("fd00::1"), (8000, 8001), (80, 81), "udp"));
    assert_eq!(v6.to_string(), "[fd00::1]:8000-8001->80-81/udp");
    assert_eq!(
        parse("65535:1").unwrap(),
        m(None, (65535, 65535), (1, 1), "tcp")
    );
}

#[track_caller]
fn refused(spec: &str, needle: &str) {
    let e = parse(spec).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{spec}: {e}");
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "{msg}");
    assert!(msg.starts_with(&format!("-p '{spec}': ")), "{msg}");
    assert!(msg.contains(needle), "{spec}: {msg} lacks {needle:?}");
}

#[test]
fn bad_specs_are_one_line_usage_errors() {
    refused("80", "give the host port too");
    refused("8000-8010", "give the host port too");
    refused("127.0.0.1::80", "host port is missing");
    refused(":80", "host port is missing");
    refused("8080:", "container port is missing");
    refused("0:80", "host port 0 is out of range");
    refused("8080:0", "container port 0 is out of range");
    refused("65536:80", "host port 65536 is out of range");
    refused("8080:99999", "container port 99999 is out of range");
    refused("http:80", "host port 'http' is not a number");
    refused("+80:80", "is not a number");
    refused("99999999999:80", "out of range");
    refused("8010-8000:80-90", "runs backwards");
    refused(
        "8000-8010:80",
        "host range has 11 ports and the container range 1",
    );
    refused("8000-8001:80-82", "same length");
    refused("8080:80/icmp", "unknown protocol 'icmp'");
    refused("8080:80/", "unknown protocol ''");
    refused("localhost:8080:80", "not an IPv4 address");
    refused("::1:8080:80", "an IPv6 HOSTIP in brackets");
    refused("[::1:8080:80", "an IPv6 HOSTIP in brackets");
    refused("[::1]:8080", "an IPv6 HOSTIP in brackets");
    refused("[1.2.3.4]:8080:80", "is not an IPv6 address");
    refused("[ff02::1]:8080:80", "cannot be a host address");
    refused("[::1]:8080:80", "[::1] cannot be published to");
    refused("224.0.0.1:8080:80", "cannot be a host address");
    refused("255.255.255.255:8080:80", "cannot be a host address");
    refused("1.2.3.4:5:6:7", "expected [HOSTIP:]HOSTPORT:PORT");
}

#[test]
fn displays_like_docker_ps() {
    assert_eq!(
        parse("8080:80").unwrap().to_string(),
        "0.0.0.0:8080->80/tcp"
    );
    assert_eq!(
        parse("127.0.0.1:8000-8010:9000-9010/udp")
            .unwrap()
            .to_string(),
        "127.0.0.1:8000-8010->9000-9010/udp"
    );
}

#[test]
fn clashes_need_protocol_port_and_address_in_common() {
    let a = parse("8080:80").unwrap();
    assert!(clash(&a, &parse("8080:81").unwrap()));
    assert!(
        clash(&a, &parse("127.0.0.1:8080:80").unwrap()),
        "any vs one"
    );
    assert!(
        clash(&parse("127.0.0.1:8080:80").unwrap(), &a),
        "one vs any"
    );
    assert!(clash(&a, &parse("8000-8080:8000-8080").unwrap()));
    assert!(!clash(&a, &parse("8080:80/udp").unwrap()));
    assert!(!clash(&a, &parse("8081-8090:81-90").unwrap()));
    assert!(!clash(
        &parse("127.0.0.1:8080:80").unwrap(),
        &parse("10.0.0.1:8080:80").unwrap()
    ));
}

#[test]
fn parse_all_refuses_clashes_within_one_command() {
    let ok = parse_all(&["8080:80".into(), "8080:80/udp".into(), "9000:80".into()]).unwrap();
    assert_eq!(ok.len(), 3);
    let e = parse_all(&["8000-8010:8000-8010".into(), "8005:80".into()]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string()
            .contains("clashes with -p 0.0.0.0:8000-8010->8000-8010/tcp"),
        "{e}"
    );
}

#[test]
fn one_attach_publishes_at_most_1024_ports() {
    let ok = parse_all(&["1-1000:1-1000".into(), "2001-2024:1-24/udp".into()]).unwrap();
    assert_eq!(port_count(&ok), 1024);
    for specs in [
        vec!["1-65535:1-65535".to_string()],
        vec!["1-1000:1-1000".into(), "2001-2025:1-25/udp".into()],
    ] {
        let e = parse_all(&specs).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("at most 1024 per attach"), "{e}");
    }
    let e = parse_all(&["1-65535:1-65535".into()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "-p publishes 65535 ports: at most 1024 per attach"
    );
}

/// A mapping written back as a spec.
fn spec_of(m: &PortMapping) -> String {
    format!(
        "{}:{}:{}/{}",
        host_ip_text(m),
        range_text(m.host_port, m.host_port_end),
        range_text(m.container_port, m.container_port_end),
        m.protocol
    )
}

/// Random specs never panic the parser; what it accepts is a sane mapping that reads
/// back the same from its own spec.
#[test]
fn fuzzed_specs_never_panic_and_accepted_ones_round_trip() {
    use crate::fuzz::Rng;
    let alphabet = [
        "1",
        "8",
        "0",
        "9",
        "65535",
        "65536",
        "99999",
        ":",
        ":",
        "-",
        "-",
        "/",
        ".",
        "tcp",
        "udp",
        "SCTP",
        "icmp",
        "127.0.0.1",
        "0.0.0.0",
        "[",
        "]",
        "::1",
        "+",
        " ",
        "é",
    ];
    let mut rng = Rng::new(443);
    let mut accepted = 0;
    let valid = [
        "8080:80",
        "127.0.0.1:8000-8010:9000-9010/udp",
        "1-2:3-4/SCTP",
    ];
    for i in 0..20_000 {
        // Half made up, half near misses of valid specs.
        let spec = if i % 2 == 0 {
            rng.string(&alphabet, 8)
        } else {
            let v = *rng.pick(&valid);
            rng.mutate(v, &alphabet)
        };
        let Ok(m) = parse(&spec) else { continue };
        accepted += 1;
        assert!(m.host_port >= 1 && m.host_port <= m.host_port_end, "{spec}");
        assert!(m.container_port >= 1 && m.container_port <= m.container_port_end);
        assert_eq!(
            m.host_port_end - m.host_port,
            m.container_port_end - m.container_port,
            "{spec}"
        );
        assert!(PROTOCOLS.contains(&m.protocol.as_str()), "{spec}");
        assert_eq!(parse(&spec_of(&m)).unwrap(), m, "{spec}");
        if let Ok(all) = parse_all(&[spec.clone(), spec_of(&m)]) {
            panic!("{spec} given twice was accepted: {all:?}");
        }
    }
    assert!(accepted > 300, "only {accepted} specs parsed");
}

#[test]
fn host_ports_cover_the_range() {
    let p = parse("65534-65535:1-2").unwrap();
    assert_eq!(host_ports(&p).collect::<Vec<_>>(), vec![65534, 65535]);
}
