//! The simulator's HTTPS APIs as a real client sees them: Debian's curl,
//! not our collector, so the simulator follows the platforms' APIs rather
//! than our code.

use std::process::Command;

use devicevault_sim::{Faults, SimConfig, Simulator};

async fn sim(platform: &str) -> Simulator {
    Simulator::start(SimConfig {
        devices: 1,
        platforms: vec![platform.to_owned()],
        password: "pa55word".into(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// Runs curl with `args` off the runtime; the body, then the status on
/// the last line (`-w`).
async fn curl(args: Vec<String>) -> (String, u16) {
    let shown = args.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["-sS", "--max-time", "20", "-w", "\n%{http_code}"])
            .args(&args)
            .output()
            .expect("curl runs")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "curl {shown:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (body.to_owned(), code.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_gets_a_panos_key_then_the_export_and_a_403_for_a_wrong_password() {
    let s = sim("paloalto_panos_api").await;
    let d = &s.devices()[0];
    let url = format!("https://127.0.0.1:{}/api/", d.port());
    // keygen as pan-python sends it (a POST form) and as oxidized does (GET).
    let (body, code) = curl(vec![
        "-k".into(),
        "--data-urlencode".into(),
        "type=keygen".into(),
        "--data-urlencode".into(),
        "user=admin".into(),
        "--data-urlencode".into(),
        "password=pa55word".into(),
        url.clone(),
    ])
    .await;
    assert_eq!(code, 200, "{body}");
    assert!(
        body.starts_with("<response status = 'success'><result><key>"),
        "{body}"
    );
    let key = body
        .split("<key>")
        .nth(1)
        .and_then(|k| k.split("</key>").next())
        .unwrap()
        .to_owned();
    let (get_body, _) = curl(vec![
        "-k".into(),
        format!("{url}?type=keygen&user=admin&password=pa55word"),
    ])
    .await;
    assert_eq!(get_body, body);
    let (config, code) = curl(vec![
        "-k".into(),
        "-G".into(),
        "--data-urlencode".into(),
        format!("key={key}"),
        "-d".into(),
        "type=export&category=configuration".into(),
        url.clone(),
    ])
    .await;
    assert_eq!(code, 200);
    assert_eq!(config, d.running_config());
    assert!(config.contains("<hostname>r0001</hostname>"), "{config}");
    let (denied, code) = curl(vec![
        "-k".into(),
        "-d".into(),
        "type=keygen&user=admin&password=wrong".into(),
        url.clone(),
    ])
    .await;
    assert_eq!(code, 403);
    assert!(denied.contains("status = 'error' code = '403'"), "{denied}");
    let (_, code) = curl(vec![
        "-k".into(),
        format!("{url}?type=export&category=configuration&key=LUFRPT1nope"),
    ])
    .await;
    assert_eq!(code, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_backs_fortios_up_with_a_bearer_token_and_sees_401_and_500() {
    let s = sim("fortinet_fortios_api").await;
    let d = &s.devices()[0];
    let url = format!(
        "https://127.0.0.1:{}/api/v2/monitor/system/config/backup?scope=global",
        d.port()
    );
    let (body, code) = curl(vec![
        "-k".into(),
        "-H".into(),
        "Authorization: Bearer pa55word".into(),
        url.clone(),
    ])
    .await;
    assert_eq!(code, 200);
    assert!(body.starts_with("#config-version=FGT60F-"), "{body}");
    assert!(body.ends_with("\nend\n"), "{body}");
    let (_, code) = curl(vec![
        "-k".into(),
        "-H".into(),
        "Authorization: Bearer nope".into(),
        url.clone(),
    ])
    .await;
    assert_eq!(code, 401);
    d.set_faults(Faults {
        http_status: Some(500),
        ..Faults::default()
    });
    let (_, code) = curl(vec![
        "-k".into(),
        "-H".into(),
        "Authorization: Bearer pa55word".into(),
        url,
    ])
    .await;
    assert_eq!(code, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_trusts_the_certificate_until_it_is_rotated() {
    let s = sim("fortinet_fortios_api").await;
    let d = &s.devices()[0];
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("device.pem");
    std::fs::write(&pem, d.certificate_pem().unwrap()).unwrap();
    let url = format!(
        "https://localhost:{}/api/v2/monitor/system/config/backup?scope=global&access_token=pa55word",
        d.port()
    );
    let (_, code) = curl(vec![
        "--cacert".into(),
        pem.display().to_string(),
        url.clone(),
    ])
    .await;
    assert_eq!(code, 200);
    d.rotate_certificate();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["-sS", "--max-time", "20", "--cacert"])
            .arg(&pem)
            .arg(url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!out.status.success(), "a new certificate is not trusted");
    assert_ne!(
        d.certificate_pem().unwrap(),
        std::fs::read_to_string(dir.path().join("device.pem")).unwrap()
    );
}
