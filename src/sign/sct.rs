//! Signed certificate timestamps embedded in Fulcio certificates (RFC 6962 §3): each says a
//! certificate-transparency log promised to publish the precertificate. Checked against the
//! trusted root's CT log keys, over the certificate's signed part without the SCT extension.

use super::der::{self, Reader};
use super::error::VerifyError;
use super::trust::Log;
use super::x509::Certificate;

/// The embedded SCT list extension.
pub const SCT_LIST: &str = "1.3.6.1.4.1.11129.2.4.2";

fn fail(message: &str) -> VerifyError {
    VerifyError::new(message)
}

/// Read a big-endian length of `size` bytes and that many bytes after it.
fn take<'a>(bytes: &mut &'a [u8], size: usize) -> Result<&'a [u8], VerifyError> {
    if bytes.len() < size {
        return Err(fail("the certificate's SCT list is truncated"));
    }
    let length = bytes[..size].iter().fold(0usize, |length, &byte| (length << 8) | byte as usize);
    let rest = &bytes[size..];
    if rest.len() < length {
        return Err(fail("the certificate's SCT list is truncated"));
    }
    *bytes = &rest[length..];
    Ok(&rest[..length])
}

/// Whether one embedded SCT of `certificate`, issued by the holder of `issuer_info` (DER
/// SPKI), verifies with one of `logs`. Errors say why none does.
pub fn verify_embedded(certificate: &Certificate, issuer_info: &[u8], logs: &[Log]) -> Result<(), VerifyError> {
    let value = certificate
        .extension(SCT_LIST)
        .ok_or_else(|| fail("the certificate has no signed certificate timestamp (SCT)"))?;
    let mut list = Reader::new(value)
        .expect(der::OCTET_STRING, "an SCT list")
        .map_err(|_| fail("the certificate's SCT list is not an octet string"))?
        .content;
    let mut entries = take(&mut list, 2)?;
    let precertificate = certificate.tbs_without(SCT_LIST);
    let issuer_key_hash = ring::digest::digest(&ring::digest::SHA256, issuer_info);
    let mut unknown_log = false;
    while !entries.is_empty() {
        let sct = take(&mut entries, 2)?;
        if sct.len() < 1 + 32 + 8 + 2 {
            return Err(fail("an SCT is truncated"));
        }
        let (version, log_id, timestamp) = (sct[0], &sct[1..33], &sct[33..41]);
        let mut rest = &sct[41..];
        let extensions = take(&mut rest, 2)?;
        if rest.len() < 2 {
            return Err(fail("an SCT is truncated"));
        }
        rest = &rest[2..]; // hash and signature algorithms
        let signature = take(&mut rest, 2)?;
        let Some(log) = logs.iter().find(|log| log.id == log_id) else {
            unknown_log = true;
            continue;
        };
        let mut signed = vec![version, 0];
        signed.extend_from_slice(timestamp);
        signed.extend_from_slice(&[0, 1]);
        signed.extend_from_slice(issuer_key_hash.as_ref());
        signed.extend_from_slice(&(precertificate.len() as u32).to_be_bytes()[1..]);
        signed.extend_from_slice(&precertificate);
        signed.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        signed.extend_from_slice(extensions);
        if log.key.verify(log.key.default_hash(), &signed, signature) {
            return Ok(());
        }
    }
    Err(fail(if unknown_log {
        "the certificate's SCTs are from CT logs the trusted root does not name"
    } else {
        "the certificate's SCT does not verify with the trusted root's CT log key"
    }))
}
