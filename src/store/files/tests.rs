//! The file store against a temporary directory (no root needed).

mod store {
    use super::super::*;
    use crate::model::{Driver, LeaseState};

    fn tmp_store(tag: &str) -> FileStore {
        let dir = std::env::temp_dir().join(format!("cnet-store-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        FileStore::new(dir)
    }

    fn lease(addr: &str) -> Lease {
        Lease {
            network: "lab".into(),
            address: addr.parse().unwrap(),
            client: "ns1".into(),
            state: LeaseState::Bound,
            since: 1,
            expires: None,
            boot_id: "b".into(),
        }
    }

    #[test]
    fn network_round_trip_and_removal() {
        let s = tmp_store("net");
        let net = Network {
            name: "lab".into(),
            id: "0123456789ab".into(),
            driver: Driver::Bridge,
            created: 5,
            subnet: Some("10.1.0.0/24".parse().unwrap()),
            gateway: Some("10.1.0.1".parse().unwrap()),
            ip_range: None,
            internal: false,
            mtu: None,
            bridge: Some("cn-lab".into()),
            bridge_mac: None,
            options: Default::default(),
            predefined: false,
            ..Default::default()
        };
        s.put_network(&net).unwrap();
        assert_eq!(s.network_names().unwrap(), vec!["lab".to_string()]);
        assert_eq!(s.network("lab").unwrap(), Some(net.clone()));
        assert_eq!(s.networks().unwrap(), vec![net]);
        s.put_lease(&lease("10.1.0.2"), true).unwrap();
        s.remove_network("lab").unwrap();
        assert!(s.networks().unwrap().is_empty());
        assert!(s.network_names().unwrap().is_empty());
        assert!(s.leases("lab").unwrap().is_empty());
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn a_claimed_address_cannot_be_claimed_again() {
        let s = tmp_store("claim");
        s.put_lease(&lease("10.1.0.2"), true).unwrap();
        let err = s.put_lease(&lease("10.1.0.2"), true).unwrap_err();
        assert!(err.to_string().contains("10.1.0.2"), "{err}");
        s.put_lease(&lease("10.1.0.2"), false).unwrap();
        assert_eq!(s.leases("lab").unwrap().len(), 1);
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn a_broken_state_file_is_an_error_naming_file_and_line() {
        let s = tmp_store("broken");
        let dir = s.root().join("networks");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("bad.toml"), "name = \"bad\"\nid = = 3\n").unwrap();
        let err = s.network("bad").unwrap_err().to_string();
        assert!(err.contains("bad.toml: line 2: cannot parse"), "{err}");
        let _ = fs::remove_dir_all(s.root());
    }

    fn network(name: &str) -> Network {
        Network {
            name: name.into(),
            id: "0123456789ab".into(),
            driver: Driver::Bridge,
            ..Default::default()
        }
    }

    #[test]
    fn an_unparsable_network_is_skipped_by_listings_and_reported_with_path_and_line() {
        let s = tmp_store("skip");
        s.put_network(&network("good")).unwrap();
        let bad = s.root().join("networks/bad.toml");
        fs::write(&bad, "name = \"bad\"\nid = \"x\"\ndriver = \n").unwrap();
        let names: Vec<String> = s.networks().unwrap().into_iter().map(|n| n.name).collect();
        assert_eq!(names, ["good"]);
        // Its name is still taken.
        assert_eq!(s.network_names().unwrap(), ["bad", "good"]);
        let reported = s.bad_files();
        assert_eq!(reported.len(), 1, "{reported:?}");
        assert_eq!(reported[0].path, bad);
        assert_eq!(reported[0].line, Some(3));
        let shown = reported[0].to_string();
        assert!(
            shown.starts_with(&format!("{}: line 3: ", bad.display())),
            "{shown}"
        );
        // A second listing reports it once.
        s.networks().unwrap();
        assert_eq!(s.bad_files().len(), 1);
        let err = s.network("bad").unwrap_err().to_string();
        assert!(err.contains("bad.toml: line 3"), "{err}");
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn a_hidden_or_invalid_name_is_reported_not_hidden() {
        let s = tmp_store("dotname");
        s.put_network(&network("good")).unwrap();
        fs::write(s.root().join("networks/.foo.toml"), "").unwrap();
        assert_eq!(s.network_names().unwrap(), ["good"]);
        let reported = s.bad_files();
        assert_eq!(reported.len(), 1, "{reported:?}");
        assert!(
            reported[0]
                .to_string()
                .contains(".foo.toml: '.foo' is not a valid network name"),
            "{}",
            reported[0]
        );
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn a_fifo_among_the_networks_does_not_block_a_listing() {
        let s = tmp_store("fifo");
        s.put_network(&network("good")).unwrap();
        let fifo = s.root().join("networks/stuck.toml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        // Run in a thread so a regression fails the test instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        let root = s.root().to_path_buf();
        std::thread::spawn(move || {
            let s = FileStore::new(root);
            let names: Vec<String> = s.networks().unwrap().into_iter().map(|n| n.name).collect();
            let _ = tx.send((names, s.bad_files()));
        });
        let (names, bad) = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("listing a FIFO blocked");
        assert_eq!(names, ["good"]);
        assert_eq!(bad.len(), 1);
        assert!(
            bad[0]
                .to_string()
                .contains("stuck.toml: not a regular file"),
            "{}",
            bad[0]
        );
        let err = s.network("stuck").unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn planted_links_to_hint_files_are_refused_and_their_targets_untouched() {
        let s = tmp_store("links");
        let victim = s.root().join("victim");
        let dir = s.root().join("leases/lab");
        fs::create_dir_all(dir.join("clients")).unwrap();
        fs::write(&victim, "precious\n").unwrap();
        for link in [dir.join(".cursor"), dir.join("clients/ns1")] {
            // The other hint, written by the previous round, is a plain file.
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink(&victim, &link).unwrap();
            let err = s
                .put_lease(&lease("10.1.0.2"), true)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&link.display().to_string()) && err.contains("symbolic link"),
                "{err}"
            );
            assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
            let read = match link.file_name().unwrap().to_str() {
                Some(".cursor") => s.lease_cursor("lab", Family::V4).map(|_| ()),
                _ => s.client_lease("lab", "ns1", Family::V4).map(|_| ()),
            };
            assert!(read.unwrap_err().to_string().contains("symbolic link"));
            assert!(
                s.lease("lab", "10.1.0.2".parse().unwrap())
                    .unwrap()
                    .is_none()
            );
            fs::remove_file(&link).unwrap();
        }
        // A linked directory on the way is refused too.
        let elsewhere = s.root().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, s.root().join("namespaces")).unwrap();
        let record = NamespaceRecord {
            name: "ns1".into(),
            created: 1,
            host: false,
        };
        let err = s.put_namespace(&record).unwrap_err().to_string();
        assert!(err.contains("namespaces: is a symbolic link"), "{err}");
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn a_linked_state_file_is_not_read_through() {
        let s = tmp_store("readlink");
        let dir = s.root().join("networks");
        fs::create_dir_all(&dir).unwrap();
        let real = s.root().join("real.toml");
        s.put_network(&network("real")).unwrap();
        fs::rename(dir.join("real.toml"), &real).unwrap();
        std::os::unix::fs::symlink(&real, dir.join("linked.toml")).unwrap();
        assert!(s.networks().unwrap().is_empty());
        assert!(
            s.bad_files()[0]
                .to_string()
                .contains("linked.toml: is a symbolic link")
        );
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn files_are_0644_and_directories_0755_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let s = tmp_store("modes");
        let mode = |p: &str| fs::metadata(s.root().join(p)).unwrap().permissions().mode() & 0o7777;
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
        let made = (|| -> Result<()> {
            drop(s.lock()?);
            s.put_network(&network("lab"))?;
            s.put_lease(&lease("10.1.0.2"), true)?;
            s.put_lease(&lease("10.1.0.3"), false)
        })();
        nix::sys::stat::umask(old);
        made.unwrap();
        for dir in ["", "networks", "leases", "leases/lab", "leases/lab/clients"] {
            assert_eq!(mode(dir), 0o755, "{dir}");
        }
        for file in [
            "lock",
            "networks/lab.toml",
            "leases/lab/10.1.0.2.toml",
            "leases/lab/10.1.0.3.toml",
            "leases/lab/.cursor",
            "leases/lab/clients/ns1",
        ] {
            assert_eq!(mode(file), 0o644, "{file}");
        }
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn an_empty_record_left_by_a_crash_reads_as_absent_and_can_be_claimed_again() {
        let s = tmp_store("crash");
        let dir = s.root().join("leases").join("lab");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("10.1.0.2.toml"), "").unwrap();
        assert_eq!(s.lease("lab", "10.1.0.2".parse().unwrap()).unwrap(), None);
        assert!(s.leases("lab").unwrap().is_empty());
        s.put_lease(&lease("10.1.0.2"), true).unwrap();
        assert_eq!(s.leases("lab").unwrap().len(), 1);
        let _ = fs::remove_dir_all(s.root());
    }
}

mod port_claims {
    use super::super::*;

    fn claim(key: &str, spec: &str) -> PortClaim {
        PortClaim {
            network: "lab".into(),
            key: key.into(),
            netns: key.into(),
            mapping: crate::ports::parse(spec).unwrap(),
        }
    }

    fn store(tag: &str) -> FileStore {
        let dir = std::env::temp_dir().join(format!("cnet-ports-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        FileStore::new(dir)
    }

    #[test]
    fn a_range_is_claimed_per_port_and_released_by_its_holder_only() {
        let s = store("range");
        let a = claim("ns1", "8000-8002:7000-7002");
        s.claim_ports(&a).unwrap();
        for p in 8000..=8002 {
            assert_eq!(s.port_claims("tcp", p).unwrap(), vec![a.clone()]);
        }
        assert!(s.port_claims("tcp", 8003).unwrap().is_empty());
        assert!(s.port_claims("udp", 8000).unwrap().is_empty());
        // Overlapping claim: refused, and nothing of it is left behind.
        let b = claim("ns2", "8002-8004:80-82");
        let e = s.claim_ports(&b).unwrap_err();
        assert!(e.to_string().contains("0.0.0.0:8002/tcp"), "{e}");
        assert!(s.port_claims("tcp", 8003).unwrap().is_empty());
        // Another address of the same port is another file.
        let c = claim("ns2", "127.0.0.1:8001:80");
        s.claim_ports(&c).unwrap();
        assert_eq!(s.port_claims("tcp", 8001).unwrap().len(), 2);
        // A release by someone else changes nothing; the holder's frees its ports.
        s.release_ports(&PortClaim {
            key: "ns9".into(),
            ..a.clone()
        })
        .unwrap();
        assert_eq!(s.port_claims("tcp", 8000).unwrap().len(), 1);
        s.release_ports(&a).unwrap();
        assert!(s.port_claims("tcp", 8000).unwrap().is_empty());
        assert_eq!(s.port_claims("tcp", 8001).unwrap(), vec![c.clone()]);
        s.release_ports(&c).unwrap();
        assert!(!s.root().join("ports/tcp/8001").exists());
        let _ = fs::remove_dir_all(s.root());
    }
}

/// Intents live in the lock file while a plan runs (`journal`).
mod journal {
    use super::super::*;
    use std::io::Write;

    fn tmp_store(tag: &str) -> FileStore {
        let dir = std::env::temp_dir().join(format!("cnet-journal-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        FileStore::new(dir)
    }

    fn intent(pid: u32) -> Intent {
        Intent {
            pid,
            start: 7,
            boot_id: "b".into(),
            teardown: false,
            plan: crate::plan::Plan::default(),
        }
    }

    fn lock_file_len(s: &FileStore) -> u64 {
        fs::metadata(s.root().join("lock")).unwrap().len()
    }

    #[test]
    fn an_intent_is_kept_in_the_lock_file_until_dropped() {
        let s = tmp_store("keep");
        let guard = s.lock().unwrap();
        assert!(s.intents().unwrap().is_empty());
        s.put_intent(&intent(10)).unwrap();
        s.put_intent(&intent(11)).unwrap();
        // Put again by the same process: replaced, not doubled.
        s.put_intent(&intent(10)).unwrap();
        assert_eq!(s.intents().unwrap(), vec![intent(10), intent(11)]);
        drop(guard);
        // Read without the lock too (`cnet gc --dry-run`), and by the next holder.
        assert_eq!(s.intents().unwrap().len(), 2);
        let _guard = s.lock().unwrap();
        s.drop_intent(&intent(10)).unwrap();
        assert_eq!(s.intents().unwrap(), vec![intent(11)]);
        s.drop_intent(&intent(11)).unwrap();
        assert!(s.intents().unwrap().is_empty());
        assert_eq!(lock_file_len(&s), 0, "an empty journal is an empty file");
    }

    #[test]
    fn a_line_cut_short_is_dropped_and_the_rest_kept() {
        let s = tmp_store("torn");
        let guard = s.lock().unwrap();
        s.put_intent(&intent(12)).unwrap();
        drop(guard);
        let mut f = OpenOptions::new()
            .append(true)
            .open(s.root().join("lock"))
            .unwrap();
        f.write_all(b"13-7 {\"pid\":13,\"sta").unwrap();
        let _guard = s.lock().unwrap();
        assert_eq!(s.intents().unwrap(), vec![intent(12)]);
        let text = fs::read_to_string(s.root().join("lock")).unwrap();
        assert_eq!(text.lines().count(), 1, "the torn line is gone: {text}");
    }

    #[test]
    fn an_intent_is_refused_outside_the_lock() {
        let s = tmp_store("unlocked");
        drop(s.lock().unwrap());
        let e = s.put_intent(&intent(14)).unwrap_err();
        assert!(e.to_string().contains("state lock"), "{e}");
    }
}
