//! REQUEST and RELEASE.

use super::*;

#[test]
fn request_acks_an_offer() {
    let o = offer(&lan(), &[], "ns1").unwrap();
    let ack = request(&o, std::slice::from_ref(&o), NOW + 3).unwrap();
    assert_eq!(
        ack,
        Lease {
            state: LeaseState::Bound,
            since: NOW + 3,
            expires: None,
            ..o
        }
    );
}

#[test]
fn request_naks_when_someone_else_bound_it() {
    let o = offer(&lan(), &[], "ns1").unwrap();
    let leases = [bound("10.1.0.2", "ns2")];
    assert_eq!(
        usage_msg(request(&o, &leases, NOW)),
        "address 10.1.0.2 is already leased to ns2"
    );
    let leases = [offered("10.1.0.2", "ns2", NOW + 5)];
    assert_eq!(
        usage_msg(request(&o, &leases, NOW)),
        "address 10.1.0.2 is already leased to ns2"
    );
    // Another client's expired offer or released lease is no obstacle.
    let leases = [offered("10.1.0.2", "ns2", NOW)];
    assert!(request(&o, &leases, NOW).is_ok());
    let leases = [released("10.1.0.2", "ns2", NOW)];
    assert!(request(&o, &leases, NOW).is_ok());
}

#[test]
fn request_naks_what_is_not_an_offer() {
    let o = offer(&lan(), &[], "ns1").unwrap();
    let ack = request(&o, &[], NOW).unwrap();
    assert_eq!(
        usage_msg(request(&ack, &[], NOW)),
        "address 10.1.0.2 was not offered to ns1 (its lease is bound)"
    );
    assert!(request(&release(&ack, NOW), &[], NOW).is_err());
}

#[test]
fn request_naks_a_client_bound_elsewhere_meanwhile() {
    let o = offer(&lan(), &[], "ns1").unwrap();
    let leases = [bound("10.1.0.9", "ns1")];
    assert_eq!(
        usage_msg(request(&o, &leases, NOW)),
        "ns1 already holds address 10.1.0.9 in network n1"
    );
}

#[test]
fn request_of_an_expired_offer_still_acks_when_nobody_took_it() {
    let o = offer(&lan(), &[], "ns1").unwrap();
    assert!(request(&o, std::slice::from_ref(&o), NOW + 10 * OFFER_HOLD_SECS).is_ok());
}

#[test]
fn release_keeps_client_and_address() {
    let b = bound("10.1.0.4", "ns1");
    let r = release(&b, NOW + 7);
    assert_eq!(
        r,
        Lease {
            state: LeaseState::Released,
            since: NOW + 7,
            ..b
        }
    );
}

#[test]
fn full_dora_cycle() {
    let p = lan();
    let mut leases: Vec<Lease> = Vec::new();
    let o = offer(&p, &leases, "ns1").unwrap();
    leases.push(o.clone());
    let ack = request(&o, &leases, NOW + 1).unwrap();
    leases[0] = ack.clone();
    // Bound: nobody else gets it, the holder cannot discover again.
    assert_eq!(offer_ip(&p, &leases, "ns2"), ip("10.1.0.3"));
    assert!(offer(&p, &leases, "ns1").is_err());
    leases[0] = release(&ack, NOW + 2);
    assert_eq!(offer_ip(&p, &leases, "ns1"), ack.address);
}

#[test]
fn trace_lines() {
    assert_eq!(
        dora_trace("ns1", None, ip("10.88.0.2")),
        "DISCOVER ns1 -> OFFER 10.88.0.2 -> REQUEST -> ACK"
    );
    assert_eq!(
        dora_trace("ns1", Some(ip("10.88.0.9")), ip("10.88.0.9")),
        "DISCOVER ns1 (requested 10.88.0.9) -> OFFER 10.88.0.9 -> REQUEST -> ACK"
    );
}
