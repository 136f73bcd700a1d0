//! The search cache in embedded mode is filled from the content the
//! storage worker hands it, not read back through storage (issue 22); its
//! documents are the ones a read-back makes, and a hand-off lost with the
//! process is a read-back after the restart.

mod common;

use std::time::{Duration, Instant};

use common::{Engine, Harness};
use devicevault_db::{Scope, SearchFilter, SearchTarget};
use devicevault_pipeline::app::search::{Audience, SearchIndex};
use devicevault_server::embedded::Embedded;
use devicevault_sim::SimConfig;

/// What the cache holds of one version, everything a search can see.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    stored_backup_id: i64,
    stored_at: String,
    content: Vec<u8>,
    for_everyone: Option<Vec<u8>>,
    masked: Option<Vec<u8>>,
}

/// The latest stored version of every device.
async fn latest_versions(server: &Embedded) -> Vec<SearchTarget> {
    server
        .db
        .search_targets(&Scope::All, &SearchFilter::default())
        .await
        .unwrap()
}

/// Waits (at most 20 s) for the cache to hold each target's version.
async fn cached(search: &SearchIndex, targets: &[SearchTarget]) -> Vec<Snapshot> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut out = Vec::new();
    for t in targets {
        let doc = loop {
            if let Some(d) = search.cached(t.device_id, t.stored.id) {
                break d;
            }
            assert!(
                Instant::now() < deadline,
                "the cache never held device {}'s version {}",
                t.device_id,
                t.stored.id
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        out.push(Snapshot {
            stored_backup_id: doc.stored_backup_id(),
            stored_at: doc.stored_at().to_string(),
            content: doc.content().to_vec(),
            for_everyone: doc.text_for(Audience::Everything).map(|c| c.into_owned()),
            masked: doc.text_for(Audience::Masked).map(|c| c.into_owned()),
        });
    }
    out
}

async fn hand_off_and_read_back_make_the_same_documents(engine: Engine) {
    let mut h = Harness::start(
        engine,
        SimConfig {
            devices: 3,
            platforms: vec!["cisco_ios".into()],
            ..SimConfig::default()
        },
    )
    .await;
    let (_, ids) = h.inventory().await;
    for id in &ids {
        let ti = h.backup_now(*id).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
    }
    // A second version of one device: the hand-off follows the latest.
    h.sim.devices()[0].change_config();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let ti = h.backup_now(ids[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let targets = latest_versions(h.server()).await;
    assert_eq!(targets.len(), ids.len());

    let handed = cached(&h.server().search, &targets).await;
    let stats = h.server().search.hand_off_stats();
    assert_eq!(stats.refused, 0, "{stats:?}");
    assert!(
        stats.used >= ids.len() as u64,
        "every latest version came from the hand-off: {stats:?}"
    );
    assert!(
        handed
            .iter()
            .all(|s| s.masked.is_some() && s.masked != s.for_everyone),
        "the simulator's configurations have secrets to mask"
    );

    // Restarted, the process has no hand-off: the rebuild reads every
    // version back through storage.
    let server = h.server.take().unwrap();
    server.stop(Duration::from_secs(10)).await;
    let mut cfg = common::test_config(h.dir.path());
    if let Some(name) = &h.pg_name {
        cfg.database_url = Some(devicevault_testkit::pg_url(name));
    }
    h.server = Some(Embedded::start(cfg).await.unwrap());
    assert_eq!(latest_versions(h.server()).await, targets);
    let read_back = cached(&h.server().search, &targets).await;
    assert_eq!(
        h.server().search.hand_off_stats().used,
        0,
        "read back, not handed off"
    );
    assert_eq!(handed, read_back);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cached_document_from_the_hand_off_is_the_read_back_one_on_sqlite() {
    hand_off_and_read_back_make_the_same_documents(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cached_document_from_the_hand_off_is_the_read_back_one_on_postgres() {
    hand_off_and_read_back_make_the_same_documents(Engine::Postgres).await;
}
