//! `devicevault sim`, `collect` and `drivers`: the operator contract.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Sim {
    child: Child,
    port: u16,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_sim(platform: &str) -> Sim {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args(["sim", "--devices", "1", "--base-port", &port.to_string()])
        .args([
            "--platform",
            platform,
            "--username",
            "netops",
            "--password",
            "s3cret",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.contains(&format!("1 devices listening on 127.0.0.1:{port}")),
        "{line:?}"
    );
    Sim { child, port }
}

fn collect(
    sim: &Sim,
    driver: &str,
    password: &str,
    known_hosts: &std::path::Path,
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args([
            "collect",
            "--host",
            "127.0.0.1",
            "--port",
            &sim.port.to_string(),
        ])
        .args(["--driver", driver, "--username", "netops"])
        .args([
            "--password-env",
            "DV_TEST_PW",
            "--enable-env",
            "DV_TEST_EN",
            "--no-retry",
        ])
        .arg("--known-hosts")
        .arg(known_hosts)
        .env("DV_TEST_PW", password)
        .env("DV_TEST_EN", "enable")
        .output()
        .unwrap()
}

#[test]
fn collect_prints_the_configuration_of_a_simulated_device() {
    let sim = start_sim("cisco_ios");
    let dir = tempfile::tempdir().unwrap();
    let out = collect(&sim, "cisco_ios", "s3cret", &dir.path().join("known_hosts"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let config = String::from_utf8(out.stdout).unwrap();
    assert!(
        config.lines().any(|l| l.starts_with("hostname ")),
        "{config}"
    );
    assert!(
        !config.contains("Current configuration"),
        "volatile line kept"
    );
    // The host key was pinned on first use.
    let pins = std::fs::read_to_string(dir.path().join("known_hosts")).unwrap();
    assert!(pins.contains(&sim.port.to_string()), "{pins}");
    assert!(!stderr.contains("s3cret"));
}

#[test]
fn a_wrong_password_exits_non_zero_naming_the_device() {
    let sim = start_sim("arista_eos");
    let dir = tempfile::tempdir().unwrap();
    let out = collect(&sim, "arista_eos", "wrong", &dir.path().join("known_hosts"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!("authentication failed for netops@127.0.0.1:{}", sim.port);
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains("wrong"), "the password leaked: {stderr}");
    assert!(out.stdout.is_empty());
}

/// `devicevault collect` of a FortiOS REST API device: the token from
/// --api-key-env (the simulator's is its password), no password needed; a
/// password alone names the missing API key.
#[test]
fn collect_takes_an_api_key_from_the_environment_for_an_api_driver() {
    let sim = start_sim("fortinet_fortios_api");
    let dir = tempfile::tempdir().unwrap();
    let run = |secret_flag: &str| {
        Command::new(env!("CARGO_BIN_EXE_devicevault"))
            .args(["collect", "--host", "127.0.0.1", "--port"])
            .arg(sim.port.to_string())
            .args(["--driver", "fortinet_fortios_api", "--username", "netops"])
            .args([secret_flag, "DV_TEST_SECRET", "--no-retry"])
            .arg("--known-hosts")
            .arg(dir.path().join("known_hosts"))
            .env("DV_TEST_SECRET", "s3cret")
            .output()
            .unwrap()
    };
    let out = run("--api-key-env");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let config = String::from_utf8(out.stdout).unwrap();
    assert!(config.trim_end().ends_with("end"), "{config}");
    let out = run("--password-env");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the credential has no API key"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

#[test]
fn an_unknown_driver_is_refused_before_connecting() {
    let out = Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args([
            "collect",
            "--host",
            "127.0.0.1",
            "--port",
            "1",
            "--driver",
            "nokia_srl",
        ])
        .args(["--username", "a", "--password-env", "DV_TEST_PW"])
        .env("DV_TEST_PW", "x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nokia_srl"), "{stderr}");
}

#[test]
fn drivers_lists_every_built_in_platform_with_its_inputs_masking_and_source_and_user_ones() {
    let dir = tempfile::tempdir().unwrap();
    let ios = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../devicevault-collect/drivers/cisco_ios.toml"
    ))
    .unwrap();
    // A user driver without secret rules and without a source.
    let plain: String = ios
        .replace("name = \"cisco_ios\"", "name = \"acme_os\"")
        .split("\n[[secrets]]")
        .next()
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("source = "))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + "[complete]\nends_with = '^end$'\n";
    std::fs::write(dir.path().join("acme_os.toml"), plain).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args(["drivers", "--drivers-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = |name: &str| -> (String, String) {
        let mut lines = stdout.lines();
        let line = lines
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from {stdout}"));
        let source = lines.next().unwrap().trim().to_owned();
        (line.to_owned(), source)
    };
    for name in [
        "cisco_ios",
        "cisco_nxos",
        "cisco_iosxr",
        "cisco_asa",
        "arista_eos",
        "juniper_junos",
        "mikrotik_routeros",
        "fortinet_fortios",
        "paloalto_panos",
        "huawei_vrp",
        "hp_procurve",
        "dell_os10",
        "vyos",
        "aruba_aoscx",
        "hp_comware",
        "ruckus_fastiron",
        "extreme_exos",
        "dell_os9",
        "alliedtelesis_awplus",
        "cisco_smb",
        "ubiquiti_edgeos",
    ] {
        let (line, source) = row(name);
        assert!(line.ends_with("built-in"), "{line}");
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[1], "ssh,telnet", "{line}");
        assert!(cols[2].starts_with("masks:"), "{line}");
        assert!(
            source.starts_with("source: ") && source.len() > 30,
            "{name}: {source}"
        );
    }
    // The Unix host runs its commands on exec channels over SSH.
    let (linux, _) = row("linux");
    assert_eq!(linux.split_whitespace().nth(1), Some("ssh-exec,telnet"));
    // The file inputs read over the SSH login, the API drivers the
    // device's HTTPS API.
    for (name, input) in [
        ("pfsense", "sftp"),
        ("opnsense", "sftp"),
        ("apc_nmc", "scp"),
        ("paloalto_panos_api", "https"),
        ("fortinet_fortios_api", "https"),
    ] {
        let (line, source) = row(name);
        assert_eq!(line.split_whitespace().nth(1), Some(input), "{line}");
        assert!(
            line.split_whitespace()
                .nth(2)
                .unwrap()
                .starts_with("masks:"),
            "{line}"
        );
        if input == "https" {
            assert!(source.contains("API"), "{name}: {source}");
        }
    }
    let (ios_line, ios_source) = row("cisco_ios");
    assert!(ios_line.contains("masks:5"), "{ios_line}");
    assert!(ios_source.contains("oxidized"), "{ios_source}");
    let (user, source) = row("acme_os");
    assert!(user.contains("user: "), "{user}");
    assert_eq!(user.split_whitespace().nth(2), Some("none"), "{user}");
    assert_eq!(source, "source: (not given)");
}

fn drivers_check(dir: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args(["drivers", "check"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn drivers_check_names_each_broken_file_and_line_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let good = "name = \"good_os\"\ndescription = \"x\"\nprompt = '[>#] ?$'\ncommands = [\"show running-config\"]\n[complete]\nends_with = '^end$'\n";
    std::fs::write(dir.path().join("good_os.toml"), good).unwrap();
    // A regex that does not compile, on line 6 of the file.
    let bad_regex = "name = \"bad_regex\"\ndescription = \"x\"\nprompt = '[>#] ?$'\ncommands = [\"show running-config\"]\nremove_lines = [\n    '^(unclosed',\n]\n[complete]\nends_with = '^end$'\n";
    std::fs::write(dir.path().join("bad_regex.toml"), bad_regex).unwrap();
    // A misspelt key on line 4.
    let typo = "name = \"typo\"\ndescription = \"x\"\nprompt = '[>#] ?$'\ncomands = [\"show running-config\"]\n[complete]\nends_with = '^end$'\n";
    std::fs::write(dir.path().join("typo.toml"), typo).unwrap();
    // Not TOML at all on line 3.
    std::fs::write(
        dir.path().join("syntax.toml"),
        "name = \"syntax\"\ndescription = \"x\"\nprompt = '[>#]\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = drivers_check(dir.path());
    assert!(!ok, "{stdout}");
    let at = |file: &str, line: usize| format!("{}:{line}: ", dir.path().join(file).display());
    let find = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in:\n{stdout}"))
            .to_owned()
    };
    assert!(find(&at("bad_regex.toml", 6)).contains("`remove_lines`: invalid regex"));
    assert!(find(&at("typo.toml", 4)).contains("comands"));
    find(&at("syntax.toml", 3));
    assert!(stdout.contains(&format!(
        "{}: ok",
        dir.path().join("good_os.toml").display()
    )));
    assert!(
        stderr.contains("3 problem(s) in 3 of 4 driver file(s)"),
        "{stderr}"
    );

    // Fixed, the directory passes and serves as a driver directory.
    for f in ["bad_regex.toml", "typo.toml", "syntax.toml"] {
        std::fs::remove_file(dir.path().join(f)).unwrap();
    }
    let (ok, stdout, stderr) = drivers_check(dir.path());
    assert!(ok, "{stdout}{stderr}");
}

#[test]
fn drivers_check_passes_every_built_in_driver_file() {
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../devicevault-collect/drivers"
    ));
    let (ok, stdout, stderr) = drivers_check(dir);
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.ends_with(": ok")).count(),
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
            })
            .count(),
        "{stdout}"
    );
}

/// A simulated device serving SSH and Telnet, started through the CLI.
fn start_sim_with_telnet(platform: &str) -> (Sim, u16) {
    let (port, telnet) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args(["sim", "--devices", "1", "--base-port", &port.to_string()])
        .args(["--telnet-base-port", &telnet.to_string()])
        .args(["--platform", platform, "--username", "netops"])
        .args(["--password", "s3cret"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "{line:?}");
    (Sim { child, port }, telnet)
}

fn collect_telnet(flag: &[&str], port: u16, password: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args([
            "collect",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args(flag)
        .args(["--driver", "cisco_ios", "--username", "netops"])
        .args(["--password-env", "DV_TEST_PW", "--enable-env", "DV_TEST_EN"])
        .arg("--no-retry")
        .env("DV_TEST_PW", password)
        .env("DV_TEST_EN", "enable")
        .output()
        .unwrap()
}

#[test]
fn collect_over_telnet_with_either_flag_and_a_wrong_password_fails_as_authentication() {
    let (_sim, telnet) = start_sim_with_telnet("cisco_ios");
    for flag in [&["--telnet"][..], &["--transport", "telnet"][..]] {
        let out = collect_telnet(flag, telnet, "s3cret");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{flag:?}: {stderr}");
        let config = String::from_utf8(out.stdout).unwrap();
        assert!(config.contains("hostname r0001\n"), "{config}");
    }
    let out = collect_telnet(&["--telnet"], telnet, "wr0ng");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "authentication failed for netops@127.0.0.1:{telnet}"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("wr0ng"), "the password leaked: {stderr}");
}

#[test]
fn an_unknown_transport_is_rejected_by_name() {
    let out = collect_telnet(&["--transport", "rlogin"], 1, "x");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rlogin"), "{stderr}");
}

/// The README's worked example, as a newcomer follows it: the driver file
/// copied from the README's "Write a driver for your platform" section,
/// checked with `drivers check`, listed, then used to back up a simulated
/// `vyos` device with `collect --drivers-dir`.
#[test]
fn the_readme_worked_example_writes_checks_and_uses_a_driver() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = &readme[readme
        .find("### Write a driver for your platform")
        .expect("the README's worked example")..];
    let start = section.find("```toml\n").expect("its driver file") + "```toml\n".len();
    let end = start + section[start..].find("```").unwrap();
    // The block is indented under its list item.
    let toml: String = section[start..end]
        .lines()
        .map(|l| l.strip_prefix("   ").unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(toml.contains("name = \"my_router\""), "{toml}");
    let dir = tempfile::tempdir().unwrap();
    let drivers = dir.path().join("drivers");
    std::fs::create_dir(&drivers).unwrap();
    std::fs::write(drivers.join("my_router.toml"), &toml).unwrap();

    let (ok, stdout, stderr) = drivers_check(&drivers);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("my_router.toml: ok"), "{stdout}");
    let listed = Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args(["drivers", "--drivers-dir"])
        .arg(&drivers)
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.lines().any(|l| l.starts_with("my_router")),
        "{listed}"
    );

    let sim = start_sim("vyos");
    let out = Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args(["collect", "--host", "127.0.0.1", "--port"])
        .arg(sim.port.to_string())
        .args(["--driver", "my_router", "--username", "netops"])
        .args(["--password-env", "DEVICE_PW", "--no-retry", "--drivers-dir"])
        .arg(&drivers)
        .arg("--known-hosts")
        .arg(dir.path().join("known_hosts"))
        .env("DEVICE_PW", "s3cret")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let config = String::from_utf8(out.stdout).unwrap();
    assert!(
        config.lines().count() > 10 && config.lines().all(|l| l.starts_with("set ")),
        "{config}"
    );
}
