//! The import on both engines: files as their tools write them, dry run
//! then apply, idempotency, strict atomicity, sync archiving, names of
//! archived devices, and export → import round trips.

use devicevault_collect::DriverSet;
use devicevault_core::{SealingKey, StorageBackendKind};
use devicevault_db::{Db, DeviceFilter, Page, Scope};
use devicevault_pipeline::app::import::{
    self, Action, DriverMap, Format, ImportContext, ImportOptions, ImportReport,
};
use devicevault_testkit::both_engines;
use devicevault_testkit::db::TestDb;

struct World {
    t: TestDb,
    drivers: DriverSet,
    key: SealingKey,
    mapping: DriverMap,
}

impl World {
    async fn new(t: TestDb) -> Self {
        let key = SealingKey::generate();
        let mut config = serde_json::Map::new();
        config.insert("base_path".into(), "/srv/backups".into());
        t.db.create_location("main", StorageBackendKind::Fs, &config)
            .await
            .unwrap();
        t.db.create_credential("lab", "admin", &key.seal(b"admin"), None)
            .await
            .unwrap();
        t.db.create_device_group("core").await.unwrap();
        Self {
            t,
            drivers: DriverSet::builtin(),
            key,
            mapping: DriverMap::builtin(),
        }
    }

    fn db(&self) -> &Db {
        &self.t.db
    }

    async fn run(&self, format: Format, input: &str, options: &ImportOptions) -> ImportReport {
        let ctx = ImportContext {
            db: &self.t.db,
            drivers: &self.drivers,
            key: Some(&self.key),
            mapping: &self.mapping,
            by: None,
        };
        let parsed = import::parse_source(format, input.as_bytes(), options).unwrap();
        import::run(ctx, format, parsed, options).await.unwrap()
    }

    async fn live_names(&self) -> Vec<String> {
        self.db()
            .list_devices(&DeviceFilter::default(), &Scope::Admin, big())
            .await
            .unwrap()
            .rows
            .into_iter()
            .map(|d| d.fields.name)
            .collect()
    }
}

fn big() -> Page {
    Page {
        limit: 100_000,
        offset: 0,
    }
}

fn opts(apply: bool) -> ImportOptions {
    let mut o = ImportOptions {
        apply,
        ..ImportOptions::default()
    };
    o.defaults.insert("backup_location".into(), "main".into());
    o
}

fn actions(r: &ImportReport) -> Vec<(Option<usize>, Action)> {
    r.lines.iter().map(|l| (l.line, l.action)).collect()
}

/// An Oxidized router.db as an engineer keeps it: comments, blank lines,
/// some lines with a login (one of them the existing `lab` credential's).
const ROUTER_DB: &str = "\
# Oxidized source: router.db
# name:model[:username:password]

core1.example.net:ios
core2.example.net:junos:admin:admin

   # edge routers
edge1.example.net:routeros:backup:s3cr:et
edge2.example.net:eos:backup:s3cr:et
";

async fn oxidized_dry_run_apply_and_a_second_run_that_changes_nothing(t: TestDb) {
    let w = World::new(t).await;
    let dry = w.run(Format::Oxidized, ROUTER_DB, &opts(false)).await;
    assert!(!dry.applied);
    assert_eq!(dry.counts.create, 4, "{dry:?}");
    assert_eq!(
        actions(&dry),
        [
            (Some(4), Action::Create),
            (Some(5), Action::Create),
            (Some(8), Action::Create),
            (Some(9), Action::Create)
        ]
    );
    assert_eq!(dry.new_credentials, ["import-backup"]);
    assert!(w.live_names().await.is_empty(), "a dry run changes nothing");

    let applied = w.run(Format::Oxidized, ROUTER_DB, &opts(true)).await;
    assert!(applied.applied);
    assert_eq!(applied.counts.create, 4);
    let devices = w
        .db()
        .list_devices(&DeviceFilter::default(), &Scope::Admin, big())
        .await
        .unwrap()
        .rows;
    let by = |n: &str| devices.iter().find(|d| d.fields.name == n).unwrap();
    assert_eq!(by("core1.example.net").fields.driver, "cisco_ios");
    assert_eq!(by("core1.example.net").fields.address, "core1.example.net");
    assert_eq!(by("core1.example.net").fields.credential, None);
    assert!(by("core1.example.net").fields.backup_location.is_some());
    let creds = w.db().list_credentials(big()).await.unwrap().rows;
    let lab = creds.iter().find(|c| c.name == "lab").unwrap();
    assert_eq!(
        by("core2.example.net").fields.credential,
        Some(lab.id),
        "an existing credential with that username and password is reused"
    );
    let new = creds.iter().find(|c| c.name == "import-backup").unwrap();
    assert_eq!(new.username, "backup");
    assert_eq!(w.key.open(&new.password_sealed).unwrap(), b"s3cr:et");
    assert_eq!(by("edge1.example.net").fields.credential, Some(new.id));
    assert_eq!(by("edge2.example.net").fields.credential, Some(new.id));
    assert_eq!(creds.len(), 2, "one credential for both edge lines");

    let again = w.run(Format::Oxidized, ROUTER_DB, &opts(true)).await;
    assert_eq!(again.counts.unchanged, 4, "{again:?}");
    assert_eq!(again.counts.create + again.counts.update, 0);
    assert!(again.new_credentials.is_empty());
    assert_eq!(w.db().list_credentials(big()).await.unwrap().total, 2);
}

async fn an_unknown_default_refuses_the_whole_run(t: TestDb) {
    let w = World::new(t).await;
    let ctx = ImportContext {
        db: w.db(),
        drivers: &w.drivers,
        key: Some(&w.key),
        mapping: &w.mapping,
        by: None,
    };
    let options = ImportOptions {
        defaults: [("credential".to_owned(), "nope".to_owned())].into(),
        ..ImportOptions::default()
    };
    let parsed = import::parse_source(Format::Oxidized, b"r1:ios\n", &options).unwrap();
    let e = import::run(ctx, Format::Oxidized, parsed, &options)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("no credential is named \"nope\""),
        "{e}"
    );
    assert!(!e.retry_helps());
}

async fn line_errors_are_reported_with_their_reason(t: TestDb) {
    let w = World::new(t).await;
    w.run(Format::Oxidized, "r1:ios\nr2:eos\n", &opts(true))
        .await;
    let r = w
        .run(
            Format::Oxidized,
            "r1:junos\nr2:eos\nr3:ciscoish\nr4:ios\nr4:eos\n",
            &opts(false),
        )
        .await;
    assert_eq!(
        actions(&r),
        [
            (Some(1), Action::Update),
            (Some(2), Action::Unchanged),
            (Some(3), Action::Error),
            (Some(4), Action::Create),
            (Some(5), Action::Error),
        ]
    );
    let ch = &r.lines[0].changes;
    assert_eq!(ch.len(), 1);
    assert_eq!(
        (ch[0].field.as_str(), ch[0].from.as_str(), ch[0].to.as_str()),
        ("driver", "cisco_ios", "juniper_junos")
    );
    assert!(
        r.lines[2]
            .reason
            .as_deref()
            .unwrap()
            .contains("unknown model \"ciscoish\"")
    );
    assert!(r.lines[4].reason.as_deref().unwrap().contains("line 4"));
    let csv = "name,address,driver,credential,device_group\nr9,192.0.2.9,cisco_ios,missing,core\n";
    let r = w.run(Format::Csv, csv, &opts(false)).await;
    assert_eq!(r.lines[0].action, Action::Error);
    assert!(
        r.lines[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("no credential is named \"missing\"")
    );
}

async fn strict_applies_nothing_and_otherwise_the_good_lines_apply(t: TestDb) {
    let w = World::new(t).await;
    let input = "good1:ios\nbad:ciscoish\ngood2:eos\n";
    let strict = w
        .run(
            Format::Oxidized,
            input,
            &ImportOptions {
                strict: true,
                ..opts(true)
            },
        )
        .await;
    assert!(!strict.applied);
    assert_eq!(strict.counts.error, 1);
    assert!(strict.notes[0].contains("strict"));
    assert!(w.live_names().await.is_empty(), "strict: nothing applied");
    let lenient = w.run(Format::Oxidized, input, &opts(true)).await;
    assert!(lenient.applied);
    assert_eq!(w.live_names().await, ["good1", "good2"]);
}

async fn sync_archives_what_the_source_no_longer_names(t: TestDb) {
    let w = World::new(t).await;
    w.run(
        Format::Oxidized,
        "a:ios\nb:ios\nc:ios\nd:ios\n",
        &opts(true),
    )
    .await;
    let sync = ImportOptions {
        sync: true,
        ..opts(true)
    };
    // c's line is malformed: it is still named, so not archived.
    let r = w.run(Format::Oxidized, "a:ios\nc:ciscoish\n", &sync).await;
    assert_eq!(r.counts.archive, 2, "{r:?}");
    let archived: Vec<&str> = r
        .lines
        .iter()
        .filter(|l| l.action == Action::Archive)
        .map(|l| l.name.as_deref().unwrap())
        .collect();
    assert_eq!(archived, ["b", "d"]);
    assert_eq!(w.live_names().await, ["a", "c"]);
    let gone = w
        .db()
        .list_devices(
            &DeviceFilter {
                archived: true,
                ..DeviceFilter::default()
            },
            &Scope::Admin,
            big(),
        )
        .await
        .unwrap();
    assert_eq!(gone.total, 2, "archived, never deleted");

    // An archived name is an error of its line, not a resurrection.
    let r = w.run(Format::Oxidized, "a:ios\nb:ios\n", &opts(true)).await;
    assert_eq!(r.lines[1].action, Action::Error);
    assert!(r.lines[1].reason.as_deref().unwrap().contains("archived"));

    // A line without a readable name: nothing archived.
    let r = w
        .run(Format::Oxidized, "a:ios\n:ios\n", &ImportOptions { ..sync })
        .await;
    assert_eq!(r.counts.archive, 0);
    assert!(r.notes.iter().any(|n| n.contains("nothing archived")));
    assert_eq!(w.live_names().await, ["a", "c"]);
}

async fn export_then_import_is_unchanged_even_for_formula_looking_names(t: TestDb) {
    let w = World::new(t).await;
    let csv = "\u{feff}name,address,port,driver,credential,backup_location,device_group,enabled\r\n\
        =cmd|' /C calc'!A0,192.0.2.1,2222,cisco_ios,lab,main,core,true\r\n\
        \"sw, floor 2\",192.0.2.2,,arista_eos,,main,,false\r\n";
    let r = w.run(Format::Csv, csv, &opts(true)).await;
    assert_eq!(r.counts.create, 2, "{r:?}");
    let exported = import::export_csv(w.db(), &devicevault_db::Scope::Admin)
        .await
        .unwrap();
    let mut lines = exported.lines();
    assert_eq!(
        lines.next().unwrap(),
        "name,address,port,driver,credential,backup_location,collection_group,device_group,device_type,enabled,\
         transport,legacy_algorithms,connect_timeout,command_timeout,job_timeout,jump_host,jump_port,jump_credential"
    );
    assert_eq!(
        lines.next().unwrap(),
        "'=cmd|' /C calc'!A0,192.0.2.1,2222,cisco_ios,lab,main,,core,,true,ssh,,,,,,,"
    );
    assert_eq!(
        lines.next().unwrap(),
        "\"sw, floor 2\",192.0.2.2,22,arista_eos,,main,,,,false,ssh,,,,,,,"
    );
    assert!(!exported.contains("admin"), "no secret, no username");
    let back = w.run(Format::Csv, &exported, &opts(true)).await;
    assert_eq!(back.counts.unchanged, 2, "{back:?}");
    assert_eq!(back.lines.len(), 2);
}

async fn rancid_imports_up_devices_and_skips_the_others(t: TestDb) {
    let w = World::new(t).await;
    let input = "#\n# RANCID router.db\nsw1.example.net;cisco;up\nsw2.example.net;juniper;down;RMA\nfw1.example.net:fortigate:up\n";
    let r = w.run(Format::Rancid, input, &opts(true)).await;
    assert_eq!(
        actions(&r),
        [
            (Some(3), Action::Create),
            (Some(4), Action::Skipped),
            (Some(5), Action::Create)
        ]
    );
    assert_eq!(w.live_names().await, ["fw1.example.net", "sw1.example.net"]);
    // sync keeps a listed device that is not up.
    let r = w
        .run(
            Format::Rancid,
            input,
            &ImportOptions {
                sync: true,
                ..opts(true)
            },
        )
        .await;
    assert_eq!(r.counts.archive, 0);
    assert_eq!(r.counts.unchanged, 2);
}

async fn a_report_is_bounded_and_counts_every_line(t: TestDb) {
    let w = World::new(t).await;
    let n = import::MAX_REPORT_LINES + 5;
    let long = "x".repeat(2000);
    let input: String = (0..n).map(|i| format!("r{i}:{long}\n")).collect();
    let r = w.run(Format::Oxidized, &input, &opts(true)).await;
    assert_eq!(r.counts.error, n);
    assert_eq!(r.lines.len(), import::MAX_REPORT_LINES);
    assert_eq!(r.lines_left_out, 5);
    let reason = r.lines[0].reason.as_deref().unwrap();
    assert!(
        reason.chars().count() <= import::MAX_REASON_CHARS + 1,
        "{reason}"
    );
    assert!(w.live_names().await.is_empty());
}

both_engines!(
    a_report_is_bounded_and_counts_every_line,
    oxidized_dry_run_apply_and_a_second_run_that_changes_nothing,
    an_unknown_default_refuses_the_whole_run,
    line_errors_are_reported_with_their_reason,
    strict_applies_nothing_and_otherwise_the_good_lines_apply,
    sync_archives_what_the_source_no_longer_names,
    export_then_import_is_unchanged_even_for_formula_looking_names,
    rancid_imports_up_devices_and_skips_the_others,
);
