//! SPDX 2.3 JSON with the content ko writes: the image package (`CONTAINER`, purl), its base
//! (`DESCENDANT_OF`), the main Go module (`CONTAINS`) and each dependency (`DEPENDS_ON`, with
//! version, purl and the go.sum hash), and for an index one package per platform image
//! (`VARIANT_OF` the index). Deterministic: the same image gives the same bytes.

use serde_json::{Value, json};

use super::facts::{self, ImageFacts};
use crate::image::{Digest, Index};

fn spdx_id(text: &str) -> String {
    let cleaned: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
    format!("SPDXRef-Package-{cleaned}")
}

fn image_id(digest: &Digest) -> String {
    spdx_id(&format!("sha256-{}", digest.hex()))
}

/// A package; `versionInfo` only when the version is known.
fn package(id: &str, name: &str, version: Option<&str>, download: &str, purl: &str) -> Value {
    let mut package = json!({
        "SPDXID": id,
        "name": name,
        "filesAnalyzed": false,
        "licenseDeclared": "NOASSERTION",
        "licenseConcluded": "NOASSERTION",
        "downloadLocation": download,
        "copyrightText": "NOASSERTION",
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}],
    });
    if let Some(version) = version {
        package["versionInfo"] = json!(version);
    }
    package
}

/// What a GOPATH build's main package says about its missing dependencies.
const GOPATH_COMMENT: &str =
    "built in GOPATH mode (GO111MODULE=off): the binary records no modules, so its dependencies are not listed";

fn relationship(element: &str, kind: &str, related: &str) -> Value {
    json!({"spdxElementId": element, "relationshipType": kind, "relatedSpdxElement": related})
}

fn document(
    digest: &Digest,
    created: &str,
    describes: &str,
    packages: Vec<Value>,
    relationships: Vec<Value>,
) -> Vec<u8> {
    let mut all_relationships = vec![relationship("SPDXRef-DOCUMENT", "DESCRIBES", describes)];
    all_relationships.extend(relationships);
    let document = json!({
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("sbom-{digest}"),
        "spdxVersion": "SPDX-2.3",
        "creationInfo": {"created": created, "creators": [format!("Tool: rko {}", facts::TOOL_VERSION)]},
        "dataLicense": "CC0-1.0",
        "documentNamespace": format!("http://spdx.org/spdxdocs/rko/{digest}"),
        "documentDescribes": [describes],
        "packages": packages,
        "relationships": all_relationships,
    });
    let mut bytes = serde_json::to_vec_pretty(&document).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The SPDX document of one image.
pub fn image_document(facts: &ImageFacts<'_>) -> Vec<u8> {
    let digest = facts.digest();
    let image = image_id(digest);
    let mut image_package = package(&image, digest.as_str(), Some(digest.as_str()), "NOASSERTION", &facts.purl());
    image_package["primaryPackagePurpose"] = json!("CONTAINER");
    let mut packages = vec![image_package];
    let mut relationships = Vec::new();
    if let Some((name, base_digest)) = facts.base()
        && let Ok(base_digest) = base_digest.parse::<Digest>()
    {
        let base = spdx_id(&format!("base-sha256-{}", base_digest.hex()));
        let mut base_package =
            package(&base, name, Some(base_digest.as_str()), "NOASSERTION", &facts::base_purl(name, &base_digest));
        base_package["primaryPackagePurpose"] = json!("CONTAINER");
        packages.push(base_package);
        relationships.push(relationship(&image, "DESCENDANT_OF", &base));
        for contained in facts.base_packages() {
            let id = spdx_id(&format!("base-{}-{}", contained.name, contained.version));
            let mut entry = package(&id, contained.name, Some(contained.version), "NOASSERTION", contained.purl);
            entry["licenseDeclared"] = json!(contained.license);
            entry["description"] = json!(contained.description);
            packages.push(entry);
            relationships.push(relationship(&base, "CONTAINS", &id));
        }
    }
    if let Some(info) = facts.build_info {
        let components = facts::go_components(info);
        let main = &components.main;
        let main_id = spdx_id(main.path);
        let mut main_package =
            package(&main_id, main.path, main.version, &format!("https://{}", main.path), &main.purl());
        main_package["primaryPackagePurpose"] = json!("APPLICATION");
        if components.gopath {
            main_package["comment"] = json!(GOPATH_COMMENT);
        }
        packages.push(main_package);
        relationships.push(relationship(&image, "CONTAINS", &main_id));
        let mut used = std::collections::HashSet::from([main_id.clone()]);
        for dependency in &components.dependencies {
            // `a/b` and `a-b` clean to one id: number the later ones.
            let base_id = spdx_id(&format!("{}-{}", dependency.path, dependency.version.unwrap_or("devel")));
            let id = (1..)
                .map(|n| if n == 1 { base_id.clone() } else { format!("{base_id}-{n}") })
                .find(|id| !used.contains(id))
                .unwrap_or(base_id);
            used.insert(id.clone());
            let download = dependency.download_location().unwrap_or_else(|| "NOASSERTION".to_owned());
            let mut entry = package(&id, dependency.path, dependency.version, &download, &dependency.purl());
            entry["primaryPackagePurpose"] = json!("LIBRARY");
            if let Some(checksum) = facts::h1_hex(dependency.sum) {
                entry["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": checksum}]);
            }
            packages.push(entry);
            relationships.push(relationship(&main_id, "DEPENDS_ON", &id));
        }
    }
    document(digest, &facts::timestamp(facts.created()), &image, packages, relationships)
}

/// The SPDX document of an index: the index and each platform image.
pub fn index_document(index: &Index) -> Vec<u8> {
    let digest = index.digest();
    let index_id = image_id(digest);
    let mut index_package =
        package(&index_id, digest.as_str(), Some(digest.as_str()), "NOASSERTION", &facts::index_purl(index));
    index_package["primaryPackagePurpose"] = json!("CONTAINER");
    let mut packages = vec![index_package];
    let mut relationships = Vec::new();
    for (child, platform, purl) in facts::index_images(index) {
        let id = image_id(child.digest());
        let mut entry = package(&id, child.digest().as_str(), Some(&platform.to_string()), "NOASSERTION", &purl);
        entry["primaryPackagePurpose"] = json!("CONTAINER");
        packages.push(entry);
        relationships.push(relationship(&id, "VARIANT_OF", &index_id));
    }
    let created = facts::timestamp(facts::index_created(index));
    document(digest, &created, &index_id, packages, relationships)
}
