//! The TLS client configuration of LDAP connections: rustls with the ring
//! provider chosen explicitly (never the process default, which panics when
//! two providers are compiled in), and either the configured CA file alone
//! or the system's roots.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use rustls::{ClientConfig, RootCertStore};

use crate::IdentityError;

/// A client configuration trusting `ca_file` only when given (a private CA
/// should not be diluted by the public ones), else the system's roots.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, IdentityError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for cert in read_certificates(path)? {
                roots.add(cert).map_err(|e| {
                    IdentityError::Config(format!("CA file {}: {e}", path.display()))
                })?;
            }
        }
        None => {
            // A system store with some unreadable files is still useful;
            // an empty one shows up as an untrusted-certificate error.
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    // ring is in the tree already (russh, the server's listener); its
    // provider lacks post-quantum key exchange, which rustls now flags.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| IdentityError::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The certificates of a PEM file, at least one.
pub(crate) fn read_certificates(
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, IdentityError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        IdentityError::Config(format!("CA file {}: {e}", path.display()))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&e))?;
    if certs.is_empty() {
        return Err(unreadable(&"no PEM certificate in it"));
    }
    Ok(certs)
}
