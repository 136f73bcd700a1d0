//! Against a real peer nobody on this project wrote: fakenos (PyPI), a
//! Python simulator of network operating systems over paramiko SSH.
//!
//! Needs `python3 -m venv .venv-peers && .venv-peers/bin/pip install fakenos`
//! at the workspace root, or `DEVICEVAULT_FAKENOS` naming the `fakenos` binary.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use devicevault_collect::{CollectOptions, DeviceTarget, DriverSet, KnownHosts, collect};

struct Fakenos(Child);

impl Drop for Fakenos {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fakenos_binary() -> PathBuf {
    let path = std::env::var_os("DEVICEVAULT_FAKENOS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-peers/bin/fakenos"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "fakenos not found at {}: run `python3 -m venv .venv-peers && .venv-peers/bin/pip install fakenos` \
         at the workspace root, or set DEVICEVAULT_FAKENOS",
        path.display()
    );
    path
}

/// `n` distinct ports free now, below Linux's ephemeral range (32768 and
/// up): a port the kernel handed out for a bind to port 0 and released can
/// be handed to another test's listener before fakenos binds it, and
/// fakenos then stops ("Port ... already in use"). Where the search starts
/// depends on the process, so two test processes rarely look at the same
/// ports.
fn free_ports(n: usize) -> Vec<u16> {
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    let start = std::process::id() * 97 % SPAN;
    let ports: Vec<u16> = (0..SPAN)
        .map(|i| (LOW + (start + i) % SPAN) as u16)
        .filter(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .take(n)
        .collect();
    assert_eq!(ports.len(), n, "no {n} free ports below 32000");
    ports
}

/// One host per platform fakenos emulates that a built-in driver covers:
/// (host name = prompt base, our driver, fakenos platform or NOS file of
/// ours in tests/fakenos/, lines the backup must hold, lines it must not).
struct Case {
    host: &'static str,
    driver: &'static str,
    /// `platform:` fakenos's own NOS; `nos:` a file of tests/fakenos/.
    nos: Nos,
    present: &'static [&'static str],
    absent: &'static [&'static str],
}

enum Nos {
    Platform(&'static str),
    File(&'static str),
}

const CASES: &[Case] = &[
    // fakenos's own IOS and EOS NOS print real configurations.
    Case {
        host: "R1",
        driver: "cisco_ios",
        nos: Nos::Platform("cisco_ios"),
        present: &["hostname R1", "aaa new-model", "vrf definition MGMT", "end"],
        absent: &["R1#", "show running-config"],
    },
    Case {
        host: "SW1",
        driver: "arista_eos",
        nos: Nos::Platform("arista_eos"),
        present: &[
            "service routing protocols model ribd",
            "logging host 1.1.1.1 514",
            "end",
        ],
        absent: &["SW1#", "! Command: show running-config"],
    },
    Case {
        host: "N9K1",
        driver: "cisco_nxos",
        nos: Nos::File("cisco_nxos.yaml"),
        present: &[
            "hostname N9K1",
            "interface Ethernet1/1",
            "boot nxos bootflash:/nxos.9.3.8.bin",
        ],
        absent: &[
            "N9K1#",
            "!Time: Sat Nov 28 10:00:01 2026",
            "!Command: show running-config",
        ],
    },
    Case {
        host: "XR1",
        driver: "cisco_iosxr",
        nos: Nos::File("cisco_xr.yaml"),
        present: &[
            "hostname XR1",
            "!! IOS XR Configuration 7.3.2",
            " net 49.0001.0102.5500.0001.00",
            "end",
        ],
        absent: &[
            "Sat Nov 28 10:00:01.123 UTC",
            "Building configuration...",
            "CPU0:XR1#",
        ],
    },
    Case {
        host: "ASA1",
        driver: "cisco_asa",
        nos: Nos::File("cisco_asa.yaml"),
        present: &["hostname ASA1", " ikev1 pre-shared-key fakenosPSK", ": end"],
        absent: &["ASA1#", "Cryptochecksum:4a1b2c3d4e5f60718293a4b5c6d7e8f9"],
    },
    Case {
        host: "FGT1",
        driver: "fortinet_fortios",
        nos: Nos::File("fortinet.yaml"),
        present: &[
            "    set hostname \"FGT1\"",
            "config vpn ipsec phase1-interface",
            "end",
        ],
        absent: &["FGT1 # ", "#conf_file_ver=3817214093021"],
    },
    Case {
        host: "SW2",
        driver: "hp_procurve",
        nos: Nos::File("hp_procurve.yaml"),
        present: &["hostname \"SW2\"", "vlan 10", "   name \"servers\""],
        absent: &["SW2# ", "Running configuration:"],
    },
    Case {
        host: "HW1",
        driver: "huawei_vrp",
        nos: Nos::File("huawei_vrp.yaml"),
        present: &["sysname HW1", " port trunk allow-pass vlan 10 20", "return"],
        absent: &[
            "<HW1>",
            "!Last configuration was updated at 2026-11-26 14:02:11+00:00",
        ],
    },
    Case {
        host: "J1",
        driver: "juniper_junos",
        nos: Nos::File("juniper_junos.yaml"),
        present: &[
            "    host-name J1;",
            "        description \"uplink { not a block\";",
        ],
        absent: &[
            "admin@J1> ",
            "## Last commit: 2026-11-26 14:02:11 UTC by admin",
        ],
    },
    Case {
        host: "lnx1",
        driver: "linux",
        nos: Nos::File("linux.yaml"),
        present: &["iface ens18 inet static", "    gateway 192.0.2.1"],
        absent: &["admin@lnx1:~$"],
    },
    Case {
        host: "MT1",
        driver: "mikrotik_routeros",
        nos: Nos::File("mikrotik_routeros.yaml"),
        present: &["/system identity", "set name=MT1", "# model = RB5009UG+S+"],
        absent: &["[admin@MT1] >", "# 2026-11-28 10:00:01 by RouterOS 7.12.1"],
    },
    Case {
        host: "PA1",
        driver: "paloalto_panos",
        nos: Nos::File("paloalto_panos.yaml"),
        present: &[
            "set deviceconfig system hostname PA1",
            "set zone trust network layer3 ethernet1/2",
        ],
        absent: &["admin@PA1>"],
    },
    Case {
        host: "vyos1",
        driver: "vyos",
        nos: Nos::File("vyatta_vyos.yaml"),
        present: &[
            "set system host-name 'vyos1'",
            "set interfaces ethernet eth1 address '10.1.1.1/24'",
        ],
        absent: &["vyos@vyos1:~$"],
    },
    Case {
        host: "H3C1",
        driver: "hp_comware",
        nos: Nos::File("hp_comware.yaml"),
        present: &[" sysname H3C1", " port trunk permit vlan 1 10", "return"],
        absent: &["<H3C1>", "display current-configuration"],
    },
    Case {
        host: "ICX1",
        driver: "ruckus_fastiron",
        nos: Nos::File("ruckus_fastiron.yaml"),
        present: &["hostname ICX1", " untagged ethe 1/1/1 to 1/1/24", "end"],
        absent: &["SSH@ICX1#", "Current configuration:"],
    },
    Case {
        host: "XOS1",
        driver: "extreme_exos",
        nos: Nos::File("extreme_exos.yaml"),
        present: &[
            "configure snmp sysName \"XOS1\"",
            "configure vlan servers ipaddress 10.10.10.1 255.255.255.0",
        ],
        absent: &["XOS1.1 # ", "Configuration generated"],
    },
    Case {
        host: "VSP1",
        driver: "extreme_voss",
        nos: Nos::File("extreme_voss.yaml"),
        present: &[
            "sys name \"VSP1\"",
            "ip address 10.10.10.1 255.255.255.0 1",
            "# box type             : VSP-8404C",
            "end",
        ],
        absent: &[
            "VSP1:1#",
            "Preparing to Display",
            "Command Execution Time",
            "*****",
            "# Thu Nov 26 14:02:11 2026 UTC",
        ],
    },
    Case {
        host: "N2048",
        driver: "dell_os6",
        nos: Nos::File("dell_os6.yaml"),
        present: &[
            "!Current Configuration:",
            "hostname \"N2048\"",
            "description \"uplink\"",
            "exit",
        ],
        absent: &["N2048#", "Invalid input"],
    },
    Case {
        host: "SR1",
        driver: "nokia_sros",
        nos: Nos::File("nokia_sros.yaml"),
        present: &[
            "        name \"SR1\"",
            "        description \"uplink\"",
            "exit all",
        ],
        absent: &["A:SR1#", "# Generated THU", "# Finished THU"],
    },
    Case {
        host: "OS6860",
        driver: "alcatel_aos",
        nos: Nos::File("alcatel_aos.yaml"),
        present: &[
            "system name \"OS6860\"",
            "interfaces 1/1/1 alias \"uplink\"",
            "! SNMP:",
        ],
        absent: &["-> ", "Please wait..."],
    },
    Case {
        host: "F10",
        driver: "dell_os9",
        nos: Nos::File("dell_force10.yaml"),
        present: &["hostname F10", "interface TenGigabitEthernet 1/1", "end"],
        absent: &[
            "F10#",
            "! Last configuration change at",
            "Current Configuration",
        ],
    },
    Case {
        host: "AW1",
        driver: "alliedtelesis_awplus",
        nos: Nos::File("allied_telesis_awplus.yaml"),
        present: &[
            "hostname AW1",
            " switchport trunk allowed vlan add 10",
            "end",
        ],
        absent: &["AW1#"],
    },
    Case {
        host: "CBS1",
        driver: "cisco_smb",
        nos: Nos::File("cisco_s300.yaml"),
        present: &[
            "config-file-header",
            "hostname CBS1",
            " switchport mode trunk",
        ],
        absent: &["CBS1#"],
    },
    Case {
        host: "ER1",
        driver: "ubiquiti_edgeos",
        nos: Nos::File("ubiquiti_edgerouter.yaml"),
        present: &[
            "set system host-name ER1",
            "set interfaces ethernet eth0 description 'uplink to core'",
        ],
        absent: &["ubnt@ER1:~$"],
    },
    Case {
        host: "A7210",
        driver: "aruba_os",
        nos: Nos::File("aruba_os.yaml"),
        present: &[
            "hostname \"A7210\"",
            "key \"fakenosRadiusKey\"",
            "description \"management\"",
            "end",
        ],
        absent: &[
            "(A7210) #",
            "Building Configuration...",
            "controller config 245",
        ],
    },
    Case {
        host: "GW1",
        driver: "checkpoint_gaia",
        nos: Nos::File("checkpoint_gaia.yaml"),
        present: &[
            "# Configuration of GW1",
            "set hostname GW1",
            "set user admin password-hash $6$fakenosAdminHash",
        ],
        absent: &["GW1> ", "# Exported by admin on"],
    },
    Case {
        host: "FTD1",
        driver: "cisco_ftd",
        nos: Nos::File("cisco_ftd.yaml"),
        present: &[
            "NGFW Version 7.2.5",
            "hostname FTD1",
            " ikev2 remote-authentication pre-shared-key fakenosPSK",
            ": end",
        ],
        absent: &["Cryptochecksum:", "show running-config"],
    },
    Case {
        host: "SSG1",
        driver: "juniper_screenos",
        nos: Nos::File("juniper_screenos.yaml"),
        present: &[
            "set hostname SSG1",
            "set address \"Trust\" \"net-0\" 10.1.1.0 255.255.255.0 \"office LAN\"",
            "set admin password \"nKVUM2fakenosAdminHash\"",
        ],
        absent: &["Total Config size", "SSG1-> "],
    },
    Case {
        host: "MLX1",
        driver: "brocade_ironware",
        nos: Nos::File("brocade_netiron.yaml"),
        present: &[
            "hostname MLX1",
            " port-name uplink to core",
            " router-interface ve 10",
            "end",
        ],
        absent: &["Current configuration:", "SSH@MLX1#"],
    },
    Case {
        host: "ES1",
        driver: "ubiquiti_edgeswitch",
        nos: Nos::File("ubiquiti_edgeswitch.yaml"),
        present: &[
            "!Current Configuration:",
            "hostname \"ES1\"",
            "description 'uplink to core'",
            "exit",
        ],
        absent: &[
            "(ES1) #",
            "!System Up Time",
            "!Current SNTP Synchronized Time:",
        ],
    },
    Case {
        host: "IAP1",
        driver: "aruba_instant",
        nos: Nos::File("aruba_instant.yaml"),
        present: &[
            "version 8.10.0.0-8.10.0",
            "virtual-controller-key fakenosVcKey",
            " essid uplink to core",
            " key fakenosTacacsKey",
        ],
        absent: &["IAP1# "],
    },
    Case {
        host: "XGS1",
        driver: "zyxel_os",
        nos: Nos::File("zyxel_os.yaml"),
        present: &[
            "hostname XGS1",
            "logins username noc password fakenosNocHash cipher privilege 14",
            "  name uplink to core",
            "exit",
        ],
        absent: &[
            "XGS1#",
            "\x1b",
            "Building configuration...",
            "Current configuration:",
        ],
    },
    Case {
        host: "CN1",
        driver: "ciena_saos",
        nos: Nos::File("ciena_saos.yaml"),
        present: &[
            "! 3916 Configuration File",
            "system set host-name CN1",
            "port set port 1 max-frame-size 9216 description \"uplink to core\"",
            "user create user netmgr access-level super secret $6$fakenosNetmgrHash",
        ],
        absent: &["CN1>", "! Created: ", "! On terminal:"],
    },
    Case {
        host: "DGS1",
        driver: "dlink_ds",
        nos: Nos::File("dlink_ds.yaml"),
        present: &[
            "config snmp system_name DGS1",
            "config ports 1:1 description \"uplink to core\"",
            "#             End of configuration file for DGS-3120-24TC",
        ],
        absent: &["DGS1:admin#", "Command: show config"],
    },
    Case {
        host: "ECS1",
        driver: "edgecore",
        nos: Nos::File("edgecore.yaml"),
        present: &["hostname ECS1", " description uplink to core", "end"],
        absent: &["ECS1#", "Building running configuration"],
    },
    Case {
        host: "SSR1",
        driver: "ericsson_ipos",
        nos: Nos::File("ericsson_ipos.yaml"),
        present: &[
            "system hostname SSR1",
            "  description uplink to core",
            "end",
        ],
        absent: &[
            "[local]SSR1#",
            "Building configuration...",
            "Configuration last changed by",
        ],
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_backs_up_every_platform_fakenos_emulates_with_its_builtin_driver() {
    let bin = fakenos_binary();
    let nos_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fakenos");
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yaml");
    let ports = free_ports(CASES.len());
    let mut inv = String::from(
        "default:\n  username: admin\n  password: admin\n  server: {plugin: ParamikoSshServer, configuration: {address: 127.0.0.1, timeout: 1}}\nhosts:\n",
    );
    for (c, port) in CASES.iter().zip(&ports) {
        match c.nos {
            Nos::Platform(p) => {
                inv.push_str(&format!("  {}: {{port: {port}, platform: {p}}}\n", c.host))
            }
            Nos::File(f) => inv.push_str(&format!(
                "  {}: {{port: {port}, nos: {{plugin: \"{}\"}}}}\n",
                c.host,
                nos_dir.join(f).display()
            )),
        }
    }
    std::fs::write(&inventory, inv).unwrap();
    // fakenos's log, shown when a host never listens.
    let log_path = dir.path().join("fakenos.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let _peer = Fakenos(
        Command::new(&bin)
            .arg("-i")
            .arg(&inventory)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("fakenos starts"),
    );
    // fakenos needs a few seconds to listen, more with every host it starts
    // on a loaded machine; wait for every port, bounded.
    for port in &ports {
        let mut up = false;
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(("127.0.0.1", *port))
                .await
                .is_ok()
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !up {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect::<Vec<_>>();
            panic!(
                "fakenos did not listen on {port} within 60 s; its log ends with:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
    // fakenos has no exec channel (PEERS.md): the Linux driver talks to its
    // shell instead, prompt, pager command and all.
    let user = tempfile::tempdir().unwrap();
    let linux = include_str!("../drivers/linux.toml").replace("exec = true", "exec = false");
    std::fs::write(user.path().join("linux.toml"), linux).unwrap();
    let drivers = DriverSet::with_user_dir(user.path()).unwrap();
    let opts = CollectOptions::new(Arc::new(KnownHosts::in_memory()));
    let mut failures = Vec::new();
    for (c, port) in CASES.iter().zip(&ports) {
        let mut t = DeviceTarget::password("127.0.0.1", *port, "admin", "admin", c.driver);
        t.enable_secret = Some("admin".into());
        let text = match collect(&t, &drivers, &opts).await {
            Ok(got) => String::from_utf8(got.config).unwrap(),
            Err(e) => {
                failures.push(format!("{} ({}): {e}", c.host, c.driver));
                continue;
            }
        };
        for line in c.present {
            if !text.lines().any(|l| l == *line) {
                failures.push(format!(
                    "{} ({}): `{line}` missing from:\n{text}",
                    c.host, c.driver
                ));
            }
        }
        for bad in c.absent {
            if text.contains(bad) {
                failures.push(format!(
                    "{} ({}): `{bad}` kept in:\n{text}",
                    c.host, c.driver
                ));
            }
        }
        // Masking works on the real formats too.
        t.remove_secrets = true;
        if c.driver != "linux" {
            match collect(&t, &drivers, &opts).await {
                Ok(got) => {
                    let masked = String::from_utf8(got.config).unwrap();
                    if !masked.contains("<removed>") {
                        failures.push(format!(
                            "{} ({}): nothing masked:\n{masked}",
                            c.host, c.driver
                        ));
                    }
                }
                Err(e) => failures.push(format!("{} ({}) masked: {e}", c.host, c.driver)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
