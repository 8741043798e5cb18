//! PostgreSQL TLS as libpq does it: the six `sslmode`s, `sslrootcert` (a file or `system`),
//! client certificates, and the rustls configuration (aws-lc-rs) each of them means.

use super::BackendError;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// libpq's `sslmode`, all six of them (tokio-postgres knows only three).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SslMode {
    /// Plain only.
    Disable,
    /// Plain first; TLS if the server refuses the plain connection.
    Allow,
    /// TLS if the server offers it, else plain (libpq's default).
    #[default]
    Prefer,
    /// TLS, the certificate not checked (unless a root certificate is given, then as verify-ca).
    Require,
    /// TLS, the certificate chain checked against the root certificates.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    pub const CHOICES: &'static str = "disable, allow, prefer, require, verify-ca or verify-full";

    pub fn parse(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// Where the trusted root certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// `sslrootcert=system`: the platform's trust store.
    System,
    /// A PEM file of one or more CA certificates.
    File(PathBuf),
}

/// The TLS part of a DSN, after the DSN, the PGSSL* variables and libpq's default files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: Option<RootCert>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl TlsSettings {
    /// libpq's rules on combinations, checked before any connection is tried (and by `sitrep check`).
    pub fn validate(&self) -> Result<(), BackendError> {
        let bad = |key: &str, detail: String, fix: &str| BackendError::BadSetting { input: format!("dsn {key}"), detail, fix: fix.into() };
        if self.mode.verifies() && self.root_cert.is_none() {
            return Err(bad(
                "sslmode",
                format!("sslmode={} needs root certificates to check the server against, and none is given", self.mode.name()),
                "set sslrootcert=/path/to/ca.pem (the CA that signed the server's certificate; RDS: the region's bundle), or sslrootcert=system for a public CA",
            ));
        }
        if self.root_cert == Some(RootCert::System) && !matches!(self.mode, SslMode::VerifyFull) {
            return Err(bad(
                "sslrootcert",
                format!("weak sslmode \"{}\" may not be used with sslrootcert=system", self.mode.name()),
                "use sslmode=verify-full with sslrootcert=system (as libpq requires)",
            ));
        }
        if let Some(RootCert::File(p)) = &self.root_cert {
            exists("sslrootcert", p)?;
        }
        match (&self.cert, &self.key) {
            (Some(c), Some(k)) => {
                exists("sslcert", c)?;
                exists("sslkey", k)?;
            }
            (Some(_), None) => {
                return Err(bad("sslkey", "sslcert is given without sslkey".into(), "set sslkey to the client certificate's private key"));
            }
            (None, Some(_)) => {
                return Err(bad("sslcert", "sslkey is given without sslcert".into(), "set sslcert to the client certificate"));
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// The rustls configuration for these settings; None for `disable`.
    pub fn client_config(&self) -> Result<Option<rustls::ClientConfig>, BackendError> {
        if self.mode == SslMode::Disable {
            return Ok(None);
        }
        self.validate()?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_setup("protocol versions", &e))?;
        let verifier: Arc<dyn ServerCertVerifier> = match &self.root_cert {
            None => Arc::new(Unverified { provider: provider.clone() }),
            Some(root) => {
                let roots = Arc::new(load_roots(root)?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| tls_setup("root certificates", &e))?;
                // libpq: with a root certificate, require (and prefer/allow) check the chain as verify-ca.
                if self.mode == SslMode::VerifyFull { webpki } else { Arc::new(ChainOnly { inner: webpki }) }
            }
        };
        let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
        let config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let certs = load_certs("sslcert", cert)?;
                let (_, key) = super::pem::private_key(key).map_err(|d| pem_setting("sslkey", key, d, super::pem::KEY_FIX))?;
                builder.with_client_auth_cert(certs, key).map_err(|e| tls_setup("sslcert/sslkey", &e))?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(Some(config))
    }
}

fn exists(key: &str, path: &Path) -> Result<(), BackendError> {
    if path.is_file() {
        return Ok(());
    }
    Err(BackendError::BadSetting {
        input: format!("dsn {key} `{}`", path.display()),
        detail: "no such file".into(),
        fix: format!("point {key} at an existing PEM file (or remove it)"),
    })
}

fn tls_setup(what: &str, e: &dyn std::fmt::Display) -> BackendError {
    BackendError::BadSetting { input: format!("TLS {what}"), detail: e.to_string(), fix: "check sslrootcert, sslcert and sslkey".into() }
}

fn load_certs(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, BackendError> {
    super::pem::certificates(path).map(|c| c.chain).map_err(|d| pem_setting(key, path, d, super::pem::CERTIFICATES_FIX))
}

fn pem_setting(key: &str, path: &Path, defect: super::pem::PemDefect, fix: &str) -> BackendError {
    BackendError::BadSetting { input: format!("dsn {key} `{}`", path.display()), detail: defect.to_string(), fix: format!("{key}: {fix}") }
}

fn load_roots(root: &RootCert) -> Result<RootCertStore, BackendError> {
    match root {
        RootCert::File(path) => super::pem::roots(path)
            .map(|(_, store)| store)
            .map_err(|d| pem_setting("sslrootcert", path, d, "give the CA certificate(s) in PEM")),
        RootCert::System => {
            let mut store = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(BackendError::BadSetting {
                    input: "dsn sslrootcert=system".into(),
                    detail: format!("no trusted certificate found in the system store ({} error(s))", found.errors.len()),
                    fix: "install the CA certificates (e.g. the ca-certificates package), or set sslrootcert to a CA file".into(),
                });
            }
            Ok(store)
        }
    }
}

/// `require` without a root certificate: encrypted, the certificate not checked (as libpq), but
/// the handshake signatures still are, so the session is bound to whoever holds the key.
#[derive(Debug)]
struct Unverified {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the host name is not compared. webpki
/// checks the chain before the name, so a name mismatch means the chain was good.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The fix for a TLS failure, from the rustls error somewhere in `e`'s causes.
pub fn tls_fix(e: &(dyn std::error::Error + 'static), host: &str) -> Option<String> {
    super::rustls_cause(e).map(|r| fix_for(r, host))
}

fn fix_for(e: &rustls::Error, host: &str) -> String {
    use rustls::AlertDescription as A;
    match e {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature) => {
            "certificate not trusted: set sslrootcert to the CA file that signed the server's certificate (or sslrootcert=system for a public CA)".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }) => format!(
            "the server's certificate does not name `{host}`: connect by a name the certificate lists, or use sslmode=verify-ca to check the chain only"
        ),
        rustls::Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
            "the server's certificate has expired: renew it on the server".into()
        }
        rustls::Error::AlertReceived(A::CertificateRequired | A::HandshakeFailure | A::BadCertificate | A::UnknownCA) => {
            "the server refused the TLS session: it may want a client certificate (set sslcert and sslkey) signed by a CA it trusts".into()
        }
        _ => "check sslmode, sslrootcert, sslcert and sslkey".into(),
    }
}
