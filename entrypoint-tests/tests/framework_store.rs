//! The framework store against a real ZooKeeper (and the file store): the layout operators
//! rely on, atomic replacement, collision-free executor IDs under load, and a ZooKeeper that
//! is down or restarts.

use std::time::Duration;

use entrypoint_tests::zookeeper::ZooKeeper;
use spark_init::clients::framework_store::{parse_url, Store, StoreError};

fn store(zk: &ZooKeeper, path: &str) -> Store {
    Store::new(
        parse_url(&format!("zk://{}{path}", zk.connect_string())).unwrap(),
        Duration::from_secs(10),
    )
}

#[test]
fn framework_id_round_trip_with_versioned_writes() {
    let zk = ZooKeeper::start();
    let s = store(&zk, "/spark/orders");
    assert_eq!(s.read().unwrap(), None);
    s.write("5349f49b-68b3-4638-aab2-fc4ec845f993-0007", None)
        .unwrap();
    let stored = s.read().unwrap().unwrap();
    assert_eq!(
        stored.framework_id,
        "5349f49b-68b3-4638-aab2-fc4ec845f993-0007"
    );
    // Replacing what was read works; replacing a stale read does not.
    s.write("5349f49b-68b3-4638-aab2-fc4ec845f993-0008", Some(&stored))
        .unwrap();
    let err = s.write("5349f49b-68b3-4638-aab2-fc4ec845f993-0009", Some(&stored));
    assert!(matches!(err, Err(StoreError::Failed { .. })), "{err:?}");
    assert_eq!(
        s.read().unwrap().unwrap().framework_id,
        "5349f49b-68b3-4638-aab2-fc4ec845f993-0008"
    );
    s.clear().unwrap();
    assert_eq!(s.read().unwrap(), None);
    s.clear().unwrap();
}

#[test]
fn a_hundred_executors_in_parallel_get_distinct_ids() {
    let zk = ZooKeeper::start();
    let url = format!("zk://{}/spark/orders", zk.connect_string());
    let ids: Vec<u32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let url = url.clone();
                scope.spawn(move || {
                    Store::new(parse_url(&url).unwrap(), Duration::from_secs(30))
                        .allocate_executor_id(&format!("task-{i}"))
                        .unwrap()
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 100, "{ids:?}");
    assert!(
        sorted.iter().all(|&id| (1..=100).contains(&id)),
        "{sorted:?}"
    );
}

#[test]
fn zookeeper_down_is_unreachable_and_a_restart_keeps_the_data() {
    let mut zk = ZooKeeper::start();
    let s = store(&zk, "/spark/restart");
    s.write("abc-0001", None).unwrap();
    zk.stop();
    let short = Store::new(s.url().clone(), Duration::from_secs(2));
    assert!(matches!(short.read(), Err(StoreError::Unreachable { .. })));
    zk.restart();
    assert_eq!(s.read().unwrap().unwrap().framework_id, "abc-0001");
    // Sequence numbers continue after a restart: no ID is handed out twice.
    let first = s.allocate_executor_id("a").unwrap().unwrap();
    zk.restart();
    let second = s.allocate_executor_id("b").unwrap().unwrap();
    assert!(second > first);
}
