//! The parts of an X.509 certificate sigstore verification reads: the signed bytes and their
//! ECDSA signature, validity, the public key, the identity (SAN URI or e-mail) and Fulcio's
//! OIDC issuer extension. Parsing only; signature checks go through `ring`.

use ring::signature::{self, UnparsedPublicKey};

use super::der::{self, DerError, Reader};

/// Fulcio's issuer extension (v1, the raw string) and its DER UTF8String successor.
const ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
const ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
const SUBJECT_ALTERNATIVE_NAME: &str = "2.5.29.17";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.2.840.10045.3.1.34";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";

/// An ECDSA public key: its curve and uncompressed point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub curve: Curve,
    pub point: Vec<u8>,
    /// The whole `SubjectPublicKeyInfo`.
    pub info: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl PublicKey {
    /// Parse a DER `SubjectPublicKeyInfo` of an ECDSA P-256 or P-384 key.
    pub fn from_info(info: &[u8]) -> Result<PublicKey, DerError> {
        let mut outer = Reader::new(info);
        let whole = outer.expect(der::SEQUENCE, "a public key info")?;
        let mut sequence = Reader::new(whole.content);
        let mut algorithm = sequence.enter(der::SEQUENCE, "a key algorithm")?;
        if der::oid_text(algorithm.expect(der::OID, "a key algorithm")?.content) != EC_PUBLIC_KEY {
            return Err(DerError("an ECDSA key (the key is of another kind)"));
        }
        let curve = match der::oid_text(algorithm.expect(der::OID, "a curve")?.content).as_str() {
            P256 => Curve::P256,
            P384 => Curve::P384,
            _ => return Err(DerError("a P-256 or P-384 key")),
        };
        let bits = sequence.expect(der::BIT_STRING, "the key's bits")?.content;
        let point = bits.get(1..).ok_or(DerError("the key's bits"))?.to_vec();
        Ok(PublicKey { curve, point, info: whole.whole.to_vec() })
    }

    /// Whether `signature` (ASN.1 DER ECDSA) over `message`, hashed with `hash`, is valid.
    pub fn verify(&self, hash: Hash, message: &[u8], signature: &[u8]) -> bool {
        let algorithm: &dyn signature::VerificationAlgorithm = match (self.curve, hash) {
            (Curve::P256, Hash::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
            (Curve::P256, Hash::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
            (Curve::P384, Hash::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
            (Curve::P384, Hash::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
        };
        UnparsedPublicKey::new(algorithm, &self.point).verify(message, signature).is_ok()
    }

    /// The hash a signature by this key conventionally uses (SHA-384 for P-384).
    pub fn default_hash(&self) -> Hash {
        match self.curve {
            Curve::P256 => Hash::Sha256,
            Curve::P384 => Hash::Sha384,
        }
    }
}

/// A parsed certificate.
#[derive(Clone, Debug)]
pub struct Certificate {
    pub der: Vec<u8>,
    tbs: Vec<u8>,
    signature_hash: Hash,
    signature: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    pub public_key: PublicKey,
    /// SAN URIs and e-mail addresses, in order.
    pub identities: Vec<String>,
    /// Fulcio's OIDC issuer extension, if present.
    pub issuer: Option<String>,
    /// Extensions by dotted OID: the raw `extnValue` content.
    pub extensions: Vec<(String, Vec<u8>)>,
    /// The signed part's fields around the extensions, and each extension's whole encoding:
    /// enough to rebuild the precertificate an SCT signs.
    tbs_before_extensions: Vec<u8>,
    tbs_after_extensions: Vec<u8>,
    extension_encodings: Vec<(String, Vec<u8>)>,
}

impl Certificate {
    pub fn from_der(bytes: &[u8]) -> Result<Certificate, DerError> {
        let mut outer = Reader::new(bytes);
        let certificate = outer.expect(der::SEQUENCE, "a certificate")?;
        let mut parts = Reader::new(certificate.content);
        let tbs = parts.expect(der::SEQUENCE, "the signed part of a certificate")?;
        let mut algorithm = parts.enter(der::SEQUENCE, "a signature algorithm")?;
        let signature_hash = match der::oid_text(algorithm.expect(der::OID, "a signature algorithm")?.content).as_str()
        {
            ECDSA_SHA256 => Hash::Sha256,
            ECDSA_SHA384 => Hash::Sha384,
            _ => return Err(DerError("an ECDSA-signed certificate")),
        };
        let signature = parts.expect(der::BIT_STRING, "a certificate signature")?.content;
        let signature = signature.get(1..).ok_or(DerError("a certificate signature"))?.to_vec();

        let mut fields = Reader::new(tbs.content);
        fields.optional(0xa0)?; // version
        fields.expect(der::INTEGER, "a serial number")?;
        fields.expect(der::SEQUENCE, "the signature algorithm")?;
        fields.expect(der::SEQUENCE, "an issuer name")?;
        let mut validity = fields.enter(der::SEQUENCE, "a validity period")?;
        let not_before = time(validity.next_element()?)?;
        let not_after = time(validity.next_element()?)?;
        fields.expect(der::SEQUENCE, "a subject name")?;
        let public_key = PublicKey::from_info(fields.expect(der::SEQUENCE, "a public key")?.whole)?;
        let mut identities = Vec::new();
        let mut issuer = None;
        let mut extensions = Vec::new();
        let mut extension_encodings = Vec::new();
        let mut tbs_before_extensions = tbs.content[..tbs.content.len() - fields.remaining()].to_vec();
        let mut tbs_after_extensions = Vec::new();
        let mut seen_extensions = false;
        while !fields.is_empty() {
            let element = fields.next_element()?;
            if element.tag != 0xa3 {
                if seen_extensions {
                    tbs_after_extensions.extend_from_slice(element.whole);
                } else {
                    tbs_before_extensions.extend_from_slice(element.whole);
                }
                continue;
            }
            seen_extensions = true;
            let mut list = Reader::new(element.content).enter(der::SEQUENCE, "extensions")?;
            while !list.is_empty() {
                let encoded = list.next_element()?;
                if encoded.tag != der::SEQUENCE {
                    return Err(DerError("an extension"));
                }
                let mut extension = Reader::new(encoded.content);
                let oid = der::oid_text(extension.expect(der::OID, "an extension id")?.content);
                extension.optional(0x01)?; // critical
                let value = extension.expect(der::OCTET_STRING, "an extension value")?.content;
                match oid.as_str() {
                    SUBJECT_ALTERNATIVE_NAME => identities = alternative_names(value)?,
                    ISSUER_V1 if issuer.is_none() => issuer = Some(String::from_utf8_lossy(value).into_owned()),
                    ISSUER_V2 => {
                        let text = Reader::new(value).expect(der::UTF8_STRING, "an issuer string")?.content;
                        issuer = Some(String::from_utf8_lossy(text).into_owned());
                    }
                    _ => {}
                }
                extension_encodings.push((oid.clone(), encoded.whole.to_vec()));
                extensions.push((oid, value.to_vec()));
            }
        }
        Ok(Certificate {
            der: certificate.whole.to_vec(),
            tbs: tbs.whole.to_vec(),
            signature_hash,
            signature,
            not_before,
            not_after,
            public_key,
            identities,
            issuer,
            extensions,
            tbs_before_extensions,
            tbs_after_extensions,
            extension_encodings,
        })
    }

    /// The signed part without the extension `oid`: what a CT log signed for a
    /// precertificate whose final certificate embeds the SCTs in `oid`.
    pub fn tbs_without(&self, oid: &str) -> Vec<u8> {
        let kept: Vec<u8> =
            self.extension_encodings.iter().filter(|(id, _)| id != oid).flat_map(|(_, whole)| whole.clone()).collect();
        let mut content = self.tbs_before_extensions.clone();
        if !kept.is_empty() {
            content.extend(der::encode(0xa3, &der::encode(der::SEQUENCE, &kept)));
        }
        content.extend_from_slice(&self.tbs_after_extensions);
        der::encode(der::SEQUENCE, &content)
    }

    /// The content of extension `oid`, if present.
    pub fn extension(&self, oid: &str) -> Option<&[u8]> {
        self.extensions.iter().find(|(id, _)| id == oid).map(|(_, value)| value.as_slice())
    }

    /// Whether `issuer` signed this certificate.
    pub fn signed_by(&self, issuer: &PublicKey) -> bool {
        issuer.verify(self.signature_hash, &self.tbs, &self.signature)
    }

    /// Whether `at` (Unix seconds) lies within the validity period.
    pub fn valid_at(&self, at: i64) -> bool {
        self.not_before <= at && at <= self.not_after
    }
}

/// The URI and e-mail entries of a `GeneralNames` sequence.
fn alternative_names(value: &[u8]) -> Result<Vec<String>, DerError> {
    let mut names = Reader::new(value).enter(der::SEQUENCE, "alternative names")?;
    let mut out = Vec::new();
    while !names.is_empty() {
        let name = names.next_element()?;
        // [1] rfc822Name, [6] uniformResourceIdentifier (implicit IA5String).
        if name.tag == 0x81 || name.tag == 0x86 {
            out.push(String::from_utf8_lossy(name.content).into_owned());
        }
    }
    Ok(out)
}

/// A UTCTime or GeneralizedTime (`YYMMDDHHMMSSZ` / `YYYYMMDDHHMMSSZ`) as Unix seconds.
fn time(element: der::Element) -> Result<i64, DerError> {
    let text = std::str::from_utf8(element.content).map_err(|_| DerError("a time"))?;
    let digits = text.strip_suffix('Z').ok_or(DerError("a UTC time"))?;
    let (year, rest) = match element.tag {
        der::UTC_TIME if digits.len() == 12 => {
            let year: i64 = digits[..2].parse().map_err(|_| DerError("a time"))?;
            (if year < 50 { 2000 + year } else { 1900 + year }, &digits[2..])
        }
        der::GENERALIZED_TIME if digits.len() == 14 => {
            (digits[..4].parse().map_err(|_| DerError("a time"))?, &digits[4..])
        }
        _ => return Err(DerError("a time")),
    };
    let number = |range: std::ops::Range<usize>| rest[range].parse::<i64>().map_err(|_| DerError("a time"));
    let (month, day, hour, minute, second) =
        (number(0..2)?, number(2..4)?, number(4..6)?, number(6..8)?, number(8..10)?);
    Ok(days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = if year >= 0 { year } else { year - 399 } / 400;
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146097 + day_of_era - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        let element = der::Element { tag: der::UTC_TIME, content: b"260101000000Z", whole: &[] };
        assert_eq!(time(element).unwrap(), 1767225600);
        let element = der::Element { tag: der::GENERALIZED_TIME, content: b"20260101000000Z", whole: &[] };
        assert_eq!(time(element).unwrap(), 1767225600);
    }
}
