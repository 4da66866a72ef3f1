//! Key files for key-based signing: cosign's encrypted keys (`ENCRYPTED SIGSTORE PRIVATE KEY`
//! or `ENCRYPTED COSIGN PRIVATE KEY`: scrypt + NaCl secretbox around PKCS#8) and plain PKCS#8
//! PEM; and public keys (`PUBLIC KEY` PEM) for verification.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use serde::Deserialize;

use super::der;
use super::error::SignError;
use super::x509::PublicKey;

#[derive(Deserialize)]
struct Encrypted {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Deserialize)]
struct Kdf {
    name: String,
    params: KdfParameters,
    salt: String,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct KdfParameters {
    N: u64,
    r: u32,
    p: u32,
}

#[derive(Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// The PKCS#8 DER of the private key in `path`, decrypted with `password` when it is one of
/// cosign's encrypted keys.
pub fn load_private_key(path: &Path, password: Option<&str>) -> Result<Vec<u8>, SignError> {
    let shown = path.display().to_string();
    let bad = |message: String| SignError::Key { path: shown.clone(), message };
    let text = std::fs::read_to_string(path).map_err(|error| bad(error.to_string()))?;
    let label = der::first_pem_label(&text).ok_or_else(|| bad("it holds no PEM block".into()))?.to_owned();
    let block =
        der::pem_blocks(&text, &label).into_iter().next().ok_or_else(|| bad("its PEM block is not base64".into()))?;
    match label.as_str() {
        "PRIVATE KEY" => Ok(block),
        "ENCRYPTED SIGSTORE PRIVATE KEY" | "ENCRYPTED COSIGN PRIVATE KEY" => {
            let password =
                password.ok_or_else(|| bad("it is encrypted: set COSIGN_PASSWORD to its password".into()))?;
            decrypt(&block, password).map_err(|message| match message {
                None => SignError::KeyPassword { path: shown.clone() },
                Some(message) => bad(message),
            })
        }
        "EC PRIVATE KEY" => Err(bad(
            "it is a SEC1 `EC PRIVATE KEY`: convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8`"
                .into(),
        )),
        other => Err(bad(format!("a `{other}` PEM block is not a private key rko can use"))),
    }
}

/// Decrypt cosign's JSON envelope; `Err(None)` means the password is wrong.
fn decrypt(json: &[u8], password: &str) -> Result<Vec<u8>, Option<String>> {
    let encrypted: Encrypted = serde_json::from_slice(json).map_err(|error| Some(format!("unreadable: {error}")))?;
    if encrypted.kdf.name != "scrypt" || encrypted.cipher.name != "nacl/secretbox" {
        return Err(Some(format!("unknown encryption `{}` / `{}`", encrypted.kdf.name, encrypted.cipher.name)));
    }
    let decode = |text: &str| STANDARD.decode(text).map_err(|_| Some("a field is not base64".to_owned()));
    let (salt, nonce, ciphertext) =
        (decode(&encrypted.kdf.salt)?, decode(&encrypted.cipher.nonce)?, decode(&encrypted.ciphertext)?);
    let parameters = &encrypted.kdf.params;
    if !parameters.N.is_power_of_two() || parameters.N > 1 << 22 {
        return Err(Some(format!("scrypt N = {} is not a power of two up to 2^22", parameters.N)));
    }
    let log_n = parameters.N.trailing_zeros() as u8;
    let parameters = scrypt::Params::new(log_n, parameters.r, parameters.p, 32)
        .map_err(|error| Some(format!("bad scrypt parameters: {error}")))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password.as_bytes(), &salt, &parameters, &mut key)
        .map_err(|error| Some(format!("scrypt failed: {error}")))?;
    if nonce.len() != 24 {
        return Err(Some("the nonce is not 24 bytes".into()));
    }
    let cipher = XSalsa20Poly1305::new(&key.into());
    cipher.decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice()).map_err(|_| None)
}

/// A `PUBLIC KEY` PEM file (what `cosign generate-key-pair` writes as `cosign.pub`).
pub fn load_public_key(path: &Path) -> Result<PublicKey, SignError> {
    let bad = |message: String| SignError::File { path: path.display().to_string(), what: "public key", message };
    let text = std::fs::read_to_string(path).map_err(|error| bad(error.to_string()))?;
    let block = der::pem_blocks(&text, "PUBLIC KEY")
        .into_iter()
        .next()
        .ok_or_else(|| bad("no `PUBLIC KEY` PEM block".into()))?;
    PublicKey::from_info(&block).map_err(|error| bad(format!("expected {}", error.0)))
}
