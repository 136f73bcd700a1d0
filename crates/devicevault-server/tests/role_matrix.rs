//! The role matrix (issue 20): every operation of the API's OpenAPI
//! document, called by an administrator, an operator and a reader — each
//! also restricted to one device group — must answer as `app::rights`
//! says: 403 when the role does not hold the right, else 404 for a
//! device-bound object outside a restricted user's device groups, else 2xx.
//! An operation the document lists and this table does not is a failure,
//! so a new route cannot ship without its rights. A few web routes of the
//! same rights are checked the same way. On SQLite and PostgreSQL.

mod common;

use std::collections::BTreeSet;

use common::{Engine, Harness};
use devicevault_client::HttpClient;
use devicevault_core::Role;
use devicevault_pipeline::app::auth;
use devicevault_sim::SimConfig;
use serde_json::{Value, json};

/// The right an operation needs (the table's copy of `app::rights`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Any signed-in user.
    Read,
    Operate,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    Operator,
    OperatorCore,
    Reader,
    ReaderCore,
}

impl Who {
    const ALL: [Who; 5] = [
        Who::Admin,
        Who::Operator,
        Who::OperatorCore,
        Who::Reader,
        Who::ReaderCore,
    ];

    fn role(self) -> Role {
        match self {
            Who::Admin => Role::Admin,
            Who::Operator | Who::OperatorCore => Role::Operator,
            Who::Reader | Who::ReaderCore => Role::Reader,
        }
    }

    fn restricted(self) -> bool {
        matches!(self, Who::OperatorCore | Who::ReaderCore)
    }

    fn holds(self, need: Need) -> bool {
        match need {
            Need::Read => true,
            Need::Operate => self.role() >= Role::Operator,
            Need::Admin => self.role() == Role::Admin,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Who::Admin => "ad",
            Who::Operator => "op",
            Who::OperatorCore => "opc",
            Who::Reader => "rd",
            Who::ReaderCore => "rdc",
        }
    }
}

/// What the fleet holds: `core_dev` in device group `core`, `edge_dev` in
/// `edge`; two stored versions of `core_dev` and one of `edge_dev`.
struct World {
    core: i64,
    edge: i64,
    core_dev: i64,
    edge_dev: i64,
    loc: i64,
    cred: i64,
    sb: [i64; 2],
    edge_sb: i64,
    core_job: String,
    edge_job: String,
    channel: i64,
    delivery: i64,
    n: u32,
}

/// `(need, device-bound)` of each operation: a device-bound one is also
/// called on the `edge` device's object, where restricted users get 404.
fn table() -> Vec<(&'static str, Need, bool)> {
    use Need::*;
    vec![
        ("GET /api/audit/", Admin, false),
        ("POST /api/auth/logout/", Read, false),
        ("POST /api/auth/password/", Read, false),
        ("POST /api/auth/sign-out-everywhere/", Read, false),
        ("GET /api/backup-locations/", Read, false),
        ("POST /api/backup-locations/", Admin, false),
        ("DELETE /api/backup-locations/{id}/", Admin, false),
        ("GET /api/backup-locations/{id}/", Read, false),
        ("PATCH /api/backup-locations/{id}/", Admin, false),
        ("PUT /api/backup-locations/{id}/", Admin, false),
        ("GET /api/backup-locations/{id}/retention/", Admin, false),
        ("PUT /api/backup-locations/{id}/retention/", Admin, false),
        (
            "POST /api/backup-locations/{id}/retention/run/",
            Admin,
            false,
        ),
        ("GET /api/backup-results/", Read, false),
        ("GET /api/backup-schedules/", Read, false),
        ("POST /api/backup-schedules/", Operate, false),
        ("DELETE /api/backup-schedules/{id}/", Operate, false),
        ("GET /api/backup-schedules/{id}/", Read, false),
        ("PATCH /api/backup-schedules/{id}/", Operate, false),
        ("PUT /api/backup-schedules/{id}/", Operate, false),
        ("GET /api/collection-groups/", Read, false),
        ("POST /api/collection-groups/", Admin, false),
        ("DELETE /api/collection-groups/{id}/", Admin, false),
        ("GET /api/collection-groups/{id}/", Read, false),
        ("PATCH /api/collection-groups/{id}/", Admin, false),
        ("GET /api/compliance-rules/", Read, false),
        ("POST /api/compliance-rules/", Admin, false),
        ("DELETE /api/compliance-rules/{id}/", Admin, false),
        ("GET /api/compliance-rules/{id}/", Read, false),
        ("PATCH /api/compliance-rules/{id}/", Admin, false),
        ("PUT /api/compliance-rules/{id}/", Admin, false),
        ("GET /api/compliance/", Read, false),
        ("GET /api/credentials/", Read, false),
        ("POST /api/credentials/", Admin, false),
        ("DELETE /api/credentials/{id}/", Admin, false),
        ("GET /api/credentials/{id}/", Read, false),
        ("PATCH /api/credentials/{id}/", Admin, false),
        ("GET /api/device-groups/", Read, false),
        ("POST /api/device-groups/", Admin, false),
        ("DELETE /api/device-groups/{id}/", Admin, false),
        ("GET /api/device-groups/{id}/", Read, false),
        ("PATCH /api/device-groups/{id}/", Admin, false),
        ("GET /api/device-types/", Read, false),
        ("POST /api/device-types/", Admin, false),
        ("DELETE /api/device-types/{id}/", Admin, false),
        ("GET /api/device-types/{id}/", Read, false),
        ("PATCH /api/device-types/{id}/", Admin, false),
        ("GET /api/devices/", Read, false),
        ("POST /api/devices/", Operate, false),
        ("POST /api/devices/bulk/", Operate, false),
        ("GET /api/devices/export/", Operate, false),
        ("POST /api/devices/import/", Operate, false),
        ("DELETE /api/devices/{id}/", Operate, true),
        ("GET /api/devices/{id}/", Read, true),
        ("PATCH /api/devices/{id}/", Operate, true),
        ("PUT /api/devices/{id}/", Operate, true),
        ("POST /api/devices/{id}/backup_now/", Read, true),
        ("GET /api/devices/{id}/diff/", Read, true),
        ("POST /api/devices/{id}/restore/", Admin, false),
        ("GET /api/devices/{id}/versions/", Read, true),
        ("GET /api/jobs/{task_identifier}/", Read, true),
        ("GET /api/manufacturers/", Read, false),
        ("POST /api/manufacturers/", Admin, false),
        ("DELETE /api/manufacturers/{id}/", Admin, false),
        ("GET /api/manufacturers/{id}/", Read, false),
        ("PATCH /api/manufacturers/{id}/", Admin, false),
        ("GET /api/notification-channels/", Operate, false),
        ("POST /api/notification-channels/", Admin, false),
        ("DELETE /api/notification-channels/{id}/", Admin, false),
        ("GET /api/notification-channels/{id}/", Operate, false),
        ("PATCH /api/notification-channels/{id}/", Admin, false),
        ("PUT /api/notification-channels/{id}/", Admin, false),
        ("POST /api/notification-channels/{id}/test/", Admin, false),
        ("GET /api/notification-rules/", Operate, false),
        ("POST /api/notification-rules/", Operate, false),
        ("DELETE /api/notification-rules/{id}/", Operate, false),
        ("GET /api/notification-rules/{id}/", Operate, false),
        ("PATCH /api/notification-rules/{id}/", Operate, false),
        ("PUT /api/notification-rules/{id}/", Operate, false),
        ("GET /api/notifications/", Operate, false),
        ("GET /api/notifications/{id}/", Operate, false),
        ("GET /api/search/", Read, false),
        ("GET /api/stored-backups/", Read, false),
        ("GET /api/stored-backups/{id}/", Read, true),
        ("GET /api/stored-backups/{id}/diff/{other}/", Read, true),
        ("GET /api/stored-backups/{id}/download/", Read, true),
        ("GET /api/tokens/", Read, false),
        ("POST /api/tokens/", Read, false),
        ("DELETE /api/tokens/{id}/", Read, false),
        ("GET /api/users/", Admin, false),
        ("POST /api/users/", Admin, false),
        ("DELETE /api/users/{id}/", Admin, false),
        ("GET /api/users/{id}/", Admin, false),
        ("PATCH /api/users/{id}/", Admin, false),
        ("POST /api/users/{id}/sign-out-everywhere/", Admin, false),
    ]
}

/// Operations open to everyone (no token).
const OPEN: [&str; 2] = ["GET /api/health/", "POST /api/auth/login/"];

struct Caller {
    who: Who,
    user_id: i64,
    api: HttpClient,
}

/// The hash of "matrix password 1", computed once (hashing is slow on
/// purpose).
fn password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| auth::hash_password("matrix password 1").unwrap())
}

async fn user(h: &Harness, name: &str, role: Role, groups: Option<&[i64]>) -> (i64, String) {
    let db = &h.server().db;
    let hash = password_hash();
    let u = db
        .create_user_with(name, hash, role, groups, false)
        .await
        .unwrap();
    let token = auth::issue_token(db, u.id, devicevault_db::TokenKind::Named, Some("m"), None)
        .await
        .unwrap()
        .1;
    (u.id, token)
}

async fn caller(h: &Harness, w: &World, who: Who, suffix: &str) -> Caller {
    let groups = [w.core];
    let (user_id, token) = user(
        h,
        &format!("{}{suffix}", who.tag()),
        who.role(),
        who.restricted().then_some(&groups[..]),
    )
    .await;
    let mut api = HttpClient::new(h.server().addr);
    api.token = Some(token);
    Caller { who, user_id, api }
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// The concrete call of `op` for `c` (objects made as the admin first when
/// the call consumes one), on the core device's objects or — `edge` — on
/// the edge device's.
async fn fixture(
    h: &mut Harness,
    w: &mut World,
    c: &Caller,
    op: &str,
    edge: bool,
) -> (String, Option<Value>) {
    w.n += 1;
    let n = format!("{}{}", c.who.tag(), w.n);
    let (dev, sb, job) = if edge {
        (w.edge_dev, [w.edge_sb, w.edge_sb], w.edge_job.clone())
    } else {
        (w.core_dev, w.sb, w.core_job.clone())
    };
    let (method, template) = op.split_once(' ').unwrap();
    let body = |v: Value| Some(v);
    let repo = h.dir.path().join(format!("m-{n}.git"));
    let path = |t: &str, id: i64| t.replace("{id}", &id.to_string());
    match (method, template) {
        ("POST", "/api/auth/password/") => (
            template.into(),
            body(
                json!({"current_password": "matrix password 1", "new_password": "matrix password 2"}),
            ),
        ),
        ("POST", "/api/backup-locations/") => (
            template.into(),
            body(
                json!({"name": n, "location_type": "git", "config": {"repo_path": repo, "branch": "main"}}),
            ),
        ),
        (_, "/api/backup-locations/{id}/") if method == "DELETE" => {
            let l = h
                .create(
                    "/api/backup-locations/",
                    json!({"name": n, "location_type": "git", "config": {"repo_path": repo, "branch": "main"}}),
                )
                .await;
            (path(template, id(&l)), None)
        }
        ("PATCH", "/api/backup-locations/{id}/") => {
            (path(template, w.loc), body(json!({"name": "git"})))
        }
        ("PUT", "/api/backup-locations/{id}/") => {
            let cur = h.call("GET", &path(template, w.loc), None).await.json();
            (
                path(template, w.loc),
                body(
                    json!({"name": cur["name"], "location_type": cur["location_type"], "config": cur["config"]}),
                ),
            )
        }
        ("PUT", "/api/backup-locations/{id}/retention/") => (
            path(template, w.loc),
            body(json!({"keep_last": null, "keep_days": null})),
        ),
        (_, t) if t.starts_with("/api/backup-locations/{id}") => (path(t, w.loc), None),
        ("POST", "/api/backup-schedules/") | ("PUT", "/api/backup-schedules/{id}/") => {
            let p = if method == "POST" {
                template.to_owned()
            } else {
                let s = h
                    .create(
                        "/api/backup-schedules/",
                        json!({"name": n, "cron": "0 3 * * *", "devices": [w.core_dev]}),
                    )
                    .await;
                path(template, id(&s))
            };
            (
                p,
                body(json!({"name": format!("{n}s"), "cron": "0 2 * * *", "devices": [dev]})),
            )
        }
        (_, "/api/backup-schedules/{id}/") => {
            let s = h
                .create(
                    "/api/backup-schedules/",
                    json!({"name": n, "cron": "0 3 * * *", "device_groups": [w.core]}),
                )
                .await;
            (path(template, id(&s)), body(json!({"enabled": false})))
        }
        ("POST", "/api/collection-groups/") => (
            template.into(),
            body(json!({"name": n, "rabbitmq_queue_id": n})),
        ),
        (_, "/api/collection-groups/{id}/") => {
            let g = h
                .create(
                    "/api/collection-groups/",
                    json!({"name": n, "rabbitmq_queue_id": n}),
                )
                .await;
            (path(template, id(&g)), body(json!({"max_sessions": 3})))
        }
        ("POST", "/api/compliance-rules/") => (template.into(), body(rule_body(&n))),
        (_, "/api/compliance-rules/{id}/") => {
            let r = h.create("/api/compliance-rules/", rule_body(&n)).await;
            let b = if method == "PUT" {
                rule_body(&format!("{n}x"))
            } else {
                json!({"ignore_case": true})
            };
            (path(template, id(&r)), body(b))
        }
        ("POST", "/api/credentials/") => (
            template.into(),
            body(json!({"name": n, "username": "u", "password": "p"})),
        ),
        (_, "/api/credentials/{id}/") => {
            let cr = h
                .create(
                    "/api/credentials/",
                    json!({"name": n, "username": "u", "password": "p"}),
                )
                .await;
            (path(template, id(&cr)), body(json!({"username": "v"})))
        }
        ("POST", "/api/device-groups/" | "/api/device-types/" | "/api/manufacturers/") => {
            (template.into(), body(json!({ "name": n })))
        }
        (
            _,
            "/api/device-groups/{id}/" | "/api/device-types/{id}/" | "/api/manufacturers/{id}/",
        ) => {
            let list = template.trim_end_matches("{id}/");
            let o = h.create(list, json!({ "name": n })).await;
            (
                path(template, id(&o)),
                body(json!({ "name": format!("{n}x") })),
            )
        }
        ("POST", "/api/devices/") => (template.into(), body(device_body(w, &n, w.core))),
        ("POST", "/api/devices/bulk/") => (
            template.into(),
            body(json!({"action": "enable", "devices": [dev]})),
        ),
        ("POST", "/api/devices/import/") => (
            template.into(),
            body(json!({"format": "csv", "content": format!(
                "name,address,driver,device_group\n{n},192.0.2.1,cisco_ios,core\n"
            )})),
        ),
        ("DELETE", "/api/devices/{id}/") => {
            // A fresh device where the call would look (archiving it).
            let group = if edge { w.edge } else { w.core };
            let d = h.create("/api/devices/", device_body(w, &n, group)).await;
            (path(template, id(&d)), None)
        }
        ("PATCH", "/api/devices/{id}/") => (path(template, dev), body(json!({"enabled": true}))),
        ("PUT", "/api/devices/{id}/") => {
            let cur = h.call("GET", &path(template, dev), None).await.json();
            let mut b = cur.as_object().unwrap().clone();
            for k in [
                "id",
                "created_at",
                "archived_at",
                "last_status",
                "last_success_at",
            ] {
                b.remove(k);
            }
            (path(template, dev), body(Value::Object(b)))
        }
        ("POST", "/api/devices/{id}/restore/") => {
            let d = h.create("/api/devices/", device_body(w, &n, w.core)).await;
            let r = h
                .call("DELETE", &path("/api/devices/{id}/", id(&d)), None)
                .await;
            assert_eq!(r.status, 204);
            (path(template, id(&d)), None)
        }
        ("GET", "/api/devices/{id}/diff/") => {
            (format!("{}?from={}", path(template, dev), sb[0]), None)
        }
        (_, t) if t.starts_with("/api/devices/{id}/") => (path(t, dev), None),
        ("GET", "/api/jobs/{task_identifier}/") => {
            (template.replace("{task_identifier}", &job), None)
        }
        ("POST", "/api/notification-channels/") => (template.into(), body(channel_body(&n))),
        ("POST", "/api/notification-channels/{id}/test/") => (path(template, w.channel), None),
        (_, "/api/notification-channels/{id}/") if method == "GET" => {
            (path(template, w.channel), None)
        }
        (_, "/api/notification-channels/{id}/") => {
            let ch = h
                .create("/api/notification-channels/", channel_body(&n))
                .await;
            let b = if method == "PUT" {
                channel_body(&format!("{n}x"))
            } else {
                json!({"name": format!("{n}y")})
            };
            (path(template, id(&ch)), body(b))
        }
        ("POST", "/api/notification-rules/") => (template.into(), body(notif_rule(w, &n, dev))),
        (_, "/api/notification-rules/{id}/") => {
            let r = h
                .create("/api/notification-rules/", notif_rule(w, &n, w.core_dev))
                .await;
            let b = if method == "PUT" {
                notif_rule(w, &format!("{n}x"), dev)
            } else {
                json!({"enabled": false})
            };
            (path(template, id(&r)), body(b))
        }
        ("GET", "/api/notifications/{id}/") => (path(template, w.delivery), None),
        ("GET", "/api/search/") => ("/api/search/?q=hostname".into(), None),
        ("GET", "/api/stored-backups/{id}/diff/{other}/") => (
            template
                .replace("{id}", &sb[0].to_string())
                .replace("{other}", &sb[1].to_string()),
            None,
        ),
        ("GET", t) if t.starts_with("/api/stored-backups/{id}/") => (path(t, sb[0]), None),
        ("POST", "/api/tokens/") => (template.into(), body(json!({"name": n}))),
        ("DELETE", "/api/tokens/{id}/") => {
            let (info, _) = auth::issue_token(
                &h.server().db,
                c.user_id,
                devicevault_db::TokenKind::Named,
                Some(&n),
                None,
            )
            .await
            .unwrap();
            (path(template, info.id), None)
        }
        ("POST", "/api/users/") => (
            template.into(),
            body(
                json!({"username": n, "password": "a long password", "role": "operator",
                        "device_groups": [w.core]}),
            ),
        ),
        (_, t) if t.starts_with("/api/users/{id}/") => {
            let (uid, _) = user(h, &n, Role::Reader, None).await;
            let b = (method == "PATCH").then(|| json!({"role": "operator"}));
            (path(t, uid), b)
        }
        (_, t) => {
            assert!(!t.contains('{'), "no fixture for {op}");
            (t.into(), None)
        }
    }
}

fn device_body(w: &World, name: &str, group: i64) -> Value {
    json!({"name": name, "address": "192.0.2.1", "driver": "cisco_ios",
           "credential": w.cred, "backup_location": w.loc, "device_group": group,
           "enabled": false})
}

fn rule_body(name: &str) -> Value {
    json!({"name": name, "pattern": "hostname", "expectation": "must_contain"})
}

fn channel_body(name: &str) -> Value {
    json!({"name": name, "kind": "webhook", "url": "http://127.0.0.1:9/hook",
           "secret": "a signing secret of 32 characters"})
}

fn notif_rule(w: &World, name: &str, device: i64) -> Value {
    json!({"name": name, "events": ["config_changed"], "channel": w.channel, "devices": [device]})
}

async fn wait_stored(h: &mut Harness, device: i64, n: usize) -> Vec<i64> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let list = h
            .list(&format!("/api/stored-backups/?device={device}"))
            .await;
        if list.len() >= n {
            let mut ids: Vec<i64> = list.iter().map(id).collect();
            ids.sort_unstable();
            return ids;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "device {device} not stored {n} times"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn world(h: &mut Harness) -> World {
    let (ids, core, edge) = h.core_and_edge().await;
    let (core_dev, edge_dev) = (ids[0], ids[1]);
    let loc = h.list("/api/backup-locations/").await;
    let cred = h.list("/api/credentials/").await;
    let core_job = h.backup_now(core_dev).await;
    h.wait_job(&core_job).await;
    // A rule on the core device: its change below makes a delivery.
    let channel = id(&h
        .create("/api/notification-channels/", channel_body("matrix"))
        .await);
    h.create(
        "/api/notification-rules/",
        json!({"name": "matrix", "events": ["config_changed"], "channel": channel,
               "devices": [core_dev]}),
    )
    .await;
    h.sim.devices()[0].change_config();
    let again = h.backup_now(core_dev).await;
    h.wait_job(&again).await;
    let sb = wait_stored(h, core_dev, 2).await;
    let edge_job = h.backup_now(edge_dev).await;
    h.wait_job(&edge_job).await;
    let edge_sb = wait_stored(h, edge_dev, 1).await[0];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let delivery = loop {
        if let Some(d) = h.list("/api/notifications/").await.first() {
            break id(d);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no delivery of the change"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    World {
        core,
        edge,
        core_dev,
        edge_dev,
        loc: id(&loc[0]),
        cred: id(&cred[0]),
        sb: [sb[0], sb[1]],
        edge_sb,
        core_job,
        edge_job,
        channel,
        delivery,
        n: 0,
    }
}

/// The operations of the OpenAPI document, as `METHOD /path`.
async fn documented(h: &mut Harness) -> BTreeSet<String> {
    let doc = h.call("GET", "/api/openapi.json", None).await.json();
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                ops.insert(format!("{} {path}", m.to_uppercase()));
            }
        }
    }
    ops
}

async fn matrix(engine: Engine) {
    let mut h = Harness::start(
        engine,
        SimConfig {
            devices: 3,
            platforms: vec!["cisco_ios".into()],
            ..SimConfig::default()
        },
    )
    .await;
    let mut w = world(&mut h).await;
    let table = table();
    let listed: BTreeSet<String> = table.iter().map(|(op, ..)| (*op).to_owned()).collect();
    let mut expected = documented(&mut h).await;
    for open in OPEN {
        assert!(expected.remove(open), "{open} is no longer documented");
    }
    assert!(
        listed == expected,
        "the matrix lacks {:?}; the document lacks {:?}",
        expected.difference(&listed).collect::<Vec<_>>(),
        listed.difference(&expected).collect::<Vec<_>>()
    );

    let mut failures = Vec::new();
    for (op, need, device_bound) in &table {
        for who in Who::ALL {
            for edge in [false, true] {
                if edge && !device_bound {
                    continue;
                }
                // Each call gets a user of its own: a call may end its
                // token (logout, a password change).
                let mut c = caller(&h, &w, who, &format!("-{}", w.n)).await;
                let (path, body) = fixture(&mut h, &mut w, &c, op, edge).await;
                let (method, _) = op.split_once(' ').unwrap();
                let r = c.api.request(method, &path, body.as_ref()).await.unwrap();
                let hidden = edge && who.restricted();
                // A role refusal comes first: it says nothing of the
                // object, so it does not tell a hidden one from a missing.
                let want: &[u16] = if !who.holds(*need) {
                    &[403]
                } else if hidden {
                    &[404]
                } else {
                    &[200, 201, 202, 204]
                };
                if !want.contains(&r.status) {
                    failures.push(format!(
                        "{op} as {who:?}{}: {} (wanted {want:?}) {}",
                        if edge { " on the edge device" } else { "" },
                        r.status,
                        String::from_utf8_lossy(&r.body)
                            .chars()
                            .take(200)
                            .collect::<String>()
                    ));
                }
            }
        }
    }
    web_matrix(&mut h, &mut w, &mut failures).await;
    assert!(
        failures.is_empty(),
        "{} refusals differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    h.stop().await;
}

/// A web form: its path, the right it needs, its fields.
type WebCase = (&'static str, Need, Vec<(&'static str, String)>);

/// The web UI's forms of the same rights: a new device, a schedule and a
/// user, by each role.
async fn web_matrix(h: &mut Harness, w: &mut World, failures: &mut Vec<String>) {
    use common::browser::Browser;
    for who in Who::ALL {
        caller(h, w, who, "-web").await;
        let name = format!("{}-web", who.tag());
        let mut b = Browser::new(h.server().addr);
        b.login(&name, "matrix password 1").await;
        let csrf = b.get("/").await.csrf();
        let cases: [WebCase; 3] = [
            (
                "/devices/new",
                Need::Operate,
                vec![
                    ("name", format!("{name}-dev")),
                    ("address", "192.0.2.9".into()),
                    ("port", "22".into()),
                    ("driver", "cisco_ios".into()),
                    ("transport", "ssh".into()),
                    ("credential", w.cred.to_string()),
                    ("backup_location", w.loc.to_string()),
                    ("device_group", w.core.to_string()),
                ],
            ),
            (
                "/admin/schedules",
                Need::Operate,
                vec![
                    ("name", format!("{name}-sched")),
                    ("cron", "0 4 * * *".into()),
                    ("timezone", "UTC".into()),
                    ("device_groups", "core".into()),
                ],
            ),
            (
                "/admin/users",
                Need::Admin,
                vec![
                    ("username", format!("{name}-new")),
                    ("password", "a long password".into()),
                    ("password_confirm", "a long password".into()),
                    ("role", "reader".into()),
                ],
            ),
        ];
        for (path, need, fields) in cases {
            let mut fields: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            fields.push(("csrf", &csrf));
            let r = b.post(path, &fields).await;
            let ok = (200..400).contains(&r.status) && !r.body.contains("has-error");
            let allowed = who.holds(need);
            if (allowed && !ok) || (!allowed && r.status != 403) {
                failures.push(format!(
                    "web POST {path} as {who:?}: {} (allowed: {allowed})",
                    r.status
                ));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_role_as_the_rights_say_sqlite() {
    matrix(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_role_as_the_rights_say_postgres() {
    matrix(Engine::Postgres).await;
}
