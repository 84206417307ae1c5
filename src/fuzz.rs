//! Bounded fuzzing for the unit tests, with no dependency: a xorshift generator and random
//! strings built from an alphabet that reaches a parser's interesting cases. Each parser's
//! test lives next to it; this module also fuzzes the state files' TOML, which spans the model.

/// xorshift64*: deterministic, so a failing case is the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Up to `max_len` pieces of `alphabet` (single characters or whole words), joined.
    pub fn string(&mut self, alphabet: &[&str], max_len: usize) -> String {
        let len = self.below(max_len + 1);
        (0..len).map(|_| *self.pick(alphabet)).collect()
    }

    /// `text` with a few random edits: characters deleted, replaced, inserted or repeated,
    /// the inserted ones from `alphabet`.
    pub fn mutate(&mut self, text: &str, alphabet: &[&str]) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for _ in 0..=self.below(4) {
            let at = self.below(chars.len() + 1);
            let piece: Vec<char> = self.pick(alphabet).chars().collect();
            match self.below(4) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 if at < chars.len() => {
                    chars.splice(at..at + 1, piece);
                }
                2 => {
                    chars.splice(at..at, piece);
                }
                _ => {
                    let end = (at + self.below(8)).min(chars.len());
                    let copy: Vec<char> = chars[at..end].to_vec();
                    chars.splice(at..at, copy);
                }
            }
        }
        chars.into_iter().collect()
    }
}

/// Printable ASCII one character at a time, a few multi-byte characters, and the bytes that
/// delimit things.
pub const ANY_TEXT: &[&str] = &[
    "a", "Z", "0", "9", "-", "_", ".", "/", ":", "=", " ", "\t", "\n", "\0", "@", "%", "\\", "\"",
    "'", "[", "]", "{", "}", "#", ",", "é", "ß", "😀", "\u{202e}",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Driver, Endpoint, Lease, LeaseState, Network, PortMapping};
    use std::collections::BTreeMap;

    /// What TOML and these files are made of.
    const TOML_BITS: &[&str] = &[
        "=",
        "\"",
        "'",
        "[",
        "]",
        "{",
        "}",
        ",",
        ".",
        "\n",
        " ",
        "#",
        "0",
        "1",
        "9",
        "-",
        "+",
        "e",
        "x",
        "true",
        "false",
        "inf",
        "nan",
        "255",
        "256",
        "/",
        "33",
        "4294967296",
        "18446744073709551616",
        "\\u",
        "\\",
        "name",
        "subnet",
        "address",
        "state",
        "ports",
        "[[ports]]",
        "10.1.0.0",
        "é",
    ];

    fn network() -> Network {
        Network {
            name: "lab".into(),
            id: "0123456789ab".into(),
            driver: Driver::Vxlan,
            created: 1_700_000_000,
            subnet: Some("10.1.0.0/24".parse().unwrap()),
            gateway: Some("10.1.0.1".parse().unwrap()),
            ip_range: Some("10.1.0.128/25".parse().unwrap()),
            mtu: Some(1450),
            bridge: Some("cn-lab".into()),
            vni: Some(5000),
            peers: vec!["192.0.2.2".parse().unwrap()],
            options: BTreeMap::from([("mtu".into(), "1450".into())]),
            slice_vteps: vec!["192.0.2.1".parse().unwrap()],
            ..Default::default()
        }
    }

    fn endpoint() -> Endpoint {
        Endpoint {
            address6: None,
            default_route6: false,
            network: "lab".into(),
            key: "ns1".into(),
            netns: "ns1".into(),
            netns_path: "/run/netns/ns1".into(),
            ifname: "eth0".into(),
            host_ifname: Some("cnv01234567".into()),
            mac: Some("02:42:0a:01:00:02".into()),
            address: Some("10.1.0.2/24".parse().unwrap()),
            aliases: vec!["web".into()],
            ports: vec![PortMapping {
                host_ip: Some("127.0.0.1".parse().unwrap()),
                host_port: 8080,
                host_port_end: 8081,
                container_port: 80,
                container_port_end: 81,
                protocol: "tcp".into(),
            }],
            default_route: true,
            gw_priority: 3,
            no_default_route: false,
            publish_to: None,
            publish_to6: None,
            since: 1_700_000_000,
        }
    }

    fn lease() -> Lease {
        Lease {
            network: "lab".into(),
            address: "10.1.0.2".parse().unwrap(),
            client: "ns1".into(),
            state: LeaseState::Offered,
            since: 1_700_000_000,
            expires: Some(1_700_000_030),
            boot_id: "b0".into(),
        }
    }

    /// Parses mutations of a valid file: never a panic, and what parses writes back out and
    /// reads back the same.
    fn fuzz_state_file<T>(seed: u64, valid: &T, cases: usize)
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let text = toml::to_string(valid).unwrap();
        assert_eq!(&toml::from_str::<T>(&text).unwrap(), valid);
        let mut rng = Rng::new(seed);
        let mut parsed = 0;
        for _ in 0..cases {
            let mutated = rng.mutate(&text, TOML_BITS);
            if let Ok(v) = toml::from_str::<T>(&mutated) {
                parsed += 1;
                let again = toml::to_string(&v).unwrap();
                assert_eq!(toml::from_str::<T>(&again).unwrap(), v, "{mutated}");
            }
        }
        // The mutations must reach past the first syntax error now and then.
        assert!(parsed > 0, "no mutation of\n{text}\nparsed");
    }

    #[test]
    fn state_files_never_panic_on_mutations() {
        fuzz_state_file(1, &network(), 4000);
        fuzz_state_file(2, &endpoint(), 4000);
        fuzz_state_file(3, &lease(), 4000);
    }

    #[test]
    fn the_generator_is_deterministic_and_spreads() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<usize> = (0..1000).map(|_| a.below(10)).collect();
        assert_eq!(xs, (0..1000).map(|_| b.below(10)).collect::<Vec<_>>());
        for digit in 0..10 {
            assert!(xs.contains(&digit));
        }
        assert!(a.mutate("", &["x"]).chars().all(|c| c == 'x'));
    }
}
