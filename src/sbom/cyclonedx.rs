//! CycloneDX 1.6 JSON with the same facts as the SPDX document: the image as the metadata
//! component, its base, the main Go module and its dependencies (purls, hashes), the built-in
//! base's packages, and the dependency graph. Deterministic: the serial number derives from the
//! image digest and the timestamp from the image config.

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::facts::{self, GoComponent, ImageFacts};
use crate::image::{Digest, Index};

/// A version-5-shaped UUID URN derived from `digest`.
fn serial_number(digest: &Digest) -> String {
    let hash = Sha256::digest(digest.as_str().as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!("urn:uuid:{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn bom(
    digest: &Digest,
    timestamp: &str,
    component: Value,
    components: Vec<Value>,
    dependencies: Vec<Value>,
) -> Vec<u8> {
    let document = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial_number(digest),
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [{"type": "application", "name": "rko", "version": facts::TOOL_VERSION}]},
            "component": component,
        },
        "components": components,
        "dependencies": dependencies,
    });
    let mut bytes = serde_json::to_vec_pretty(&document).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A Go module (or GOPATH package) as a component; `version` only when the build knew it.
fn go_component(kind: &str, component: &GoComponent<'_>) -> Value {
    let purl = component.purl();
    let mut entry = json!({"type": kind, "bom-ref": purl, "name": component.path, "purl": purl});
    if let Some(version) = component.version {
        entry["version"] = json!(version);
    }
    entry
}

/// The CycloneDX document of one image.
pub fn image_document(facts: &ImageFacts<'_>) -> Vec<u8> {
    let digest = facts.digest();
    let image_ref = facts.purl();
    let component = json!({
        "type": "container",
        "bom-ref": image_ref,
        "name": digest.as_str(),
        "version": digest.as_str(),
        "purl": image_ref,
    });
    let mut components = Vec::new();
    let mut image_depends = Vec::new();
    let mut dependencies = Vec::new();
    if let Some((name, base_digest)) = facts.base()
        && let Ok(base_digest) = base_digest.parse::<Digest>()
    {
        let purl = facts::base_purl(name, &base_digest);
        let mut base_contains = Vec::new();
        for contained in facts.base_packages() {
            let mut entry = json!({
                "type": "library",
                "bom-ref": contained.purl,
                "name": contained.name,
                "version": contained.version,
                "description": contained.description,
                "purl": contained.purl,
            });
            if contained.license != "NOASSERTION" {
                entry["licenses"] = json!([{"expression": contained.license}]);
            }
            base_contains.push(entry);
        }
        let mut base =
            json!({"type": "container", "bom-ref": purl, "name": name, "version": base_digest.as_str(), "purl": purl});
        if !base_contains.is_empty() {
            dependencies.push(json!({"ref": purl, "dependsOn": base_contains.iter().map(|c| c["bom-ref"].clone()).collect::<Vec<_>>()}));
            for contained in &base_contains {
                dependencies.push(json!({"ref": contained["bom-ref"], "dependsOn": []}));
            }
            base["components"] = json!(base_contains);
        } else {
            dependencies.push(json!({"ref": purl, "dependsOn": []}));
        }
        components.push(base);
        image_depends.push(json!(purl));
    }
    if let Some(info) = facts.build_info {
        let components_of_binary = facts::go_components(info);
        let main = &components_of_binary.main;
        let main_ref = main.purl();
        let mut main_component = go_component("application", main);
        if components_of_binary.gopath {
            main_component["description"] = json!(
                "built in GOPATH mode (GO111MODULE=off): the binary records no modules, so its dependencies are not listed"
            );
        }
        components.push(main_component);
        image_depends.push(json!(main_ref));
        let mut main_depends = Vec::new();
        for module in &components_of_binary.dependencies {
            let mut entry = go_component("library", module);
            if let Some(hash) = facts::h1_hex(module.sum) {
                entry["hashes"] = json!([{"alg": "SHA-256", "content": hash}]);
            }
            dependencies.push(json!({"ref": entry["bom-ref"], "dependsOn": []}));
            main_depends.push(entry["bom-ref"].clone());
            components.push(entry);
        }
        dependencies.push(json!({"ref": main_ref, "dependsOn": main_depends}));
    }
    dependencies.insert(0, json!({"ref": image_ref, "dependsOn": image_depends}));
    bom(digest, &facts::timestamp(facts.created()), component, components, dependencies)
}

/// The CycloneDX document of an index: the index and each platform image.
pub fn index_document(index: &Index) -> Vec<u8> {
    let digest = index.digest();
    let index_ref = facts::index_purl(index);
    let component = json!({"type": "container", "bom-ref": index_ref, "name": digest.as_str(), "version": digest.as_str(), "purl": index_ref});
    let mut components = Vec::new();
    let mut children = Vec::new();
    for (child, platform, purl) in facts::index_images(index) {
        components.push(json!({
            "type": "container",
            "bom-ref": purl,
            "name": child.digest().as_str(),
            "version": platform.to_string(),
            "purl": purl,
            "properties": [{"name": "oci:platform", "value": platform.to_string()}],
        }));
        children.push(json!(purl));
    }
    let mut dependencies = vec![json!({"ref": index_ref, "dependsOn": children})];
    dependencies.extend(components.iter().map(|c| json!({"ref": c["bom-ref"], "dependsOn": []})));
    bom(digest, &facts::timestamp(facts::index_created(index)), component, components, dependencies)
}
