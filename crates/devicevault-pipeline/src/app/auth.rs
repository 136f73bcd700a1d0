//! Passwords (argon2id) and API tokens (random, stored as SHA-256).

use argon2::Argon2;
use argon2::password_hash::PasswordHasher as _;
use sha2::Digest as _;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("hashing the password failed: {0}")]
pub struct HashError(String);

/// The argon2id PHC string of `password`, with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    verify_password_in(password, hash, &mut Vec::new())
}

/// The largest argon2 working memory a stored hash may ask for (1 GiB);
/// our hashes ask for 19 MiB.
const MAX_BLOCKS: usize = 1 << 20;

/// [`verify_password`] with `memory` as argon2's working memory, grown to
/// the hash's cost once and reused by every later call with the same
/// buffer. A fresh 19 MiB allocation per verification is freed into the
/// allocator's heap, split by smaller allocations, and the next one takes
/// new pages: the login threads keep one buffer each instead.
pub fn verify_password_in(password: &str, hash: &str, memory: &mut Vec<argon2::Block>) -> bool {
    let Ok(parsed) = argon2::PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        argon2::Algorithm::try_from(parsed.algorithm.as_str()),
        parsed
            .version
            .map_or(Ok(argon2::Version::default()), argon2::Version::try_from),
        argon2::Params::try_from(&parsed),
    ) else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        return false;
    }
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let computed = argon2::Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt.as_ref(),
        &mut out,
        &mut memory[..blocks],
    );
    // Every byte compared, whatever differs first.
    computed.is_ok()
        && out.len() == expected.len()
        && out
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The shortest password accepted for an account.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Checks a new password: at least [`MIN_PASSWORD_CHARS`] characters, at
/// most 1,024 bytes (argon2 hashes every byte it is given).
pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.len() > 1024 {
        return Err("at most 1024 bytes".into());
    }
    Ok(())
}

/// A hash no password matches, verified when a user does not exist so
/// that a login takes as long for unknown users as for known ones.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_hex(16)).unwrap_or_default())
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).expect("the OS random source works");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A new API token (40 hex digits, like Django REST framework's).
pub fn new_token() -> String {
    random_hex(20)
}

/// A password for a generated account: 20 characters from an alphabet
/// without look-alikes.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 20];
    getrandom::fill(&mut b).expect("the OS random source works");
    b.iter()
        .map(|x| ALPHABET[usize::from(*x) % ALPHABET.len()] as char)
        .collect()
}

/// Makes a token of `kind` for `user_id`; returns it as lists show it and
/// its secret (the database keeps only the digest).
pub async fn issue_token(
    db: &devicevault_db::Db,
    user_id: i64,
    kind: devicevault_db::TokenKind,
    name: Option<&str>,
    expires_at: Option<devicevault_core::Timestamp>,
) -> Result<(devicevault_db::TokenInfo, String), devicevault_db::DbError> {
    let secret = new_token();
    let digest = token_digest(&secret);
    let info = db
        .add_token(devicevault_db::NewToken {
            user_id,
            digest: &digest,
            kind,
            name,
            expires_at,
        })
        .await?;
    Ok((info, secret))
}

/// What the database keeps of a token.
pub fn token_digest(token: &str) -> String {
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_working_memory_verifies_like_a_fresh_one() {
        let hash = hash_password("correct horse battery").unwrap();
        let mut memory = Vec::new();
        for _ in 0..2 {
            assert!(verify_password_in(
                "correct horse battery",
                &hash,
                &mut memory
            ));
            assert!(!verify_password_in(
                "correct horse batterx",
                &hash,
                &mut memory
            ));
        }
        assert_eq!(memory.len(), argon2::Params::default().block_count());
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password(
            "correct horse battery",
            "not a phc string"
        ));
        let truncated = &hash[..hash.len() - 4];
        assert!(!verify_password("correct horse battery", truncated));
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("s3cret ", &h));
        assert!(!verify_password("s3cret", "not a hash"));
        assert!(!verify_password("anything", dummy_hash()));
    }

    #[test]
    fn tokens_are_random_and_digested() {
        let t = new_token();
        assert_eq!(t.len(), 40);
        assert_ne!(t, new_token());
        assert_eq!(token_digest(&t).len(), 64);
        assert_ne!(token_digest(&t), t);
        assert_eq!(new_password().len(), 20);
    }
}
