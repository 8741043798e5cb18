//! PEM files a setting names (CA bundles, client certificates, private keys): read once and
//! checked for what the setting needs, with the reason in words that follow the file's name.
//!
//! Every backend (Postgres, Redis, S3, kube) and `sitrep check` read their PEM files here, so a
//! file one of them accepts is a file each of them would, and the reasons read the same.

use std::path::Path;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The usual fix for a file that should hold certificates.
pub const CERTIFICATES_FIX: &str = "give PEM certificates (-----BEGIN CERTIFICATE-----)";
/// The usual fix for a file that should hold a private key.
pub const KEY_FIX: &str = "give an unencrypted PEM key (openssl pkey -in key.pem -out plain.pem)";

/// Why a PEM file cannot be used for what its setting needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemDefect {
    #[error("cannot be read ({0})")]
    Unreadable(String),
    #[error("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate,
    #[error("is not PEM certificates ({0})")]
    NotCertificates(String),
    #[error("holds a certificate that cannot be a trusted root ({0})")]
    NotRoot(String),
    #[error("holds no PEM private key ({0})")]
    NoKey(String),
}

/// A file of one or more PEM certificates: its bytes (as some clients want them) and the parsed chain.
#[derive(Debug, Clone)]
pub struct Certificates {
    pub bytes: Vec<u8>,
    pub chain: Vec<CertificateDer<'static>>,
}

/// The file's bytes.
pub fn read(path: &Path) -> Result<Vec<u8>, PemDefect> {
    std::fs::read(path).map_err(|e| PemDefect::Unreadable(e.to_string()))
}

/// At least one PEM certificate.
pub fn certificates(path: &Path) -> Result<Certificates, PemDefect> {
    let bytes = read(path)?;
    let chain =
        CertificateDer::pem_slice_iter(&bytes).collect::<Result<Vec<_>, _>>().map_err(|e| PemDefect::NotCertificates(e.to_string()))?;
    if chain.is_empty() {
        return Err(PemDefect::NoCertificate);
    }
    Ok(Certificates { bytes, chain })
}

/// A CA bundle: certificates each usable as a trusted root.
pub fn roots(path: &Path) -> Result<(Certificates, RootCertStore), PemDefect> {
    let found = certificates(path)?;
    let mut store = RootCertStore::empty();
    for cert in &found.chain {
        store.add(cert.clone()).map_err(|e| PemDefect::NotRoot(e.to_string()))?;
    }
    Ok((found, store))
}

/// A PEM private key (PKCS#8, PKCS#1 or SEC1): its bytes and the parsed key.
pub fn private_key(path: &Path) -> Result<(Vec<u8>, PrivateKeyDer<'static>), PemDefect> {
    let bytes = read(path)?;
    let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| PemDefect::NoKey(e.to_string()))?;
    Ok((bytes, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn each_defect_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        assert!(matches!(certificates(&missing), Err(PemDefect::Unreadable(_))));
        let empty = file(&dir, "empty.pem", "");
        assert_eq!(certificates(&empty).err(), Some(PemDefect::NoCertificate));
        let garbage = file(&dir, "garbage.pem", "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n");
        assert!(matches!(certificates(&garbage), Err(PemDefect::NotCertificates(_))), "{:?}", certificates(&garbage).err());
        assert!(matches!(private_key(&empty), Err(PemDefect::NoKey(_))));
        let words = PemDefect::NoCertificate.to_string();
        assert!(words.contains("BEGIN CERTIFICATE"), "{words}");
    }

    #[test]
    fn a_certificate_that_is_not_a_ca_is_still_read_as_certificates() {
        // Not DER at all inside valid PEM armour: parsed as PEM, refused as a root.
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = file(&dir, "fake.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let read = certificates(&fake).expect("PEM armour with base64 inside is certificates to the PEM reader");
        assert_eq!(read.chain.len(), 1);
        assert!(matches!(roots(&fake), Err(PemDefect::NotRoot(_))), "{:?}", roots(&fake).err());
    }
}
