//! The CLI dialogue over an interactive shell: wait for the prompt, answer
//! login banners and pagers, enter privileged mode, run commands and cut
//! their output out of the echo and the next prompt.

use std::collections::VecDeque;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use russh::ChannelMsg;
use tokio::time::Instant;

use crate::driver::Driver;
use crate::error::CollectError;
use crate::ssh::ShellChannel;
use crate::target::{Credential, DeviceTarget};
use crate::telnet::{Received, TelnetConn};
use crate::terminal;

/// The byte stream under a CLI session.
pub(crate) enum Link {
    /// An SSH channel with a PTY shell, authenticated by SSH.
    Ssh(ShellChannel),
    /// A Telnet connection; the login happens in the dialogue.
    Telnet(Box<TelnetConn>),
}

impl Link {
    async fn send(&mut self, target: &str, data: Vec<u8>) -> Result<(), CollectError> {
        match self {
            Link::Ssh(s) => s
                .channel
                .data_bytes(data)
                .await
                .map_err(|e| crate::ssh::map_ssh_error(target, "sending a command", e)),
            Link::Telnet(t) => t.send(&data).await,
        }
    }

    /// The next bytes from the device; `None` once it closed the session.
    async fn recv(&mut self) -> Result<Option<Vec<u8>>, CollectError> {
        match self {
            Link::Ssh(s) => loop {
                match s.channel.wait().await {
                    Some(ChannelMsg::Data { data })
                    | Some(ChannelMsg::ExtendedData { data, .. }) => {
                        return Ok(Some(data.to_vec()));
                    }
                    Some(ChannelMsg::Eof | ChannelMsg::Close) | None => return Ok(None),
                    Some(_) => {}
                }
            },
            Link::Telnet(t) => match t.recv().await? {
                Received::Data(d) => Ok(Some(d)),
                Received::Closed => Ok(None),
            },
        }
    }
}

/// Login prompts of devices reached over Telnet, where the CLI itself asks
/// for the credentials. Matched after the driver's own `login` answers.
static TELNET_USERNAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?im)(user ?name|login)\s*:\s*$").expect("static regex"));
static TELNET_PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?im)pass(word|code)\s*:\s*$").expect("static regex"));

/// What the dialogue does when the last line of output matches something.
enum Step {
    /// Keep reading.
    More,
    /// The expected prompt arrived.
    Done,
    /// Send this answer, drop the matched line, keep reading.
    Answer(String),
    /// Give up with this error.
    Fail(CollectError),
}

/// The longest unfinished line the dialogue looks at for a prompt, a pager
/// or a banner. Those are short and always follow a line break; matching a
/// longer line on every chunk would make a device that sends megabytes
/// without a newline cost quadratic time.
const MAX_PROMPT_LINE: usize = 4096;

/// How much of a command's raw output is kept to find its echo in.
const ECHO_WINDOW: usize = 4096;

/// How many of the last lines a device sent are kept for a failure's report.
pub const OUTPUT_TAIL_LINES: usize = 20;
/// The longest line kept (bytes, cut at a character boundary); the report
/// cuts it shorter once it is masked.
const OUTPUT_TAIL_LINE_BYTES: usize = 1024;

/// The last lines a device sent, across the steps of a session, kept so a
/// failure can show what the device said before it (the prompt it waited
/// at, a refusal, the last lines of a stalled output). Raw: the caller
/// masks them before they leave the crate.
#[derive(Debug, Default)]
pub(crate) struct OutputTail(VecDeque<String>);

impl OutputTail {
    /// Keeps the last non-blank lines of `out` (a step's finished lines)
    /// and `current` (its unfinished last line). Costs the length of what
    /// is kept, not of `out`.
    pub(crate) fn remember(&mut self, out: &str, current: &str) {
        let mut last: Vec<&str> = out
            .lines()
            .rev()
            .filter(|l| !l.trim().is_empty())
            .take(OUTPUT_TAIL_LINES)
            .collect();
        last.reverse();
        let current = (!current.trim().is_empty()).then_some(current);
        for line in last.into_iter().chain(current) {
            if self.0.len() == OUTPUT_TAIL_LINES {
                self.0.pop_front();
            }
            let mut end = line.len().min(OUTPUT_TAIL_LINE_BYTES);
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            self.0.push_back(line[..end].trim_end().to_owned());
        }
    }

    /// The lines kept, oldest first.
    pub(crate) fn lines(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// A logged-in CLI session.
pub(crate) struct CliSession<'a> {
    link: Link,
    driver: &'a Driver,
    target: String,
    /// Replays what arrives into lines, one byte at a time.
    screen: terminal::Screen,
    /// Bytes that arrived before the dialogue started (SSH shell opening).
    pending: Vec<u8>,
    closed: bool,
    /// The prompt line as the device prints it now, e.g. `R1#`.
    prompt: String,
    /// Raw bytes any one step may receive before it fails.
    max_bytes: usize,
    /// What the device said last, for a failure's report.
    seen: &'a mut OutputTail,
}

/// Whether `tail` is the learned `prompt`: the same text, or, for a
/// platform whose prompt counts the commands (EXOS `host.5 # `), the same
/// text with other numbers in place of its numbers.
fn same_prompt(tail: &str, prompt: &str, driver: &Driver) -> bool {
    if tail == prompt {
        return true;
    }
    if !driver.prompt_counts_commands {
        return false;
    }
    let mut a = tail.chars().peekable();
    let mut b = prompt.chars().peekable();
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                while a.peek().is_some_and(char::is_ascii_digit) {
                    a.next();
                }
                while b.peek().is_some_and(char::is_ascii_digit) {
                    b.next();
                }
            }
            (Some(x), Some(y)) if x == y => {
                a.next();
                b.next();
            }
            _ => return false,
        }
    }
}

impl<'a> CliSession<'a> {
    /// Waits for the first prompt, answering the driver's login sequence
    /// and, over Telnet, the device's username and password prompts.
    pub(crate) async fn login(
        mut link: Link,
        driver: &'a Driver,
        t: &DeviceTarget,
        timeout: Duration,
        max_bytes: usize,
        seen: &'a mut OutputTail,
    ) -> Result<CliSession<'a>, CollectError> {
        let early = match &mut link {
            Link::Ssh(s) => std::mem::take(&mut s.early),
            Link::Telnet(_) => Vec::new(),
        };
        let telnet = matches!(link, Link::Telnet(_));
        let mut s = CliSession {
            screen: terminal::Screen::new(),
            pending: early,
            link,
            driver,
            target: t.display(),
            closed: false,
            prompt: String::new(),
            max_bytes,
            seen,
        };
        let username = t.username.clone();
        let password = match &t.credential {
            Credential::Password(p) => Some(p.clone()),
            Credential::Key { .. } => None,
        };
        let target = s.target.clone();
        let auth_failed = || CollectError::AuthFailed {
            target: target.clone(),
        };
        let (mut users_sent, mut passwords_sent) = (0u32, 0u32);
        let result = s
            .read_until(timeout, "waiting for the first prompt", "(login)", |tail, _| {
                if driver.prompt.is_match(tail) {
                    return Step::Done;
                }
                for l in &driver.login {
                    if l.expect.is_match(tail) {
                        // A CLI that logs in again in band (AireOS, Small
                        // Business switches) asks for the user or the
                        // password again when it rejected the password it
                        // was given: a wrong password, not a reason to
                        // answer until it hangs up.
                        let asks_credentials =
                            l.send.contains("{username}") || l.send.contains("{password}");
                        if asks_credentials && passwords_sent > 0 {
                            return Step::Fail(auth_failed());
                        }
                        let mut answer = l.send.replace("{username}", &username);
                        if answer.contains("{password}") {
                            passwords_sent += 1;
                            let Some(p) = &password else {
                                return Step::Fail(CollectError::BadKey {
                                    target: target.clone(),
                                    reason: "the driver's login sends a password and the device has a key".into(),
                                });
                            };
                            answer = answer.replace("{password}", p.expose());
                        }
                        return Step::Answer(answer);
                    }
                }
                if telnet {
                    // A second prompt for the same thing means the device
                    // rejected what we sent.
                    if TELNET_USERNAME.is_match(tail) {
                        users_sent += 1;
                        if users_sent > 1 || passwords_sent > 0 {
                            return Step::Fail(auth_failed());
                        }
                        return Step::Answer(format!("{username}{}", driver.newline));
                    }
                    if TELNET_PASSWORD.is_match(tail) {
                        passwords_sent += 1;
                        let Some(p) = &password else {
                            return Step::Fail(CollectError::BadKey {
                                target: target.clone(),
                                reason: "Telnet logs in with a password, not a key".into(),
                            });
                        };
                        if passwords_sent > 1 {
                            return Step::Fail(auth_failed());
                        }
                        return Step::Answer(format!("{}{}", p.expose(), driver.newline));
                    }
                }
                Step::More
            })
            .await;
        let prompt = match result {
            Ok((_, prompt)) => prompt,
            // A device that hangs up right after our password rejected it.
            Err(CollectError::ConnectionLost { .. }) if passwords_sent > 0 => {
                return Err(auth_failed());
            }
            Err(e) => return Err(e),
        };
        s.prompt = prompt;
        Ok(s)
    }

    /// Enters privileged mode if the driver has one and the prompt is not privileged yet.
    pub(crate) async fn enable(
        &mut self,
        t: &DeviceTarget,
        timeout: Duration,
    ) -> Result<(), CollectError> {
        let (Some(enable), Some(privileged)) =
            (&self.driver.enable, &self.driver.privileged_prompt)
        else {
            return Ok(());
        };
        if privileged.is_match(&self.prompt) {
            return Ok(());
        }
        self.send_line(&enable.command).await?;
        let mut asked = 0;
        let secret = t.enable_secret.clone();
        let driver = self.driver;
        let target = self.target.clone();
        let (out, prompt) = self
            .read_until(
                timeout,
                "waiting for the prompt after `enable`",
                &enable.command,
                |tail, _| {
                    if driver.prompt.is_match(tail) {
                        return Step::Done;
                    }
                    if enable.password_prompt.is_match(tail) {
                        asked += 1;
                        return match (&secret, asked) {
                            (None, _) => Step::Fail(CollectError::EnableRefused {
                                target: target.clone(),
                                reason:
                                    "the device asks for an enable secret and none is configured"
                                        .into(),
                            }),
                            (Some(_), n) if n > 1 => Step::Fail(CollectError::EnableRefused {
                                target: target.clone(),
                                reason: "the enable secret was not accepted".into(),
                            }),
                            (Some(s), _) => {
                                Step::Answer(format!("{}{}", s.expose(), driver.newline))
                            }
                        };
                    }
                    Step::More
                },
            )
            .await?;
        let refused = |reason: &str| CollectError::EnableRefused {
            target: self.target.clone(),
            reason: reason.to_owned(),
        };
        if let Some(f) = &enable.failure
            && let Some(line) = out.lines().find(|l| f.is_match(l))
        {
            return Err(refused(line.trim()));
        }
        if !privileged.is_match(&prompt) {
            return Err(refused(&format!(
                "the prompt is still `{}` after `enable`",
                prompt.trim()
            )));
        }
        self.prompt = prompt;
        Ok(())
    }

    /// Runs one command and returns its clean output: no echo, no prompt, no
    /// pager prompts, `\n` line ends, ANSI sequences removed.
    pub(crate) async fn run(
        &mut self,
        command: &str,
        timeout: Duration,
    ) -> Result<String, CollectError> {
        self.send_line(command).await?;
        let prompt = self.prompt.trim_end().to_owned();
        let driver = self.driver;
        let echo = command.as_bytes().to_vec();
        let mut echo_seen = false;
        let (out, _) = self
            .read_until(
                timeout,
                &format!("waiting for the prompt after `{command}`"),
                command,
                |tail, head| {
                    // A stray prompt left from an earlier step must not end this
                    // command: its output only counts once its echo went by.
                    if !echo_seen {
                        echo_seen = head
                            .windows(echo.len().max(1))
                            .any(|w| w == echo.as_slice());
                    }
                    if echo_seen && same_prompt(tail.trim_end(), &prompt, driver) {
                        return Step::Done;
                    }
                    for p in &driver.pager {
                        if p.expect.is_match(tail) {
                            return Step::Answer(p.send.clone());
                        }
                    }
                    Step::More
                },
            )
            .await?;
        let mut lines = out.split('\n');
        let mut result = String::with_capacity(out.len());
        if let Some(first) = lines.next()
            && !first.trim_end().ends_with(command.trim())
        {
            result.push_str(first);
            result.push('\n');
        }
        for l in lines {
            result.push_str(l);
            result.push('\n');
        }
        // `out` ended with the newline before the prompt; keep exactly one.
        while result.ends_with("\n\n") || (result == "\n") {
            result.pop();
        }
        if let Some(line) = result
            .lines()
            .find(|l| driver.error_patterns.iter().any(|r| r.is_match(l)))
        {
            return Err(CollectError::CommandRejected {
                target: self.target.clone(),
                command: command.to_owned(),
                reply: line.trim().to_owned(),
            });
        }
        Ok(result)
    }

    /// Says goodbye and closes the connection; errors are irrelevant by now,
    /// and a device that stopped reading must not hold the job, hence the
    /// bound. Not `polite` when the device may still be sending (it was cut
    /// off at the size limit, or it stalled): then the channel is dropped at
    /// once, so that nothing waits for output nobody reads, and the
    /// connection is torn down.
    pub(crate) async fn close(self, polite: bool) {
        let CliSession {
            link,
            driver,
            closed,
            ..
        } = self;
        let bye = async move {
            match link {
                Link::Ssh(crate::ssh::ShellChannel {
                    handle,
                    channel,
                    jump,
                    ..
                }) => {
                    if polite && !closed {
                        if let Some(exit) = &driver.exit {
                            let line = format!("{exit}{}", driver.newline);
                            let _ = channel.data_bytes(line.into_bytes()).await;
                        }
                        let _ = channel.eof().await;
                    }
                    drop(channel);
                    let _ = handle
                        .disconnect(russh::Disconnect::ByApplication, "backup done", "en")
                        .await;
                    if let Some(jump) = jump {
                        let _ = jump
                            .disconnect(russh::Disconnect::ByApplication, "backup done", "en")
                            .await;
                    }
                }
                Link::Telnet(mut t) => {
                    if polite
                        && !closed
                        && let Some(exit) = &driver.exit
                    {
                        let _ = t.send(format!("{exit}{}", driver.newline).as_bytes()).await;
                    }
                    t.shutdown().await;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), bye).await;
    }

    async fn send_line(&mut self, line: &str) -> Result<(), CollectError> {
        let data = format!("{line}{}", self.driver.newline);
        self.send(data).await
    }

    async fn send(&mut self, data: String) -> Result<(), CollectError> {
        self.link.send(&self.target, data.into_bytes()).await
    }

    /// Reads until `step` says `Done` on the last, incomplete line. Returns
    /// the cleaned text before that line, and the line itself.
    ///
    /// Linear in what arrives: each byte goes through the [`terminal::Screen`]
    /// once, and `step` sees the unfinished line only while it is short
    /// enough to be a prompt. More than `max_bytes` raw bytes fail the step
    /// at once with [`CollectError::OutputTooLarge`]; what was read is dropped.
    async fn read_until(
        &mut self,
        timeout: Duration,
        stage: &str,
        command: &str,
        step: impl FnMut(&str, &[u8]) -> Step,
    ) -> Result<(String, String), CollectError> {
        let mut out = String::new();
        let read = self
            .read_into(&mut out, timeout, stage, command, step)
            .await;
        match &read {
            Ok(last) => self.seen.remember(&out, last),
            Err(_) => {
                let current = self.screen.current_line();
                self.seen.remember(&out, &current);
            }
        }
        read.map(|last| (out, last))
    }

    /// [`Self::read_until`]'s loop: the cleaned text goes into `out`, so
    /// that what arrived before a failure can be remembered.
    async fn read_into(
        &mut self,
        out: &mut String,
        timeout: Duration,
        stage: &str,
        command: &str,
        mut step: impl FnMut(&str, &[u8]) -> Step,
    ) -> Result<String, CollectError> {
        let deadline = Instant::now() + timeout;
        // The first raw bytes of this step, where a command's echo is.
        let mut head: Vec<u8> = Vec::new();
        let mut received = 0usize;
        let mut data = std::mem::take(&mut self.pending);
        loop {
            received = received.saturating_add(data.len());
            if received > self.max_bytes {
                return Err(CollectError::OutputTooLarge {
                    target: self.target.clone(),
                    command: command.to_owned(),
                    limit: self.max_bytes,
                });
            }
            if head.len() < ECHO_WINDOW {
                let room = ECHO_WINDOW - head.len();
                head.extend_from_slice(&data[..data.len().min(room)]);
            }
            self.screen.feed(&data, out);
            if self.screen.current_len() <= MAX_PROMPT_LINE {
                let tail = self.screen.current_line();
                match step(&tail, &head) {
                    Step::Done => {
                        self.screen.clear_current();
                        return Ok(tail);
                    }
                    Step::Answer(a) => {
                        // The matched line (a pager or a banner) is not output.
                        self.screen.clear_current();
                        self.send(a).await?;
                    }
                    Step::Fail(e) => return Err(e),
                    Step::More => {}
                }
            }
            if self.closed {
                return Err(CollectError::ConnectionLost {
                    target: self.target.clone(),
                    stage: stage.to_owned(),
                    reason: "the device closed the session".into(),
                });
            }
            data = match tokio::time::timeout_at(deadline, self.link.recv()).await {
                Err(_) => {
                    return Err(CollectError::Timeout {
                        target: self.target.clone(),
                        stage: stage.to_owned(),
                        elapsed: timeout,
                    });
                }
                Ok(Ok(Some(data))) => data,
                Ok(Ok(None)) => {
                    self.closed = true;
                    Vec::new()
                }
                Ok(Err(e)) => return Err(e),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counting_prompt_matches_with_any_number_and_others_only_exactly() {
        let set = crate::driver::DriverSet::builtin();
        let exos = set.get("extreme_exos").unwrap();
        assert!(same_prompt("sw1.7 #", "sw1.1 #", &exos));
        assert!(same_prompt("* sw1.12 #", "* sw1.1 #", &exos));
        assert!(!same_prompt("sw2x.7 #", "sw1.1 #", &exos));
        assert!(!same_prompt("sw1.7 >", "sw1.1 #", &exos));
        assert!(!same_prompt("sw1.7", "sw1.1 #", &exos));
        let ios = set.get("cisco_ios").unwrap();
        assert!(same_prompt("r0001#", "r0001#", &ios));
        assert!(!same_prompt("r0002#", "r0001#", &ios));
    }

    #[test]
    fn the_output_tail_keeps_the_last_lines_bounded_across_steps() {
        let mut t = OutputTail::default();
        let first: String = (1..=30).map(|n| format!("line {n}\n\n")).collect();
        t.remember(&first, "");
        assert_eq!(t.lines().count(), OUTPUT_TAIL_LINES);
        assert_eq!(t.lines().next(), Some("line 11"));
        t.remember("second step\n", "R1#");
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), OUTPUT_TAIL_LINES);
        assert_eq!(&lines[OUTPUT_TAIL_LINES - 2..], ["second step", "R1#"]);
        // A long line is cut at a character boundary, whatever its bytes.
        let long = "é".repeat(OUTPUT_TAIL_LINE_BYTES);
        t.remember("", &long);
        let kept = t.lines().last().expect("a line");
        assert!(kept.len() <= OUTPUT_TAIL_LINE_BYTES && kept.starts_with('é'));
    }
}
