//! Just enough DER to read X.509 certificates and ECDSA keys and to write the few structures
//! signing needs (a P-256 `SubjectPublicKeyInfo`, PEM armour). Pure byte handling; no I/O.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const UTF8_STRING: u8 = 0x0c;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;

/// One tag-length-value element: its tag, its content and the whole encoding.
#[derive(Clone, Copy, Debug)]
pub struct Element<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub whole: &'a [u8],
}

/// A cursor over consecutive DER elements.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

/// Malformed DER: what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerError(pub &'static str);

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The next element, whatever its tag.
    pub fn next_element(&mut self) -> Result<Element<'a>, DerError> {
        let bytes = self.rest;
        let (&tag, after) = bytes.split_first().ok_or(DerError("an element"))?;
        let (&first, after) = after.split_first().ok_or(DerError("a length"))?;
        let (length, after) = if first < 0x80 {
            (first as usize, after)
        } else {
            let count = (first & 0x7f) as usize;
            if count == 0 || count > 4 || after.len() < count {
                return Err(DerError("a definite length"));
            }
            let length = after[..count].iter().fold(0usize, |length, &byte| (length << 8) | byte as usize);
            (length, &after[count..])
        };
        if after.len() < length {
            return Err(DerError("as many bytes as the length says"));
        }
        let header = bytes.len() - after.len();
        self.rest = &after[length..];
        Ok(Element { tag, content: &after[..length], whole: &bytes[..header + length] })
    }

    /// The next element, which must have `tag`.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> Result<Element<'a>, DerError> {
        let element = self.next_element()?;
        if element.tag != tag {
            return Err(DerError(what));
        }
        Ok(element)
    }

    /// The next element if it has `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Element<'a>>, DerError> {
        match self.rest.first() {
            Some(&next) if next == tag => self.next_element().map(Some),
            _ => Ok(None),
        }
    }

    /// The content of the next element (which must have `tag`), as a reader.
    pub fn enter(&mut self, tag: u8, what: &'static str) -> Result<Reader<'a>, DerError> {
        Ok(Reader::new(self.expect(tag, what)?.content))
    }
}

/// The dotted text of an OID's content bytes (`1.2.840.10045.2.1`).
pub fn oid_text(content: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut value: u64 = 0;
    for (index, &byte) in content.iter().enumerate() {
        value = (value << 7) | (byte & 0x7f) as u64;
        if byte & 0x80 == 0 {
            if parts.is_empty() && index < content.len() {
                let first = (value / 40).min(2);
                parts.push(first);
                parts.push(value - first * 40);
            } else {
                parts.push(value);
            }
            value = 0;
        }
    }
    parts.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
}

/// A DER element of `tag` around `content`.
pub fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = (length as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|&&byte| byte == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// The `SubjectPublicKeyInfo` of an uncompressed P-256 point (65 bytes).
pub fn p256_public_key_info(point: &[u8]) -> Vec<u8> {
    // SEQUENCE { OID ecPublicKey, OID prime256v1 }
    const ALGORITHM: [u8; 21] = [
        0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
        0x03, 0x01, 0x07,
    ];
    let mut bits = vec![0];
    bits.extend_from_slice(point);
    let mut content = ALGORITHM.to_vec();
    content.extend(encode(BIT_STRING, &bits));
    encode(SEQUENCE, &content)
}

/// PEM armour around `der`, 64 columns, with a final newline.
pub fn pem(label: &str, der: &[u8]) -> String {
    let text = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Every block labelled `label` in a PEM text, decoded.
pub fn pem_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let Some(stop) = after.find(&end) else { break };
        let body: String = after[..stop].lines().filter(|line| !line.contains(':')).collect::<String>();
        let body: String = body.split_whitespace().collect();
        if let Ok(bytes) = STANDARD.decode(body) {
            blocks.push(bytes);
        }
        rest = &after[stop + end.len()..];
    }
    blocks
}

/// The label of the first PEM block in `text` (`CERTIFICATE`, `PRIVATE KEY`…).
pub fn first_pem_label(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let end = text[start..].find("-----")?;
    Some(&text[start..start + end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes() {
        let point = [4u8; 65];
        let info = p256_public_key_info(&point);
        let mut outer = Reader::new(&info);
        let mut sequence = outer.enter(SEQUENCE, "spki").unwrap();
        let mut algorithm = sequence.enter(SEQUENCE, "algorithm").unwrap();
        assert_eq!(oid_text(algorithm.expect(OID, "oid").unwrap().content), "1.2.840.10045.2.1");
        assert_eq!(oid_text(algorithm.expect(OID, "oid").unwrap().content), "1.2.840.10045.3.1.7");
        assert_eq!(&sequence.expect(BIT_STRING, "bits").unwrap().content[1..], &point[..]);
        assert!(outer.is_empty());
        let long = encode(OCTET_STRING, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(Reader::new(&long).next_element().unwrap().content.len(), 300);
        let armoured = pem("PUBLIC KEY", &info);
        assert_eq!(pem_blocks(&armoured, "PUBLIC KEY"), vec![info]);
        assert_eq!(first_pem_label(&armoured), Some("PUBLIC KEY"));
        assert!(Reader::new(&[0x30, 0x05, 0x01]).next_element().is_err());
    }
}
