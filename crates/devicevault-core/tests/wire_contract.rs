//! The seed's JSON examples parse into the wire types and survive a round
//! trip, both as JSON and as flat stream fields.

use std::collections::HashMap;

use devicevault_core::{
    DeviceResult, LogEntry, Operation, Severity, Status, StorageBackendKind, StorageRef,
    StorageResult, StoreTask, Timestamp, WireError,
};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fields(pairs: Vec<(&'static str, String)>) -> HashMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[test]
fn the_seed_store_payloads_parse_and_round_trip() {
    for (file, backend) in [
        ("storage_store_payload_git.json", StorageBackendKind::Git),
        ("storage_store_payload_fs.json", StorageBackendKind::Fs),
    ] {
        let raw = fixture(file);
        let task = StoreTask::from_json(raw.clone()).unwrap();
        assert_eq!(task.device_id, 123);
        assert_eq!(task.storage_backend, backend);
        assert_eq!(task.storage_backend.queue(), format!("storage.{backend}"));
        assert_eq!(task.content().unwrap(), b"<raw backup content>");
        assert!(!task.is_binary && task.storage_rel_path.is_none());
        assert_eq!(
            serde_json::to_value(&task).unwrap(),
            raw,
            "{file} round trip"
        );
    }
}

#[test]
fn the_seed_storage_result_parses_and_round_trips() {
    let raw = fixture("storage_result.json");
    let result: StorageResult = serde_json::from_value(raw).unwrap();
    assert_eq!(result.status, Status::Success);
    assert_eq!(result.operation, Operation::Store);
    assert_eq!(result.timestamp.to_string(), "2026-01-12T12:34:56.789Z");
    assert_eq!(result.log[0].message, "stored to git:main:123/...@abc123");
    let parsed = StorageRef::parse(result.storage_backend, &result.storage_ref).unwrap();
    assert_eq!(parsed.to_string(), result.storage_ref);

    let again: StorageResult =
        serde_json::from_value(serde_json::to_value(&result).unwrap()).unwrap();
    assert_eq!(again, result);
    let from_fields = StorageResult::from_fields(&fields(result.to_fields())).unwrap();
    assert_eq!(from_fields, result);
}

#[test]
fn storage_result_fields_have_the_contract_names() {
    let raw = fixture("storage_result.json");
    let mut result: StorageResult = serde_json::from_value(raw).unwrap();
    result.changed = Some(true);
    result.size = Some(10);
    result.sha256 = Some("ab".repeat(32));
    let names: Vec<&str> = result.to_fields().iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        [
            "task_id",
            "task_identifier",
            "device_id",
            "storage_backend",
            "storage_ref",
            "status",
            "timestamp",
            "log",
            "operation",
            "storage_duration_ms",
            "changed",
            "sha256",
            "size"
        ]
    );
    assert_eq!(
        StorageResult::from_fields(&fields(result.to_fields())).unwrap(),
        result
    );
}

#[test]
fn the_seed_location_config_is_an_object_with_the_seed_keys() {
    let loc = fixture("git_location.json");
    assert_eq!(loc["location_type"], "git");
    let kind: StorageBackendKind = loc["location_type"].as_str().unwrap().parse().unwrap();
    assert_eq!(kind.queue(), "storage.git");
    assert_eq!(loc["config"]["repo_path"], "/tmp/devicevault-git-repo");
}

fn device_result() -> DeviceResult {
    DeviceResult {
        task_id: "5f0c6b1e-1c39-4e8e-9a53-0d7f3f1f9a10".into(),
        task_identifier: "backup_now:1:2026-01-12T12:34:56.789Z".into(),
        device_id: 1,
        status: Status::Success,
        timestamp: Timestamp::parse("2026-01-12T12:34:57.001Z").unwrap(),
        log: vec![LogEntry::new(
            "collector",
            Severity::Info,
            "collected 812 bytes",
        )],
        device_config: "hostname r1\n".into(),
        collection_duration_ms: 412,
        initiated_at: Timestamp::parse("2026-01-12T12:34:56.789Z").unwrap(),
        is_binary: false,
        author: None,
        change_key: None,
    }
}

#[test]
fn device_results_round_trip_through_stream_fields() {
    let r = device_result();
    let f = fields(r.to_fields());
    for name in [
        "task_id",
        "task_identifier",
        "device_id",
        "status",
        "timestamp",
        "log",
        "device_config",
        "collection_duration_ms",
        "initiated_at",
        "is_binary",
    ] {
        assert!(f.contains_key(name), "missing {name}");
    }
    assert_eq!(f["device_id"], "1");
    assert_eq!(f["status"], "success");
    let log: Value = serde_json::from_str(&f["log"]).unwrap();
    assert_eq!(log[0]["source"], "collector");
    assert_eq!(DeviceResult::from_fields(&f).unwrap(), r);
    assert!(!f.contains_key("author"), "no author: no field, as before");
    // The author is an addition: written when known, read back, and
    // absent from a record written without it.
    let with = DeviceResult {
        author: Some("jdoe".into()),
        ..device_result()
    };
    let f = fields(with.to_fields());
    assert_eq!(f["author"], "jdoe");
    assert_eq!(DeviceResult::from_fields(&f).unwrap(), with);
    let json = serde_json::to_value(&with).unwrap();
    assert_eq!(json["author"], "jdoe");
    let old: DeviceResult =
        serde_json::from_value(serde_json::to_value(device_result()).unwrap()).unwrap();
    assert_eq!(old.author, None);
}

#[test]
fn the_change_key_is_an_optional_addition_to_device_results() {
    let key = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    assert!(devicevault_core::is_change_key(key));
    for bad in ["", "9F86", &key.to_uppercase(), &format!("{key}0")] {
        assert!(!devicevault_core::is_change_key(bad), "{bad}");
    }
    let plain = fields(device_result().to_fields());
    assert!(
        !plain.contains_key("change_key"),
        "none: no field, as before"
    );
    let with = DeviceResult {
        change_key: Some(key.into()),
        ..device_result()
    };
    let f = fields(with.to_fields());
    assert_eq!(f["change_key"], key);
    assert_eq!(DeviceResult::from_fields(&f).unwrap(), with);
    assert_eq!(serde_json::to_value(&with).unwrap()["change_key"], key);
    // A record written before the field existed still reads.
    let old: DeviceResult =
        serde_json::from_value(serde_json::to_value(device_result()).unwrap()).unwrap();
    assert_eq!(old.change_key, None);
    assert_eq!(DeviceResult::from_fields(&plain).unwrap().change_key, None);
}

#[test]
fn malformed_stream_records_name_the_field() {
    let mut f = fields(device_result().to_fields());
    f.remove("task_identifier");
    assert_eq!(
        DeviceResult::from_fields(&f).unwrap_err(),
        WireError::MissingField {
            field: "task_identifier"
        }
    );
    let mut f = fields(device_result().to_fields());
    f.insert("device_id".into(), "one".into());
    assert!(matches!(
        DeviceResult::from_fields(&f),
        Err(WireError::InvalidField {
            field: "device_id",
            ..
        })
    ));
    let mut f = fields(device_result().to_fields());
    f.insert("log".into(), "not json".into());
    assert!(matches!(
        DeviceResult::from_fields(&f),
        Err(WireError::InvalidField { field: "log", .. })
    ));
    let mut f = fields(device_result().to_fields());
    f.insert("status".into(), "maybe".into());
    assert!(matches!(
        DeviceResult::from_fields(&f),
        Err(WireError::InvalidField {
            field: "status",
            ..
        })
    ));
}

#[test]
fn binary_content_travels_as_base64() {
    let bytes = [0u8, 159, 146, 150, b'\r', b'\n'];
    let task = StoreTask::new(
        "t".into(),
        "job".into(),
        7,
        StorageBackendKind::Fs,
        serde_json::Map::new(),
        None,
        &bytes,
        true,
    )
    .unwrap();
    let v = serde_json::to_value(&task).unwrap();
    assert_eq!(v["is_binary"], true);
    assert_eq!(StoreTask::from_json(v).unwrap().content().unwrap(), bytes);
    assert!(
        StoreTask::new(
            "t".into(),
            "job".into(),
            7,
            StorageBackendKind::Fs,
            serde_json::Map::new(),
            None,
            &bytes,
            false
        )
        .is_err(),
        "non-UTF-8 content must be sent as binary"
    );
}

#[test]
fn a_store_task_with_an_unsafe_rel_path_is_rejected() {
    let mut raw = fixture("storage_store_payload_git.json");
    raw["storage_rel_path"] = json!("../../etc/passwd");
    let err = StoreTask::from_json(raw).unwrap_err();
    assert!(err.to_string().contains(".."), "{err}");
}

#[test]
fn a_store_task_names_the_previous_path_of_a_renamed_device() {
    let mut raw = fixture("storage_store_payload_git.json");
    raw["storage_rel_path"] = json!("123/core-new.cfg");
    raw["storage_previous_rel_path"] = json!("123/core-old.cfg");
    let task = StoreTask::from_json(raw.clone()).unwrap();
    assert_eq!(
        task.storage_previous_rel_path.as_ref().map(|p| p.as_str()),
        Some("123/core-old.cfg")
    );
    assert_eq!(serde_json::to_value(&task).unwrap(), raw, "round trip");
    // Without a storage_rel_path the worker's default is the device's too.
    raw.as_object_mut().unwrap().remove("storage_rel_path");
    StoreTask::from_json(raw).unwrap();
}

#[test]
fn a_store_task_may_move_a_file_within_its_devices_fanout_directory() {
    // 123 = 0x7b: its fanout directory is 7b/00/123.
    for (rel_path, previous) in [
        ("7b/00/123/core-new.cfg", "7b/00/123/core-old.cfg"),
        ("123/core-new.cfg", "7b/00/123/core-old.cfg"),
        ("7b/00/123/core-new.cfg", "123/core-old.cfg"),
    ] {
        let mut raw = fixture("storage_store_payload_git.json");
        raw["storage_rel_path"] = json!(rel_path);
        raw["storage_previous_rel_path"] = json!(previous);
        StoreTask::from_json(raw).unwrap();
    }
}

#[test]
fn a_store_task_cannot_move_a_file_outside_its_devices_directory() {
    for (rel_path, previous) in [
        (Some("123/r1.cfg"), "124/r1.cfg"),
        (Some("123/r1.cfg"), "1234/r1.cfg"),
        (Some("123/r1.cfg"), "r1.cfg"),
        (Some("124/r1.cfg"), "123/r1.cfg"),
        (None, "12/r1.cfg"),
        // Fanout: another device's shard directory, or the right shard
        // with another device's id.
        (Some("123/r1.cfg"), "7c/00/124/r1.cfg"),
        (Some("123/r1.cfg"), "7b/00/124/r1.cfg"),
        (Some("7b/00/124/r1.cfg"), "123/r1.cfg"),
    ] {
        let mut raw = fixture("storage_store_payload_git.json");
        if let Some(p) = rel_path {
            raw["storage_rel_path"] = json!(p);
        }
        raw["storage_previous_rel_path"] = json!(previous);
        let err = StoreTask::from_json(raw).unwrap_err();
        assert!(
            matches!(
                err,
                WireError::InvalidField {
                    field: "storage_previous_rel_path",
                    ..
                }
            ) && err.to_string().contains("123/"),
            "{rel_path:?} from {previous}: {err}"
        );
    }
    let mut raw = fixture("storage_store_payload_git.json");
    raw["storage_previous_rel_path"] = json!("123/../124/r1.cfg");
    let err = StoreTask::from_json(raw).unwrap_err();
    assert!(err.to_string().contains(".."), "{err}");
}

#[test]
fn a_store_task_with_wrong_types_is_rejected() {
    for (field, value) in [
        ("device_id", json!("123")),
        ("storage_backend", json!("s3")),
        ("storage_config", json!("repo")),
        ("device_config", json!(5)),
    ] {
        let mut raw = fixture("storage_store_payload_git.json");
        raw[field] = value;
        assert!(StoreTask::from_json(raw).is_err(), "{field} accepted");
    }
}
