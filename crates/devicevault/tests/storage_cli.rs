//! `devicevault storage store|read`: the operator contract used by outside
//! checks.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn devicevault(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_devicevault"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that rejects its arguments exits before reading stdin.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The one-line error of a failed command.
fn error_line(o: &Output) -> String {
    assert!(!o.status.success(), "unexpectedly succeeded");
    let stderr = String::from_utf8(o.stderr.clone()).unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.starts_with('{')).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got {stderr:?}");
    lines[0].to_owned()
}

#[test]
fn store_then_read_round_trips_with_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let git_cfg = format!(
        r#"{{"repo_path": "{}/repo", "branch": "main"}}"#,
        dir.path().display()
    );
    let fs_cfg = format!(r#"{{"base_path": "{}/fs"}}"#, dir.path().display());
    let content = b"hostname r1\r\ninterface Gi0/1\r\n description caf\xc3\xa9\r\n";
    for (backend, cfg) in [("git", &git_cfg), ("fs", &fs_cfg)] {
        let out = devicevault(
            &[
                "storage",
                "store",
                "--backend",
                backend,
                "--config",
                cfg,
                "--rel-path",
                "1/r1.cfg",
            ],
            content,
        );
        let storage_ref = stdout(&out).trim_end().to_owned();
        if backend == "git" {
            assert!(storage_ref.starts_with("main:1/r1.cfg@"), "{storage_ref}");
        } else {
            assert_eq!(storage_ref, "1/r1.cfg");
        }
        let out = devicevault(
            &[
                "storage",
                "read",
                "--backend",
                backend,
                "--config",
                cfg,
                "--ref",
                &storage_ref,
            ],
            b"",
        );
        assert_eq!(stdout(&out).as_bytes(), content, "{backend}");
    }
}

#[test]
fn binary_content_needs_the_binary_flag_and_then_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(r#"{{"repo_path": "{}/repo"}}"#, dir.path().display());
    let content: Vec<u8> = (0..=255u8).rev().collect();
    let base = [
        "storage",
        "store",
        "--backend",
        "git",
        "--config",
        &cfg,
        "--rel-path",
        "1/image.bin",
    ];
    let line = error_line(&devicevault(&base, &content));
    assert!(line.contains("--binary"), "{line}");

    let mut args = base.to_vec();
    args.push("--binary");
    let storage_ref = stdout(&devicevault(&args, &content)).trim_end().to_owned();
    let out = devicevault(
        &[
            "storage",
            "read",
            "--backend",
            "git",
            "--config",
            &cfg,
            "--ref",
            &storage_ref,
        ],
        b"",
    );
    assert!(out.status.success());
    assert_eq!(out.stdout, content);
}

#[test]
fn bad_input_exits_non_zero_with_one_line_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let git_cfg = format!(r#"{{"repo_path": "{}/repo"}}"#, dir.path().display());
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let missing_ref = format!("main:1/r1.cfg@{sha}");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "storage",
                "store",
                "--backend",
                "s3",
                "--config",
                "{}",
                "--rel-path",
                "a",
            ],
            "unknown storage backend \"s3\"",
        ),
        (
            vec![
                "storage",
                "store",
                "--backend",
                "git",
                "--config",
                "{repo_path:",
                "--rel-path",
                "a",
            ],
            "not valid JSON",
        ),
        (
            vec![
                "storage",
                "store",
                "--backend",
                "git",
                "--config",
                "[1]",
                "--rel-path",
                "a",
            ],
            "must be a JSON object",
        ),
        (
            vec![
                "storage",
                "store",
                "--backend",
                "git",
                "--config",
                &git_cfg,
                "--rel-path",
                "../../etc/passwd",
            ],
            "contains '..'",
        ),
        (
            vec![
                "storage",
                "store",
                "--backend",
                "fs",
                "--config",
                r#"{"base_path": "/tmp/x", "bogus": 1}"#,
                "--rel-path",
                "a",
            ],
            "unknown field `bogus`",
        ),
        (
            vec![
                "storage",
                "read",
                "--backend",
                "git",
                "--config",
                &git_cfg,
                "--ref",
                "main:1/r1.cfg",
            ],
            "malformed storage_ref",
        ),
        (
            vec![
                "storage",
                "read",
                "--backend",
                "git",
                "--config",
                &git_cfg,
                "--ref",
                &missing_ref,
            ],
            "not found",
        ),
        (
            vec![
                "storage",
                "read",
                "--backend",
                "git",
                "--config",
                &git_cfg,
                "--ref",
                "-main:a@abcd",
            ],
            "starts with '-'",
        ),
    ];
    for (args, expected) in cases {
        let line = error_line(&devicevault(&args, b"x"));
        assert!(line.starts_with("devicevault: error: "), "{line}");
        assert!(
            line.contains(expected),
            "{args:?}: {line:?} lacks {expected:?}"
        );
    }
    assert!(
        !dir.path().join("repo").exists(),
        "rejected input touched the disk"
    );
}
