//! Facts about real devices that clients rely on, checked on the simulator
//! byte for byte with a plain SSH client (russh) or a raw TCP socket: each
//! test states the fact and where it comes from.

use std::sync::Arc;
use std::time::Duration;

use devicevault_sim::{Faults, SimConfig, SimDevice, Simulator};
use russh::client::{self, AuthResult};
use russh::keys::PublicKeyOrCertificate;
use russh::{ChannelMsg, MethodKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct AnyKey;

impl client::Handler for AnyKey {
    type Error = russh::Error;

    async fn check_server_key(&mut self, _: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

async fn sim(platform: &str) -> Simulator {
    Simulator::start(SimConfig {
        devices: 1,
        platforms: vec![platform.to_owned()],
        password: "pa55word".into(),
        enable_secret: "en4ble".into(),
        config_lines: 60,
        telnet_base_port: Some(0),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

async fn connect(d: &SimDevice) -> client::Handle<AnyKey> {
    let config = Arc::new(client::Config::default());
    client::connect(config, ("127.0.0.1", d.port()), AnyKey)
        .await
        .unwrap()
}

/// An interactive shell on a PTY, as a person at a terminal has it.
struct Shell {
    _handle: client::Handle<AnyKey>,
    channel: russh::Channel<client::Msg>,
    /// Everything received so far, raw.
    seen: Vec<u8>,
}

impl Shell {
    async fn open(d: &SimDevice, user: &str) -> Shell {
        let mut handle = connect(d).await;
        let auth = handle
            .authenticate_password(user, d.password())
            .await
            .unwrap();
        assert!(auth.success(), "login as {user} refused");
        let channel = handle.channel_open_session().await.unwrap();
        channel
            .request_pty(false, "vt100", 200, 24, 0, 0, &[])
            .await
            .unwrap();
        channel.request_shell(false).await.unwrap();
        Shell {
            _handle: handle,
            channel,
            seen: Vec::new(),
        }
    }

    /// Reads until `needle` shows up in what arrived after `from`; returns
    /// what arrived from `from` to the end of the needle (raw).
    async fn read_until(&mut self, from: usize, needle: &[u8]) -> Vec<u8> {
        let read = async {
            loop {
                if let Some(at) = self.seen[from..]
                    .windows(needle.len())
                    .position(|w| w == needle)
                {
                    return self.seen[from..from + at + needle.len()].to_vec();
                }
                match self.channel.wait().await {
                    Some(ChannelMsg::Data { data }) => self.seen.extend_from_slice(&data),
                    Some(_) => {}
                    None => panic!(
                        "closed before {:?}; got {:?}",
                        String::from_utf8_lossy(needle),
                        String::from_utf8_lossy(&self.seen[from..])
                    ),
                }
            }
        };
        match tokio::time::timeout(Duration::from_secs(5), read).await {
            Ok(v) => v,
            Err(_) => panic!(
                "no {:?} within 5 s; got {:?}",
                String::from_utf8_lossy(needle),
                String::from_utf8_lossy(&self.seen[from..])
            ),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.channel.data(bytes).await.unwrap();
    }

    /// Sends `line` with CR and returns what came back up to `prompt`, as
    /// text with `\r` removed.
    async fn run(&mut self, line: &str, prompt: &str) -> String {
        let from = self.seen.len();
        self.send(format!("{line}\r").as_bytes()).await;
        let echo = self.read_until(from, line.as_bytes()).await;
        let out = self.read_until(from + echo.len(), prompt.as_bytes()).await;
        String::from_utf8_lossy(&out).replace('\r', "")
    }

    /// Sends a secret (not echoed) and waits for `prompt`.
    async fn secret(&mut self, secret: &str, prompt: &str) {
        let from = self.seen.len();
        self.send(format!("{secret}\r").as_bytes()).await;
        self.read_until(from, prompt.as_bytes()).await;
    }
}

#[tokio::test]
async fn ios_nxos_and_eos_accept_unique_abbreviations_and_any_terminal_width() {
    // Cisco's command-line guides: a command may be abbreviated to its
    // shortest unique prefix; scrapli sends `term width 512`, `term len 0`.
    for (platform, prompt) in [
        ("cisco_ios", "r0001#"),
        ("cisco_nxos", "r0001#"),
        ("arista_eos", "r0001#"),
    ] {
        let s = sim(platform).await;
        let d = &s.devices()[0];
        let mut sh = Shell::open(d, "admin").await;
        sh.read_until(0, b"r0001").await;
        if platform != "cisco_nxos" {
            sh.run("en", "Password:").await;
            sh.secret("en4ble", prompt).await;
        }
        for cmd in ["term width 137", "term len 0"] {
            let out = sh.run(cmd, prompt).await;
            assert!(!out.contains('%'), "{platform}: `{cmd}` refused: {out}");
        }
        let out = sh.run("sh run", prompt).await;
        assert!(out.contains("hostname r0001"), "{platform}: {out}");
        assert!(
            !out.contains("More"),
            "{platform}: the pager stayed on: {out}"
        );
        let out = sh.run("s run", prompt).await;
        assert!(out.contains("% Ambiguous command"), "{platform}: {out}");
    }
}

#[tokio::test]
async fn eos_and_junos_confirm_the_terminal_width_they_were_given() {
    // netmiko arista.py waits for "Width set to", juniper.py for "Screen
    // width set to"; any width is accepted.
    let s = sim("arista_eos").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    sh.read_until(0, b"r0001>").await;
    let out = sh.run("terminal width 511", "r0001>").await;
    assert!(out.contains("Width set to 511 columns."), "{out}");
    let out = sh.run("terminal width 300", "r0001>").await;
    assert!(out.contains("Width set to 300 columns."), "{out}");
    let out = sh.run("terminal length 0", "r0001>").await;
    assert!(out.contains("Pagination disabled."), "{out}");

    let s = sim("juniper_junos").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    sh.read_until(0, b"admin@r0001> ").await;
    let out = sh.run("set cli screen-width 511", "admin@r0001> ").await;
    assert!(out.contains("Screen width set to 511"), "{out}");
    let out = sh.run("set cli screen-width 80", "admin@r0001> ").await;
    assert!(out.contains("Screen width set to 80"), "{out}");
    let out = sh
        .run("set cli complete-on-space off", "admin@r0001> ")
        .await;
    assert!(out.contains("Disabling complete-on-space"), "{out}");
    let out = sh.run("set cli screen-length 0", "admin@r0001> ").await;
    assert!(out.contains("Screen length set to 0"), "{out}");
}

#[tokio::test]
async fn junos_prints_the_whole_configuration_for_a_plain_show_configuration() {
    let s = sim("juniper_junos").await;
    let d = &s.devices()[0];
    let mut sh = Shell::open(d, "admin").await;
    sh.read_until(0, b"admin@r0001> ").await;
    sh.run("set cli screen-length 0", "admin@r0001> ").await;
    for cmd in ["show configuration", "show configuration | display omit"] {
        let out = sh.run(cmd, "admin@r0001> ").await;
        assert!(out.contains("    host-name r0001;"), "{cmd}: {out}");
        assert!(out.contains("interfaces {"), "{cmd}: {out}");
    }
}

#[tokio::test]
async fn routeros_accepts_console_options_after_a_plus_in_the_login_name() {
    // netmiko logs in as `admin+ct511w4098h`, gnetcli as `admin+cte999w255h`:
    // `c` turns the colours off.
    let s = sim("mikrotik_routeros").await;
    let d = &s.devices()[0];
    let mut plain = Shell::open(d, "admin").await;
    let greeting = plain.read_until(0, b"] > ").await;
    assert!(greeting.contains(&0x1b), "RouterOS colours its prompt");
    for user in ["admin+ct", "admin+ct511w4098h", "admin+cte999w255h"] {
        let mut sh = Shell::open(d, user).await;
        let greeting = sh.read_until(0, b"[admin@r0001] > ").await;
        assert!(
            !greeting.contains(&0x1b),
            "{user}: colours: {:?}",
            String::from_utf8_lossy(&greeting)
        );
        if user.ends_with('h') {
            // A terminal 4098 or 255 lines high: no page break in 60 lines.
            let out = sh.run("/export", "[admin@r0001] > ").await;
            assert!(out.contains("set name=r0001"), "{user}: {out}");
            assert!(!out.contains("-- [Q quit"), "{user}: paged: {out}");
        }
    }
    let mut handle = connect(d).await;
    let auth = handle
        .authenticate_password("admin+q", d.password())
        .await
        .unwrap();
    assert!(!auth.success(), "an unknown option is refused");
}

#[tokio::test]
async fn fortios_answers_get_system_status_show_and_the_console_settings() {
    // netmiko fortinet_ssh.py: `get system status | grep Version`, then
    // `get system console`, `config system console` / `set output
    // standard` / `end`; oxidized fortios.rb: `get system status`, `show`.
    let s = sim("fortinet_fortios").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    let p = "r0001 # ";
    sh.read_until(0, p.as_bytes()).await;
    let out = sh.run("get system status", p).await;
    assert!(out.contains("Version: FortiGate-60F v7.0.12"), "{out}");
    assert!(out.contains("Hostname: r0001"), "{out}");
    let out = sh.run("get system status | grep Version", p).await;
    assert!(out.contains("Version: FortiGate"), "{out}");
    assert!(!out.contains("Hostname"), "grep filters: {out}");
    let out = sh.run("get system console", p).await;
    assert!(out.contains("output              : more"), "{out}");
    sh.run("config system console", "r0001 (console) # ").await;
    sh.run("set output standard", "r0001 (console) # ").await;
    sh.run("end", p).await;
    let out = sh.run("get system console", p).await;
    assert!(out.contains("output              : standard"), "{out}");
    let out = sh.run("show", p).await;
    assert!(out.contains("set hostname \"r0001\""), "{out}");
    assert!(!out.contains("--More--"), "{out}");
}

#[tokio::test]
async fn panos_offers_keyboard_interactive_and_answers_what_clients_send_first() {
    // netmiko paloalto_panos.py logs in with keyboard-interactive, sends
    // `set cli scripting-mode on` and reads `show system info` up to
    // `operational-mode`; PAN-OS names the word it does not know.
    let s = sim("paloalto_panos").await;
    let d = &s.devices()[0];
    let mut handle = connect(d).await;
    let mut r = handle
        .authenticate_keyboard_interactive_start("admin", None)
        .await
        .unwrap();
    let mut rounds = 0;
    let ok = loop {
        match r {
            client::KeyboardInteractiveAuthResponse::Success => break true,
            client::KeyboardInteractiveAuthResponse::Failure { .. } => break false,
            client::KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                assert_eq!(prompts.len(), 1);
                assert!(
                    prompts[0].prompt.contains("assword"),
                    "{:?}",
                    prompts[0].prompt
                );
                rounds += 1;
                r = handle
                    .authenticate_keyboard_interactive_respond(vec![d.password().to_owned()])
                    .await
                    .unwrap();
            }
        }
    };
    assert!(ok && rounds == 1);
    let mut sh = Shell::open(d, "admin").await;
    let p = "admin@r0001> ";
    sh.read_until(0, p.as_bytes()).await;
    let out = sh.run("set cli scripting-mode on", p).await;
    assert!(!out.contains("Unknown"), "{out}");
    let out = sh.run("show system info", p).await;
    assert!(out.contains("hostname: r0001"), "{out}");
    assert!(out.contains("operational-mode: normal"), "{out}");
    let out = sh.run("shwo clock", p).await;
    assert!(out.contains("Unknown command: shwo"), "{out}");
}

#[tokio::test]
async fn nxos_answers_the_inventory_commands_collectors_run() {
    let s = sim("cisco_nxos").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    let p = "r0001#";
    sh.read_until(0, p.as_bytes()).await;
    for (cmd, expect) in [
        ("show version", "NXOS: version 9.3(8)"),
        ("show module", "Module-Type"),
        ("show inventory", "NAME: \"Chassis\""),
        ("dir bootflash:", "bytes free"),
        ("show interface transceiver", "transceiver is present"),
    ] {
        let out = sh.run(cmd, p).await;
        assert!(out.contains(expect), "{cmd}: {out}");
        assert!(!out.contains("% Invalid"), "{cmd}: {out}");
    }
}

#[tokio::test]
async fn procurve_draws_with_vt100_sequences_and_never_colours_its_prompt() {
    // netmiko strip_ansi_escape_codes: "HP does ESC-E", "Aruba and ProCurve
    // switches can use code_insert_line for <enter>", ESC[24;27H, ESC[?25h,
    // ESC[2K, ESC[1;24r; oxidized procurve.rb: prompt after ESC[24;1H.
    let s = sim("hp_procurve").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    sh.read_until(0, b"Press any key to continue").await;
    let from = sh.seen.len();
    sh.send(b" ").await;
    sh.read_until(from, b"r0001> ").await;
    sh.run("enable", "Password:").await;
    sh.secret("en4ble", "r0001# ").await;
    sh.run("no page", "r0001# ").await;
    let from = sh.seen.len();
    sh.send(b"show running-config\r").await;
    sh.read_until(from, b"password manager").await;
    let raw = sh.read_until(from, b"r0001# ").await;
    let all = sh.seen.clone();
    for seq in [
        &b"\x1bE"[..],
        b"\x1b[1L",
        b"\x1b[24;1H",
        b"\x1b[2K",
        b"\x1b[?25h",
        b"\x1b[1;24r",
    ] {
        assert!(
            all.windows(seq.len()).any(|w| w == seq),
            "no {:?} in the session",
            String::from_utf8_lossy(seq)
        );
    }
    assert!(
        !raw.windows(2).any(|w| w == b"\r\n"),
        "lines end with ESC E, not CR LF"
    );
    // No SGR (colour) sequence anywhere: `ESC [ ... m`.
    let text = String::from_utf8_lossy(&all);
    let coloured = text.split('\x1b').skip(1).any(|seq| {
        seq.strip_prefix('[').is_some_and(|rest| {
            rest.find(|c: char| c.is_ascii_alphabetic()) == rest.find('m') && rest.contains('m')
        })
    });
    assert!(!coloured, "the prompt is coloured: {text:?}");
}

#[tokio::test]
async fn vyos_indents_its_errors_by_two_spaces() {
    // "show interfacess\r\n\r\n  Invalid command: show [interfacess]\r\n\r\n"
    // (an Ansible vyos_command failure log on GitHub).
    let s = sim("vyos").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    let p = "admin@r0001:~$ ";
    sh.read_until(0, p.as_bytes()).await;
    let out = sh.run("show interfacess", p).await;
    assert!(
        out.contains("\n\n  Invalid command: show [interfacess]\n\n"),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_failed_password_answers_with_the_methods_that_can_continue() {
    let s = sim("cisco_ios").await;
    let mut handle = connect(&s.devices()[0]).await;
    let r = handle
        .authenticate_password("admin", "wrong")
        .await
        .unwrap();
    let AuthResult::Failure {
        remaining_methods, ..
    } = r
    else {
        panic!("a wrong password was accepted");
    };
    for m in [
        MethodKind::PublicKey,
        MethodKind::Password,
        MethodKind::KeyboardInteractive,
    ] {
        assert!(
            remaining_methods.contains(&m),
            "{m:?} missing from {remaining_methods:?}"
        );
    }
}

/// A raw Telnet client: answers nothing, sends what it is told.
async fn telnet_until(sock: &mut tokio::net::TcpStream, seen: &mut Vec<u8>, needle: &[u8]) {
    let read = async {
        let mut buf = [0u8; 4096];
        while !seen.windows(needle.len()).any(|w| w == needle) {
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed; got {:?}", String::from_utf8_lossy(seen));
            seen.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no {:?}; got {:?}",
                String::from_utf8_lossy(needle),
                String::from_utf8_lossy(seen)
            )
        });
    seen.clear();
}

#[tokio::test]
async fn cr_nul_and_cr_lf_are_one_line_end_whatever_the_segmentation() {
    // RFC 854: "CR NUL" and "CR LF" each end a line; a NUL or LF arriving
    // in the next TCP segment belongs to the same line end.
    let s = sim("cisco_ios").await;
    let d = &s.devices()[0];
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", d.telnet_port().unwrap()))
        .await
        .unwrap();
    sock.set_nodelay(true).unwrap();
    let mut seen = Vec::new();
    let pause = || tokio::time::sleep(Duration::from_millis(60));
    telnet_until(&mut sock, &mut seen, b"Username: ").await;
    sock.write_all(b"admin\r").await.unwrap();
    pause().await;
    sock.write_all(b"\0").await.unwrap();
    telnet_until(&mut sock, &mut seen, b"Password: ").await;
    sock.write_all(b"pa55word\r").await.unwrap();
    pause().await;
    sock.write_all(b"\0").await.unwrap();
    telnet_until(&mut sock, &mut seen, b"r0001>").await;
    sock.write_all(b"enable\r").await.unwrap();
    pause().await;
    sock.write_all(b"\n").await.unwrap();
    telnet_until(&mut sock, &mut seen, b"Password: ").await;
    sock.write_all(b"en4ble\r").await.unwrap();
    pause().await;
    sock.write_all(b"\0").await.unwrap();
    telnet_until(&mut sock, &mut seen, b"r0001#").await;

    // The same over SSH with CR LF split across two packets.
    let mut sh = Shell::open(d, "admin").await;
    sh.read_until(0, b"r0001>").await;
    let from = sh.seen.len();
    sh.send(b"enable\r").await;
    pause().await;
    sh.send(b"\n").await;
    sh.read_until(from, b"Password: ").await;
    let from = sh.seen.len();
    sh.send(b"en4ble\r").await;
    pause().await;
    sh.send(b"\n").await;
    sh.read_until(from, b"r0001#").await;
}

#[tokio::test]
async fn a_refusal_fault_prints_the_text_instead_of_the_configuration() {
    let s = sim("cisco_ios").await;
    let d = &s.devices()[0];
    d.set_faults(Faults {
        refuse_config_command: Some("Command authorization failed.".into()),
        ..Faults::default()
    });
    let mut sh = Shell::open(d, "admin").await;
    sh.read_until(0, b"r0001>").await;
    sh.run("enable", "Password:").await;
    sh.secret("en4ble", "r0001#").await;
    let out = sh.run("show running-config", "r0001#").await;
    assert!(out.contains("Command authorization failed."), "{out}");
    assert!(!out.contains("hostname"), "{out}");
}

#[tokio::test]
async fn exos_counts_the_sessions_commands_in_its_prompt() {
    // netmiko extreme/extreme_exos.py: "Extreme attaches an id to the
    // prompt. The id increases with every command".
    let s = sim("extreme_exos").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    sh.read_until(0, b"r0001.1 # ").await;
    sh.run("disable clipaging", "r0001.2 # ").await;
    let out = sh.run("show version", "r0001.3 # ").await;
    assert!(out.contains("ExtremeXOS version"), "{out:?}");
}

#[tokio::test]
async fn cisco_smb_asks_for_the_user_again_after_the_ssh_login_and_refuses_a_wrong_one() {
    // netmiko cisco/cisco_s300.py: without `ip ssh password-auth` the
    // switch prompts for the user name a second time.
    let s = sim("cisco_smb").await;
    let d = &s.devices()[0];
    let mut sh = Shell::open(d, "admin").await;
    sh.read_until(0, b"User Name:").await;
    let from = sh.seen.len();
    sh.send(b"admin\r").await;
    sh.read_until(from, b"Password:").await;
    sh.secret("wrong", "% Authentication Failed").await;
    let from = sh.seen.len();
    sh.read_until(from, b"User Name:").await;
    sh.send(b"admin\r").await;
    sh.read_until(from, b"Password:").await;
    sh.secret(d.password(), "r0001#").await;
    sh.run("terminal datadump", "r0001#").await;
    let out = sh.run("show running-config", "r0001#").await;
    assert!(out.contains("config-file-header\n"), "{out:?}");
}

#[tokio::test]
async fn cisco_wlc_asks_for_the_user_in_band_and_prompts_with_its_system_name() {
    // netmiko cisco/cisco_wlc_ssh.py: "(Cisco Controller)", then `User:`
    // and `Password:` after the SSH login; oxidized aireos.rb's prompt
    // /^\([^)]+\)\s>/; `config paging disable`; an unknown command is
    // answered with a usage hint.
    let s = sim("cisco_wlc").await;
    let d = &s.devices()[0];
    let mut sh = Shell::open(d, "admin").await;
    sh.read_until(0, b"(Cisco Controller)").await;
    let from = sh.seen.len();
    sh.read_until(from, b"User: ").await;
    sh.send(b"admin\r").await;
    sh.read_until(from, b"Password:").await;
    sh.secret("wrong", "User: ").await;
    let from = sh.seen.len();
    sh.send(b"admin\r").await;
    sh.read_until(from, b"Password:").await;
    sh.secret(d.password(), "(r0001) >").await;
    let out = sh.run("config paging disable", "(r0001) >").await;
    assert_eq!(out.trim(), "(r0001) >", "{out:?}");
    let out = sh.run("show run-config commands", "(r0001) >").await;
    assert!(out.contains("config sysname r0001\n"), "{out:?}");
    assert!(out.contains("config rogue adhoc alert "), "{out:?}");
    let out = sh.run("show running-config", "(r0001) >").await;
    assert!(out.contains("Incorrect usage."), "{out:?}");
}

#[tokio::test]
async fn f5_tmsh_prompts_with_its_states_and_turns_its_pager_off_as_netmiko_asks() {
    // netmiko f5/f5_tmsh_ssh.py waits for `tmos.*#`, sends `run /util bash
    // -c "stty cols 255"` and `modify cli preference pager disabled
    // display-threshold 0`; tmsh names a word it does not know.
    let s = sim("f5_tmos").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    let p = "admin@(r0001)(cfg-sync Standalone)(Active)(/Common)(tmos)# ";
    sh.read_until(0, p.as_bytes()).await;
    let out = sh.run("run /util bash -c \"stty cols 255\"", p).await;
    assert!(!out.contains("Syntax Error"), "{out:?}");
    let out = sh
        .run(
            "modify cli preference pager disabled display-threshold 0",
            p,
        )
        .await;
    assert!(!out.contains("Syntax Error"), "{out:?}");
    let out = sh.run("show running-config", p).await;
    assert!(out.contains("net vlan /Common/vlan20 {\n"), "{out:?}");
    assert!(!out.contains("---(less"), "the pager stayed on: {out:?}");
    let out = sh.run("show runing-config", p).await;
    assert!(
        out.contains("Syntax Error: \"runing-config\" unknown property"),
        "{out:?}"
    );
}

/// Runs `command` on an exec channel as `user`: stdout, stderr and the
/// exit status.
async fn exec_as(d: &SimDevice, user: &str, command: &str) -> (String, String, Option<u32>) {
    let mut handle = connect(d).await;
    let auth = handle
        .authenticate_password(user, d.password())
        .await
        .unwrap();
    assert!(auth.success(), "login as {user} refused");
    let mut ch = handle.channel_open_session().await.unwrap();
    ch.exec(true, command).await.unwrap();
    let (mut out, mut err, mut status) = (Vec::new(), Vec::new(), None);
    while let Some(msg) = tokio::time::timeout(Duration::from_secs(10), ch.wait())
        .await
        .unwrap()
    {
        match msg {
            ChannelMsg::Data { data } => out.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, .. } => err.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            ChannelMsg::Failure => panic!("exec refused"),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
        status,
    )
}

#[tokio::test]
async fn f5_advanced_shell_saves_a_ucs_archive_under_var_local_ucs() {
    // F5 K13132: `tmsh save /sys ucs <name>` writes /var/local/ucs/<name>,
    // `.ucs` added; backup scripts run it on an SSH exec channel as an
    // advanced-shell (bash) user and fetch the file. tmsh says "Saving
    // active configuration..." and "<path> is saved.".
    let s = sim("f5_tmos_ucs").await;
    let d = &s.devices()[0];
    let (out, _, status) = exec_as(d, "admin", "tmsh save /sys ucs nightly").await;
    assert_eq!(status, Some(0));
    assert_eq!(
        out,
        "Saving active configuration...\n/var/local/ucs/nightly.ucs is saved.\n"
    );
    let ucs = d.saved_file("/var/local/ucs/nightly.ucs").unwrap();
    assert_eq!(&ucs[..3], b"\x1f\x8b\x08", "gzip, deflate");
    // bash answers what it does not know.
    let (_, err, status) = exec_as(d, "admin", "show running-config").await;
    assert_eq!(status, Some(127));
    assert!(err.contains("show: command not found"), "{err:?}");
}

#[tokio::test]
async fn gaia_clish_prompts_with_the_host_and_exports_with_a_dated_header() {
    // oxidized gaiaos.rb: `set clienv rows 0`, `show configuration` headed
    // by `# Exported by <user> on <date>`; clish errors carry a code.
    let s = sim("checkpoint_gaia").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    sh.read_until(0, b"r0001> ").await;
    sh.run("set clienv rows 0", "r0001> ").await;
    let out = sh.run("show configuration", "r0001> ").await;
    assert!(out.contains("\n# Configuration of r0001\n"), "{out:?}");
    assert!(out.contains("\n# Exported by admin on "), "{out:?}");
    let out = sh.run("show configurationz", "r0001> ").await;
    assert!(out.contains("CLINFR0329  Invalid command:"), "{out:?}");
}

#[tokio::test]
async fn arubaos_prints_its_configuration_only_once_enabled() {
    // netmiko aruba/aruba_os.py: "Aruba OS requires enable mode to disable
    // paging"; oxidized aosw.rb: `no paging`, `encrypt disable`, and the
    // `Building Configuration...` line it drops.
    let s = sim("aruba_os").await;
    let d = &s.devices()[0];
    let mut sh = Shell::open(d, "admin").await;
    sh.read_until(0, b"(r0001) >").await;
    let out = sh.run("show running-config", "(r0001) >").await;
    assert!(
        out.contains("% Invalid input detected at '^' marker."),
        "{out:?}"
    );
    sh.run("enable", "Password:").await;
    sh.secret("en4ble", "(r0001) #").await;
    sh.run("no paging", "(r0001) #").await;
    sh.run("encrypt disable", "(r0001) #").await;
    let out = sh.run("show running-config", "(r0001) #").await;
    assert!(out.contains("\nBuilding Configuration...\n"), "{out:?}");
    assert!(out.contains("\nhostname \"r0001\"\n"), "{out:?}");
    assert!(out.trim_end().ends_with("end\n(r0001) #"), "{out:?}");
}

#[tokio::test]
async fn viptela_turns_pagination_off_with_paginate_false() {
    // oxidized viptela.rb and netmiko cisco_viptela.py send `paginate
    // false`; the ConfD CLI refuses an unknown word with a syntax error.
    let s = sim("cisco_viptela").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    sh.read_until(0, b"r0001# ").await;
    sh.run("paginate false", "r0001# ").await;
    let out = sh.run("show running-config", "r0001# ").await;
    assert!(
        out.contains("\n host-name               r0001\n"),
        "{out:?}"
    );
    assert!(!out.contains("--More--"), "{out:?}");
    let out = sh.run("show running-configs", "r0001# ").await;
    assert!(out.contains("syntax error: unknown command"), "{out:?}");
}

#[tokio::test]
async fn screenos_prints_get_config_with_its_size_first_and_points_at_unknown_words() {
    // oxidized screenos.rb: `set console page 0`, `get config` whose first
    // line (the size) it drops; netmiko juniper_screenos.py waits for `->`.
    let s = sim("juniper_screenos").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    sh.read_until(0, b"r0001-> ").await;
    sh.run("set console page 0", "r0001-> ").await;
    let out = sh.run("get config", "r0001-> ").await;
    let first = out.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(
        first.starts_with("Total Config size ") && first.ends_with(':'),
        "{out:?}"
    );
    assert!(out.contains("\nset hostname r0001\n"), "{out:?}");
    let out = sh.run("get confg", "r0001-> ").await;
    assert!(out.contains("^-----unknown keyword confg"), "{out:?}");
}

#[tokio::test]
async fn fastpath_switches_prompt_in_brackets_and_print_their_configuration_only_when_enabled() {
    // oxidized lib/oxidized/model/edgeswitch.rb (/\(.*\)\s[#>]/) and
    // netgear.rb (`(GS748Tv4) #`): the prompt string in brackets, `>`
    // before `enable` and its password, `#` after; FASTPATH's pager is
    // `--More-- or (q)uit` until `terminal length 0`.
    for platform in ["ubiquiti_edgeswitch", "netgear_prosafe"] {
        let s = sim(platform).await;
        let d = &s.devices()[0];
        let mut sh = Shell::open(d, "admin").await;
        sh.read_until(0, b"(r0001) >").await;
        let refused = sh.run("show running-config", "(r0001) >").await;
        assert!(
            refused.contains("% Invalid input detected at '^' marker."),
            "{platform}: {refused:?}"
        );
        let from = sh.seen.len();
        sh.send(b"enable\r").await;
        sh.read_until(from, b"Password:").await;
        sh.secret("en4ble", "(r0001) #").await;
        let from = sh.seen.len();
        sh.send(b"show running-config\r").await;
        let page = sh.read_until(from, b"--More-- or (q)uit").await;
        let page = String::from_utf8_lossy(&page).replace('\r', "");
        assert!(
            page.contains("\n!Current Configuration:\n!\n!System Description \""),
            "{platform}: {page:?}"
        );
        sh.send(b"q").await;
        sh.read_until(from, b"(r0001) #").await;
        sh.run("terminal length 0", "(r0001) #").await;
        let out = sh.run("show running-config", "(r0001) #").await;
        assert!(!out.contains("--More--"), "{platform}: {out:?}");
        assert!(out.ends_with("\nexit\n(r0001) #"), "{platform}: {out:?}");
    }
}

#[tokio::test]
async fn jetstream_takes_enable_admin_and_pages_with_press_any_key() {
    // netmiko tplink/tplink_jetstream.py sends `enable`, then
    // `enable-admin`; oxidized lib/oxidized/model/tplink.rb answers
    // `Press any key to continue (Q to quit)` and reads up to `end`.
    let s = sim("tplink_jetstream").await;
    let d = &s.devices()[0];
    let mut sh = Shell::open(d, "admin").await;
    sh.read_until(0, b"r0001>").await;
    let from = sh.seen.len();
    sh.send(b"enable\r").await;
    sh.read_until(from, b"Password:").await;
    sh.secret("en4ble", "r0001#").await;
    let out = sh.run("enable-admin", "r0001#").await;
    assert_eq!(out, "\nr0001#", "{out:?}");
    let bad = sh.run("show nothing", "r0001#").await;
    assert!(bad.contains("Error: Bad command"), "{bad:?}");
    let from = sh.seen.len();
    sh.send(b"show running-config\r").await;
    let page = sh
        .read_until(from, b"Press any key to continue (Q to quit)")
        .await;
    assert!(
        String::from_utf8_lossy(&page).contains("\n!T2600G-28TS\r\n#\r\n"),
        "{page:?}"
    );
    sh.send(b"q").await;
    sh.read_until(from, b"r0001#").await;
    sh.run("terminal length 0", "r0001#").await;
    let out = sh.run("show running-config", "r0001#").await;
    assert!(!out.contains("Press any key"), "{out:?}");
    assert!(out.ends_with("\n#\nend\nr0001#"), "{out:?}");
}

#[tokio::test]
async fn dlink_opens_every_reply_with_the_command_it_answers() {
    // fakenos platforms_yaml/dlink_ds.yaml: "Command: disable clipaging"
    // then "Success."; oxidized lib/oxidized/model/dlink.rb drops the first
    // lines of every output and runs the abbreviated `show config current`.
    let s = sim("dlink_ds").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    sh.read_until(0, b"r0001:admin#").await;
    let out = sh.run("disable clipaging", "r0001:admin#").await;
    assert_eq!(
        out, "\nCommand: disable clipaging\n\nSuccess.\nr0001:admin#",
        "{out:?}"
    );
    let out = sh.run("show config current", "r0001:admin#").await;
    assert!(
        out.starts_with("\nCommand: show config current_config\n\n#---"),
        "{out:?}"
    );
    assert!(
        out.ends_with(
            "End of configuration file for DGS-3120-24TC\n#-------------------------------------------------------------------\nr0001:admin#"
        ),
        "{out:?}"
    );
    let bad = sh.run("show nothing", "r0001:admin#").await;
    assert!(bad.starts_with("\nAvailable commands:"), "{bad:?}");
}

#[tokio::test]
async fn edgecos_pages_with_more_and_builds_its_configuration_before_printing_it() {
    // oxidized lib/oxidized/model/edgecos.rb: the `---More---` pager
    // (ES3526XA-V2), `terminal length 0` and `terminal width 300`, the
    // `Building running configuration` line it removes, the refusal it
    // drops; an access-level-15 account starts privileged.
    let s = sim("edgecore").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    let banner = sh.read_until(0, b"r0001#").await;
    assert!(
        String::from_utf8_lossy(&banner).contains("CLI session with the "),
        "{banner:?}"
    );
    let from = sh.seen.len();
    sh.send(b"show running-config\r").await;
    let page = sh.read_until(from, b"---More---").await;
    let page = String::from_utf8_lossy(&page).replace('\r', "");
    assert!(
        page.contains(
            "\nBuilding running configuration. Please wait...\n!<stackingDB>00</stackingDB>\n"
        ),
        "{page:?}"
    );
    sh.send(b"q").await;
    sh.read_until(from, b"r0001#").await;
    assert_eq!(sh.run("terminal length 0", "r0001#").await, "\nr0001#");
    assert_eq!(sh.run("terminal width 300", "r0001#").await, "\nr0001#");
    let out = sh.run("show running-config", "r0001#").await;
    assert!(!out.contains("---More---"), "{out:?}");
    assert!(out.ends_with("\n!\nend\nr0001#"), "{out:?}");
    let bad = sh.run("show nothing", "r0001#").await;
    assert!(
        bad.ends_with("^\n% Invalid input detected at '^' marker.\nr0001#"),
        "{bad:?}"
    );
}

/// Runs `command` on an SSH exec channel: stdout, stderr, exit status.
async fn exec(d: &SimDevice, command: &str) -> (String, String, Option<u32>) {
    let mut handle = connect(d).await;
    let auth = handle
        .authenticate_password(d.username(), d.password())
        .await
        .unwrap();
    assert!(auth.success());
    let mut ch = handle.channel_open_session().await.unwrap();
    ch.exec(true, command).await.unwrap();
    let (mut out, mut err, mut status) = (Vec::new(), Vec::new(), None);
    while let Some(msg) = ch.wait().await {
        match msg {
            ChannelMsg::Data { data } => out.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, .. } => err.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            _ => {}
        }
    }
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
        status,
    )
}

#[tokio::test]
async fn opengear_and_nclu_answer_on_exec_channels_as_their_linux_does() {
    // oxidized lib/oxidized/model/opengear.rb runs `config -g config` on an
    // exec channel and prints `config.<key> <value>` lines; NVIDIA's NCLU
    // examples open `net show configuration commands` with `net del all`
    // and close it with `net commit`. An unknown command is bash's.
    let s = sim("opengear").await;
    let (out, err, status) = exec(&s.devices()[0], "config -g config").await;
    assert_eq!((err.as_str(), status), ("", Some(0)));
    assert!(out.starts_with("config.system.name r0001\n"), "{out:?}");
    assert!(out.lines().all(|l| l.starts_with("config.")), "{out:?}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("config.users.user1.password $1$")),
        "{out:?}"
    );
    let (out, err, status) = exec(&s.devices()[0], "showserial").await;
    assert_eq!(
        (out.as_str(), err.as_str(), status),
        ("22071234567890\n", "", Some(0))
    );
    let (_, err, status) = exec(&s.devices()[0], "ogcli export").await;
    assert_eq!(status, Some(127));
    assert!(err.contains("ogcli: command not found"), "{err:?}");

    let s = sim("cumulus_nclu").await;
    let (out, err, status) = exec(&s.devices()[0], "net show configuration commands").await;
    assert_eq!((err.as_str(), status), ("", Some(0)));
    assert!(out.starts_with("net del all\n"), "{out:?}");
    assert!(out.ends_with("\nnet commit\n"), "{out:?}");
    assert!(out.contains("\nnet add hostname r0001\n"), "{out:?}");
}

#[tokio::test]
async fn opengear_prompts_with_a_dollar_over_telnet() {
    // oxidized lib/oxidized/model/opengear.rb: /^(\$\s)$/, after Linux's
    // `login:`.
    let s = sim("opengear").await;
    let d = &s.devices()[0];
    let port = d.telnet_port().unwrap();
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut seen = Vec::new();
    telnet_until(&mut sock, &mut seen, b"login: ").await;
    sock.write_all(b"admin\r\n").await.unwrap();
    telnet_until(&mut sock, &mut seen, b"Password:").await;
    sock.write_all(b"pa55word\r\n").await.unwrap();
    telnet_until(&mut sock, &mut seen, b"\r\n$ ").await;
}

#[tokio::test]
async fn fxos_prompts_with_its_fabric_and_shows_its_configuration_by_scope() {
    // The FXOS CLI configuration guide: `Firepower-chassis#` at the top of
    // the mode hierarchy, `scope`/`enter` modes whose `set` lines `exit`
    // closes; oxidized lib/oxidized/model/ucs.rb (the UCS Manager CLI FXOS
    // derives from): `terminal length 0`, `show configuration`, `| no-more`.
    let s = sim("cisco_fxos").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    let banner = sh.read_until(0, b"r0001-A#").await;
    assert!(
        String::from_utf8_lossy(&banner).contains("(FX-OS) Software"),
        "{banner:?}"
    );
    let from = sh.seen.len();
    sh.send(b"show configuration\r").await;
    let page = sh.read_until(from, b"--More--").await;
    let page = String::from_utf8_lossy(&page).replace('\r', "");
    assert!(
        page.contains("\n scope system\n     set name r0001\n     scope services\n"),
        "{page:?}"
    );
    sh.send(b"q").await;
    sh.read_until(from, b"r0001-A#").await;
    sh.run("terminal length 0", "r0001-A#").await;
    let out = sh.run("show configuration | no-more", "r0001-A#").await;
    assert!(!out.contains("--More--"), "{out:?}");
    assert!(out.ends_with("\n scope monitoring\n     enable snmp\n     set snmp syscontact noc@example.net\n     set snmp syslocation \"Rack 4\"\n exit\nr0001-A#"), "{out:?}");
    let bad = sh.run("show nothing", "r0001-A#").await;
    assert!(
        bad.ends_with("% Invalid Command at '^' marker\nr0001-A#"),
        "{bad:?}"
    );
}

#[tokio::test]
async fn voss_enables_without_a_secret_and_refuses_the_configuration_before() {
    // oxidized lib/oxidized/model/voss.rb sends a bare `enable`; the
    // prompt has no space after its sign (/^[^\s#>]+[#>]$/).
    let s = sim("extreme_voss").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    sh.read_until(0, b"r0001:1>").await;
    let out = sh.run("show running-config", "r0001:1>").await;
    assert!(out.contains("% Invalid input"), "{out:?}");
    let from = sh.seen.len();
    sh.send(b"enable\r").await;
    let got = sh.read_until(from, b"r0001:1#").await;
    assert!(
        !String::from_utf8_lossy(&got).contains("Password"),
        "{got:?}"
    );
    sh.run("terminal more disable", "r0001:1#").await;
    let out = sh.run("show running-config", "r0001:1#").await;
    assert!(
        out.contains("Preparing to Display Configuration...\n#\n"),
        "{out:?}"
    );
    assert!(out.contains("\nconfig terminal\n"), "{out:?}");
    assert!(out.contains("\nsys name \"r0001\"\n"), "{out:?}");
    assert!(out.trim_end().ends_with("end\nr0001:1#"), "{out:?}");
}

#[tokio::test]
async fn sonicos_prompts_with_user_and_host_and_pages_until_told_not_to() {
    // oxidized lib/oxidized/model/sonicos.rb: `admin@012345> `, and
    // `no cli pager session` before `show current-config`.
    let s = sim("sonicwall_sonicos").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    sh.read_until(0, b"admin@r0001> ").await;
    let from = sh.seen.len();
    sh.send(b"show current-config\r").await;
    sh.read_until(from, b"--MORE--").await;
    sh.send(b"q").await;
    sh.read_until(from, b"admin@r0001> ").await;
    sh.run("no cli pager session", "admin@r0001> ").await;
    let out = sh.run("show current-config", "admin@r0001> ").await;
    assert!(!out.contains("--MORE--"), "{out:?}");
    assert!(
        out.contains("\nadministration\n    firewall-name r0001\n"),
        "{out:?}"
    );
    assert!(out.contains("\nchecksum "), "{out:?}");
}

#[tokio::test]
async fn fireware_exports_its_profile_as_one_xml_document_at_the_wg_prompt() {
    // oxidized lib/oxidized/model/firewareos.rb: `WG#`, `export config to
    // console`.
    let s = sim("watchguard_fireware").await;
    let mut sh = Shell::open(&s.devices()[0], "admin").await;
    sh.read_until(0, b"WG#").await;
    let out = sh.run("export config to console", "WG#").await;
    let body = out.trim_start_matches("\n");
    assert!(
        body.starts_with("<?xml version=\"1.0\"?>\n<profile>\n"),
        "{out:?}"
    );
    assert!(out.trim_end().ends_with("</profile>\nWG#"), "{out:?}");
}

#[tokio::test]
async fn aruba_instant_lands_privileged_after_its_hint_and_prints_keys_in_clear() {
    // oxidized spec/model/data/arubainstant#IAP515_8.10.0.6_VWLC: the
    // troubleshooting hint, then `host# ` with its space; `show
    // running-config no-encrypt` opens with the version and pages nothing.
    let s = sim("aruba_instant").await;
    let d = &s.devices()[0];
    let mut sh = Shell::open(d, "admin").await;
    let greeting = sh.read_until(0, b"r0001# ").await;
    let greeting = String::from_utf8_lossy(&greeting).replace('\r', "");
    assert!(
        greeting.contains("\nshow tech-support and show tech-support supplemental are the two most useful outputs to collect for any kind of troubleshooting session.\n\nr0001# "),
        "{greeting:?}"
    );
    let out = sh.run("show running-config no-encrypt", "r0001# ").await;
    assert!(out.starts_with("\nversion 8.10.0.0-8.10.0\n"), "{out:?}");
    assert!(
        out.contains(&format!("\nvirtual-controller-key {}\n", d.secret_token())),
        "{out:?}"
    );
    assert!(
        out.contains("\nwlan ssid-profile ssid-0\n enable\n"),
        "{out:?}"
    );
}

#[tokio::test]
async fn fabric_os_prompts_with_switch_and_user_and_runs_configshow_on_exec_channels() {
    // oxidized lib/oxidized/model/fabricos.rb: `switch:admin> `, and
    // `configShow -all` on an exec channel; netmiko brocade_fos_ssh.py
    // waits for `>` in the shell. A configupload file opens with its
    // upload information and closes the logical switch last.
    let s = sim("brocade_fos").await;
    let d = &s.devices()[0];
    let mut sh = Shell::open(d, "admin").await;
    sh.read_until(0, b"r0001:admin> ").await;
    let shell = sh.run("configshow -all", "r0001:admin> ").await;
    let body = shell.trim_start_matches('\n');
    assert!(
        body.starts_with("[Configuration upload Information]\nConfiguration Format = 2.0\n"),
        "{shell:?}"
    );
    assert!(
        body.ends_with("[End]\n[Switch Configuration End : 0]\nr0001:admin> "),
        "{shell:?}"
    );
    let bad = sh.run("frobnicate now", "r0001:admin> ").await;
    assert!(
        bad.contains("rbash: frobnicate: command not found"),
        "{bad:?}"
    );
    let (out, _, status) = exec(d, "configShow -all").await;
    assert_eq!(status, Some(0));
    assert!(
        out.starts_with("[Configuration upload Information]\n"),
        "{out:?}"
    );
    assert!(out.contains("\nSwitchName = r0001\n"), "{out:?}");
    assert!(
        out.ends_with("\n[Switch Configuration End : 0]\n"),
        "{out:?}"
    );
}

#[tokio::test]
async fn airos_sorts_its_system_cfg_on_an_exec_channel_as_cat_prints_it() {
    // oxidized lib/oxidized/model/airos.rb: `sort /tmp/system.cfg` on an
    // exec channel, the BusyBox `# ` prompt in the shell.
    let s = sim("ubiquiti_airos").await;
    let d = &s.devices()[0];
    let (sorted, _, status) = exec(d, "sort /tmp/system.cfg").await;
    assert_eq!(status, Some(0));
    let lines: Vec<&str> = sorted.lines().collect();
    let mut again = lines.clone();
    again.sort();
    assert_eq!(lines, again, "not in sorted order");
    assert!(
        sorted.contains("\nresolv.host.1.name=r0001\n"),
        "{sorted:?}"
    );
    assert!(
        sorted.contains(&format!("\nsnmp.community={}\n", d.secret_token())),
        "{sorted:?}"
    );
    let mut sh = Shell::open(d, "admin").await;
    sh.read_until(0, b"WA.v8.7.11# ").await;
    let cat = sh.run("cat /tmp/system.cfg", "WA.v8.7.11# ").await;
    assert_eq!(
        cat.trim_start_matches('\n'),
        format!("{sorted}WA.v8.7.11# ")
    );
    let bad = sh.run("vi /tmp/system.cfg", "WA.v8.7.11# ").await;
    assert!(bad.contains("-sh: vi: not found"), "{bad:?}");
}

#[tokio::test]
async fn zynos_greets_with_its_copyright_and_saves_the_cursor_after_its_prompt() {
    // oxidized lib/oxidized/model/zynos.rb waits past the `Copyright`
    // line; zynoscli.rb's prompt is `XGS4600# ` followed by `ESC 7`, and
    // `show running-config` opens with three lines of its own (zynos.rb
    // cuts them).
    let s = sim("zyxel_os").await;
    let d = &s.devices()[0];
    let mut sh = Shell::open(d, "admin").await;
    let greeting = sh.read_until(0, b"r0001# \x1b7").await;
    assert!(
        String::from_utf8_lossy(&greeting)
            .starts_with("Copyright (c) 1994 - 2021 Zyxel Communications Corp.\r\n"),
        "{greeting:?}"
    );
    let out = sh.run("show running-config", "r0001# \x1b7").await;
    assert!(
        out.starts_with("\nBuilding configuration...\n\nCurrent configuration:\nvlan 1\n"),
        "{out:?}"
    );
    assert!(
        out.contains("\ninterface port-channel 1\n  name link-0 rev0\nexit\n"),
        "{out:?}"
    );
}

#[tokio::test]
async fn saos_pages_until_its_session_pager_is_off_and_names_parser_failures() {
    // oxidized lib/oxidized/model/saos.rb and netmiko ciena_saos.py:
    // `host> `, `system shell session set more off`, `configuration show`
    // with its `! <model> Configuration File` header; oxidized drops
    // `SHELL PARSER FAILURE` lines.
    let s = sim("ciena_saos").await;
    let d = &s.devices()[0];
    let mut sh = Shell::open(d, "admin").await;
    sh.read_until(0, b"r0001> ").await;
    let from = sh.seen.len();
    sh.send(b"configuration show\r").await;
    let page = sh.read_until(from, b"--More--").await;
    let page = String::from_utf8_lossy(&page).replace('\r', "");
    assert!(
        page.contains("\n! 3930 Configuration File\n! Chassis MAC: "),
        "{page:?}"
    );
    sh.send(b"q").await;
    sh.read_until(from, b"r0001> ").await;
    let bad = sh.run("show running-config", "r0001> ").await;
    assert!(bad.contains("SHELL PARSER FAILURE"), "{bad:?}");
    sh.run("system shell session set more off", "r0001> ").await;
    let out = sh.run("configuration show", "r0001> ").await;
    assert!(!out.contains("--More--"), "{out:?}");
    assert!(out.contains("\n! Created: "), "{out:?}");
    assert!(
        out.contains("\nport set port 1 max-frame-size 9216 description \"link-0 rev0\"\n"),
        "{out:?}"
    );
    assert!(out.ends_with("\n! DHCP L3 RELAY\n!\nr0001> "), "{out:?}");
}
