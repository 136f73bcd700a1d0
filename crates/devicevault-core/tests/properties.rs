//! Property tests of the path and ref parsers: whatever they accept is safe,
//! whatever they produce parses back to the same value, and no input panics.

use devicevault_core::{BranchName, CommitId, RelPath, StorageBackendKind, StorageRef};
use proptest::prelude::*;

fn segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9 ._@:+=,-]{0,30}".prop_filter("no ..", |s| {
        !s.contains("..")
            && !s.to_ascii_lowercase().starts_with(".git")
            && !s.starts_with(".devicevault-")
    })
}

fn rel_path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..5)
        .prop_map(|v| v.join("/"))
        // `C:` at the start reads as a Windows drive and is refused on purpose.
        .prop_filter("no drive letter", |s| s.as_bytes().get(1) != Some(&b':'))
}

proptest! {
    #[test]
    fn parsing_arbitrary_text_never_panics(s in ".{0,300}") {
        let _ = RelPath::parse(&s);
        let _ = BranchName::parse(&s);
        let _ = CommitId::parse(&s);
        let _ = StorageRef::parse(StorageBackendKind::Git, &s);
        let _ = StorageRef::parse(StorageBackendKind::Fs, &s);
    }

    #[test]
    fn accepted_rel_paths_cannot_escape(s in "[a-zA-Z0-9./\\\\:\x00\x1f -]{0,40}") {
        if let Ok(p) = RelPath::parse(&s) {
            prop_assert!(!p.as_str().starts_with('/'));
            prop_assert!(!p.as_str().contains(".."));
            prop_assert!(!p.as_str().contains('\\'));
            prop_assert!(!p.as_str().chars().any(char::is_control));
            for seg in p.segments() {
                prop_assert!(!seg.is_empty() && seg != ".");
                prop_assert!(!seg.eq_ignore_ascii_case(".git"));
            }
            // Lexically, joining it under a root stays under the root.
            let joined = std::path::Path::new("/root").join(p.as_str());
            let mut depth = 0i32;
            for c in joined.components().skip(2) {
                match c {
                    std::path::Component::Normal(_) => depth += 1,
                    _ => depth -= 1,
                }
                prop_assert!(depth >= 0);
            }
        }
    }

    #[test]
    fn rel_paths_round_trip(s in rel_path()) {
        let p = RelPath::parse(&s).unwrap();
        prop_assert_eq!(p.to_string(), s.clone());
        prop_assert_eq!(RelPath::parse(p.as_str()).unwrap(), p);
    }

    #[test]
    fn git_refs_round_trip(
        branch in "[a-z][a-z0-9_-]{0,10}(/[a-z][a-z0-9_-]{0,10}){0,2}",
        path in rel_path(),
        sha in "[0-9a-f]{40}",
    ) {
        let r = StorageRef::Git {
            branch: BranchName::parse(&branch).unwrap(),
            path: RelPath::parse(&path).unwrap(),
            commit: CommitId::parse(&sha).unwrap(),
        };
        let text = r.to_string();
        prop_assert_eq!(&text, &format!("{branch}:{path}@{sha}"));
        prop_assert_eq!(StorageRef::parse(StorageBackendKind::Git, &text).unwrap(), r);
    }

    #[test]
    fn fs_refs_round_trip(path in rel_path()) {
        let r = StorageRef::parse(StorageBackendKind::Fs, &path).unwrap();
        prop_assert_eq!(r.to_string(), path);
    }

    #[test]
    fn sanitized_labels_are_always_valid_segments(s in ".{0,400}") {
        let seg = RelPath::sanitize_segment(&s);
        prop_assert!(RelPath::parse(&seg).is_ok(), "{:?} -> {:?}", s, seg);
        prop_assert!(!seg.contains('/'));
    }
}
