//! Matching a typed command line against a platform's command templates the
//! way its parser does: words in order, `<n>` for a number, and on the
//! platforms that allow it, unique abbreviations of each word (`sh run`,
//! `term len 0`).

/// What a command line resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved<'t> {
    /// The template it matched, and the numbers given for its `<n>` words.
    Command(&'t str, Vec<u64>),
    /// A word that abbreviates several commands' words.
    Ambiguous { known: String, word: String },
    /// A word that fits no command (or a command cut short).
    Unknown { known: String, word: String },
}

/// Resolves `line` against `templates`. With `abbreviate`, a word may be any
/// prefix of a template word that no other candidate word (nor, for the
/// first word, any of `other_first_words`, the platform's commands the
/// simulator does not implement) starts with; an exact word always wins.
pub(crate) fn resolve<'t>(
    line: &str,
    templates: &[&'t str],
    abbreviate: bool,
    other_first_words: &[&str],
) -> Resolved<'t> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut candidates: Vec<(&'t str, Vec<&'t str>)> = templates
        .iter()
        .map(|t| (*t, t.split_whitespace().collect()))
        .collect();
    let mut numbers = Vec::new();
    let mut known = String::new();
    for (i, w) in words.iter().enumerate() {
        let fits = |tok: &str| {
            if tok == "<n>" {
                w.parse::<u64>().is_ok()
            } else {
                tok == *w || (abbreviate && tok.starts_with(*w))
            }
        };
        candidates.retain(|(_, toks)| toks.get(i).is_some_and(|t| fits(t)));
        if candidates
            .iter()
            .any(|(_, toks)| toks[i] == *w || toks[i] == "<n>")
        {
            candidates.retain(|(_, toks)| toks[i] == *w || toks[i] == "<n>");
        }
        let mut distinct: Vec<&str> = candidates.iter().map(|(_, toks)| toks[i]).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let unknown = || Resolved::Unknown {
            known: known.clone(),
            word: (*w).to_owned(),
        };
        if distinct.is_empty() {
            return unknown();
        }
        let others = i == 0
            && abbreviate
            && !distinct.contains(w)
            && other_first_words
                .iter()
                .any(|o| o.starts_with(*w) && !distinct.contains(o));
        if distinct.len() > 1 || others {
            return Resolved::Ambiguous {
                known: known.clone(),
                word: (*w).to_owned(),
            };
        }
        if distinct[0] == "<n>" {
            numbers.push(w.parse().unwrap_or_default());
        }
        known.push_str(distinct[0]);
        known.push(' ');
    }
    match candidates
        .iter()
        .find(|(_, toks)| toks.len() == words.len())
    {
        Some((t, _)) => Resolved::Command(t, numbers),
        None => Resolved::Unknown {
            known: known.clone(),
            word: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::personality::CISCO_EXEC_WORDS;

    const IOS: &[&str] = &[
        "show running-config",
        "show version",
        "terminal length <n>",
        "terminal width <n>",
        "enable",
        "exit",
    ];

    #[test]
    fn unique_abbreviations_resolve_like_on_ios() {
        let r = |l| resolve(l, IOS, true, CISCO_EXEC_WORDS);
        assert_eq!(
            r("sh run"),
            Resolved::Command("show running-config", vec![])
        );
        assert_eq!(
            r("term len 0"),
            Resolved::Command("terminal length <n>", vec![0])
        );
        assert_eq!(
            r("term width 512"),
            Resolved::Command("terminal width <n>", vec![512])
        );
        assert_eq!(r("show running-config"), r("sh ru"));
        assert_eq!(r("en"), Resolved::Command("enable", vec![]));
        // `s` is also send, set, setup, ssh...; `te` also telnet.
        assert!(matches!(r("s run"), Resolved::Ambiguous { .. }));
        assert!(matches!(r("te len 0"), Resolved::Ambiguous { .. }));
        assert!(matches!(r("show foo"), Resolved::Unknown { .. }));
        assert!(matches!(r("terminal length"), Resolved::Unknown { .. }));
        assert!(matches!(r("terminal length x"), Resolved::Unknown { .. }));
        // `conf` is a real command the simulator does not implement.
        assert!(matches!(r("conf t"), Resolved::Unknown { .. }));
    }

    #[test]
    fn without_abbreviations_only_whole_words_match() {
        let r = |l| resolve(l, IOS, false, &[]);
        assert_eq!(r("show version"), Resolved::Command("show version", vec![]));
        assert_eq!(
            r("sh ver"),
            Resolved::Unknown {
                known: String::new(),
                word: "sh".into()
            }
        );
        assert_eq!(
            r("show foo"),
            Resolved::Unknown {
                known: "show ".into(),
                word: "foo".into()
            }
        );
    }
}
