//! The TLS configuration of the registry client: the trusted roots (the system bundle,
//! `SSL_CERT_FILE`, `SSL_CERT_DIR`, each certificate once) and a server-certificate verifier
//! that applies the Web PKI rules, plus the one exception Go, docker, crane and curl make: a
//! certificate that is itself trusted (a self-signed `openssl req -x509` certificate, which is
//! its own CA) is accepted as the server's, for the names it lists. Depends on nothing else in
//! rko but the registry errors.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::RegistryError;

/// Where Linux distributions keep the system's CA bundle (the list Go's crypto/x509 uses).
pub const SYSTEM_BUNDLES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Where trusted roots come from.
#[derive(Clone, Debug, Default)]
pub struct Roots {
    /// Trust the system's CA bundle (the first of [`SYSTEM_BUNDLES`] that exists).
    pub system: bool,
    /// PEM files (`SSL_CERT_FILE`).
    pub files: Vec<PathBuf>,
    /// Directories whose every file is a PEM file (`SSL_CERT_DIR`).
    pub directories: Vec<PathBuf>,
}

/// The certificates of the system bundle, the root files and directories, each once. A bad
/// file named by the user is an error; a certificate of the system bundle that cannot be
/// parsed is skipped (as Go does).
pub fn trusted_roots(roots: &Roots) -> Result<Vec<CertificateDer<'static>>, RegistryError> {
    let system: Option<PathBuf> = SYSTEM_BUNDLES.iter().map(PathBuf::from).find(|path| roots.system && path.is_file());
    let mut files: Vec<(PathBuf, bool)> = system.into_iter().map(|path| (path, false)).collect();
    files.extend(roots.files.iter().map(|path| (path.clone(), true)));
    for directory in &roots.directories {
        let entries = std::fs::read_dir(directory).map_err(|error| RegistryError::Certificate {
            path: directory.display().to_string(),
            message: format!("cannot read SSL_CERT_DIR: {error}"),
        })?;
        let mut listed: Vec<PathBuf> =
            entries.flatten().map(|entry| entry.path()).filter(|path| path.is_file()).collect();
        listed.sort();
        files.extend(listed.into_iter().map(|path| (path, true)));
    }
    let mut seen_files = HashSet::new();
    let mut seen_certificates = HashSet::new();
    let mut certificates = Vec::new();
    for (path, strict) in files {
        if !seen_files.insert(std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone())) {
            continue;
        }
        let certificate_error =
            |message: String| RegistryError::Certificate { path: path.display().to_string(), message };
        let pem = std::fs::read_to_string(&path).map_err(|error| certificate_error(error.to_string()))?;
        for block in pem_blocks(&pem) {
            let der = match decode_block(block) {
                Ok(der) => der,
                Err(message) if strict => return Err(certificate_error(message)),
                Err(_) => continue,
            };
            if webpki::anchor_from_trusted_cert(&der).is_err() {
                if strict {
                    return Err(certificate_error("a certificate in it cannot be parsed".into()));
                }
                continue;
            }
            if seen_certificates.insert(der.as_ref().to_vec()) {
                certificates.push(der);
            }
        }
    }
    Ok(certificates)
}

/// The `CERTIFICATE` blocks of a PEM text, markers included.
fn pem_blocks(pem: &str) -> impl Iterator<Item = &str> {
    let mut rest = pem;
    std::iter::from_fn(move || {
        let start = rest.find(BEGIN)?;
        let length = rest[start..].find(END)? + END.len();
        let block = &rest[start..start + length];
        rest = &rest[start + length..];
        Some(block)
    })
}

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// The DER bytes of one PEM block.
fn decode_block(block: &str) -> Result<CertificateDer<'static>, String> {
    let body: String = block[BEGIN.len()..block.len() - END.len()].split_whitespace().collect();
    let der = STANDARD.decode(body).map_err(|_| "a certificate in it is not valid base64".to_owned())?;
    Ok(CertificateDer::from(der))
}

/// The rustls configuration for the client: `roots`, the verifier, HTTP/2 and HTTP/1.1 ALPN.
/// `insecure` (`--insecure-registry`) accepts any certificate.
pub fn client_config(roots: &Roots, insecure: bool) -> Result<rustls::ClientConfig, RegistryError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let setup = |message: String| RegistryError::Certificate { path: "TLS configuration".into(), message };
    let certificates = trusted_roots(roots)?;
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(certificates.iter().cloned());
    let webpki = if store.is_empty() {
        None
    } else {
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                .build()
                .map_err(|error| setup(error.to_string()))?,
        )
    };
    let verifier = Verifier {
        webpki,
        trusted: certificates.iter().map(|certificate| certificate.as_ref().to_vec()).collect(),
        insecure,
        provider: provider.clone(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| setup(error.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[derive(Debug)]
struct Verifier {
    /// The Web PKI verifier over the trusted roots (`None` when there are none).
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// The DER of every trusted certificate.
    trusted: HashSet<Vec<u8>>,
    insecure: bool,
    provider: Arc<CryptoProvider>,
}

/// Whether the Web PKI refused a certificate only for being a CA. Its validity period was
/// checked before that (webpki checks it first), its name was not.
fn is_ca_used_as_end_entity(error: &rustls::Error) -> bool {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
            matches!(other.0.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity))
        }
        _ => false,
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        let Some(webpki) = &self.webpki else {
            return Err(CertificateError::UnknownIssuer.into());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(error) if is_ca_used_as_end_entity(&error) && self.trusted.contains(end_entity.as_ref()) => {
                // The very certificate is trusted (Go's crypto/x509 accepts a leaf found in the
                // root pool): it must still be valid for the name.
                verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, certificate, signature, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, certificate, signature, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_root_once_and_names_a_bad_file() {
        let directory = tempfile::tempdir().unwrap();
        let bundle =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/base/ca-certificates.crt")).unwrap();
        let first = pem_blocks(&bundle).next().unwrap().to_owned();
        let bundle_path = directory.path().join("bundle.crt");
        std::fs::write(&bundle_path, &bundle).unwrap();
        let certs = directory.path().join("certs");
        std::fs::create_dir(&certs).unwrap();
        // The same certificate again, reformatted, and a symlink to the bundle.
        std::fs::write(certs.join("one.pem"), format!("comment\n{}\n", first.replace('\n', "\r\n"))).unwrap();
        std::os::unix::fs::symlink(&bundle_path, certs.join("link.0")).unwrap();
        let roots = |files: Vec<PathBuf>, directories: Vec<PathBuf>| Roots { system: false, files, directories };
        let certificates = trusted_roots(&roots(vec![bundle_path.clone()], vec![certs.clone()])).unwrap();
        assert_eq!(certificates.len(), pem_blocks(&bundle).count());
        assert!(certificates.len() > 100);
        assert!(client_config(&roots(vec![bundle_path.clone()], Vec::new()), false).is_ok());

        std::fs::write(certs.join("zz-bad.pem"), "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
            .unwrap();
        let error = trusted_roots(&roots(vec![bundle_path], vec![certs.clone()])).unwrap_err().to_string();
        assert!(error.contains("zz-bad.pem"), "{error}");
        let error = trusted_roots(&roots(Vec::new(), vec![directory.path().join("missing")])).unwrap_err().to_string();
        assert!(error.contains("SSL_CERT_DIR") && error.contains("missing"), "{error}");
    }
}
