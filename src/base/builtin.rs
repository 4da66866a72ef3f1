//! rko's built-in base: a small static image (root, nobody and nonroot users and groups, a CA
//! bundle, `/tmp`, time-zone data Go can read), the same bytes on every machine, for every
//! platform Go cross-compiles to on Linux. Its one layer is generated from assets embedded in
//! the binary into the cache once, then reused; configs and manifests are built in memory.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::zip;
use crate::build::{Base, BaseError, BaseSource, ImportPath};
use crate::image::config::{Config, History, RootFs};
use crate::image::gotime::Time;
use crate::image::layer::{Compression, LayerWriter};
use crate::image::tar::Header;
use crate::image::{
    BlobSource, ChildImages, ConfigFile, Descriptor, Digest, Image, ImageOrIndex, IndexManifest, Layer, LazyIndex,
    Manifest, Platform, gojson, media_type,
};

/// The name users give (`defaultBaseImage: builtin`) and the `base.name` annotation it gets.
pub const BUILTIN_NAME: &str = "builtin";
/// The empty base.
pub const SCRATCH_NAME: &str = "scratch";

const CA_BUNDLE: &[u8] = include_bytes!("../../assets/base/ca-certificates.crt");
const ZONEINFO: &[u8] = include_bytes!("../../assets/base/zoneinfo.zip");
/// Bump when the layer's content or layout changes, so caches regenerate it.
const LAYER_VERSION: u32 = 1;

const PASSWD: &str = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n";
const NSSWITCH: &str = "hosts: files dns\n";
const OS_RELEASE: &str = "NAME=\"rko static\"\nID=rko-static\nPRETTY_NAME=\"rko built-in static base\"\nHOME_URL=\"https://github.com/rko-build/rko\"\n";
const NONROOT: u32 = 65532;

/// A package inside the built-in base, for SBOMs.
#[derive(Clone, Copy, Debug)]
pub struct BasePackage {
    pub name: &'static str,
    pub version: &'static str,
    pub purl: &'static str,
    /// An SPDX license expression.
    pub license: &'static str,
    pub description: &'static str,
}

/// What the built-in base contains besides its users, groups and directories.
pub const PACKAGES: [BasePackage; 2] = [
    BasePackage {
        name: "ca-certificates",
        version: "20230311+deb12u1",
        purl: "pkg:deb/debian/ca-certificates@20230311%2Bdeb12u1?arch=all&distro=debian-12",
        license: "MPL-2.0",
        description: "Mozilla's CA certificate bundle as Debian 12 ships it, at /etc/ssl/certs/ca-certificates.crt",
    },
    BasePackage {
        name: "tzdata",
        version: "2026c",
        purl: "pkg:generic/tzdata@2026c?download_url=https://data.iana.org/time-zones/releases/tzdata2026c.tar.gz",
        license: "NOASSERTION",
        description: "IANA time-zone database 2026c as compiled in Go 1.27.3's zoneinfo.zip, at /usr/share/zoneinfo",
    },
];

/// The platforms the built-in base (and `scratch`) provide for `--platform=all`, in index order.
pub fn platforms() -> Vec<Platform> {
    [
        ("amd64", ""),
        ("arm64", "v8"),
        ("arm", "v7"),
        ("arm", "v6"),
        ("386", ""),
        ("ppc64le", ""),
        ("s390x", ""),
        ("riscv64", ""),
    ]
    .iter()
    .map(|(architecture, variant)| Platform::new("linux", architecture, variant))
    .collect()
}

/// A synthetic base index (built-in or scratch) with its images in memory.
pub struct SyntheticBase {
    name: &'static str,
    manifest: IndexManifest,
    digest: Digest,
    images: BTreeMap<Digest, Arc<Image>>,
}

#[derive(Serialize, Deserialize)]
struct LayerRecord {
    digest: Digest,
    size: u64,
    diff_id: Digest,
}

impl SyntheticBase {
    /// The built-in base for `platforms` (Linux only); its layer is written into `blobs` (the
    /// cache) on first use.
    pub fn builtin(blobs: &Path, platforms: Vec<Platform>) -> io::Result<SyntheticBase> {
        let layer = builtin_layer(blobs)?;
        let config = Config {
            env: vec![
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
                "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt".into(),
            ],
            user: NONROOT.to_string(),
            working_dir: "/home/nonroot".into(),
            ..Config::default()
        };
        let history = History { created_by: "rko built-in static base".into(), ..History::default() };
        Ok(SyntheticBase::assemble(BUILTIN_NAME, platforms, vec![layer], config, vec![history]))
    }

    /// The empty base for `platforms`: no layers, no settings.
    pub fn scratch(platforms: Vec<Platform>) -> SyntheticBase {
        SyntheticBase::assemble(SCRATCH_NAME, platforms, Vec::new(), Config::default(), Vec::new())
    }

    fn assemble(
        name: &'static str,
        platforms: Vec<Platform>,
        layers: Vec<Layer>,
        config: Config,
        history: Vec<History>,
    ) -> SyntheticBase {
        let mut images = BTreeMap::new();
        let mut descriptors = Vec::new();
        let template = Manifest {
            schema_version: 2,
            media_type: media_type::OCI_MANIFEST.into(),
            artifact_type: String::new(),
            config: Descriptor::new(media_type::OCI_CONFIG, 0, Digest::of(b"")),
            layers: Vec::new(),
            annotations: BTreeMap::new(),
            subject: None,
        };
        for platform in platforms {
            let config_file = ConfigFile {
                os_version: platform.os_version.clone(),
                architecture: platform.architecture.clone(),
                created: Time::ZERO,
                history: history.clone(),
                os: platform.os.clone(),
                rootfs: RootFs {
                    kind: "layers".into(),
                    diff_ids: layers.iter().map(|layer| layer.diff_id.clone()).collect(),
                },
                config: config.clone(),
                variant: platform.variant.clone(),
                ..ConfigFile::default()
            };
            // The inputs are consistent by construction (one diffID per layer).
            let Ok(image) = Image::assemble(&template, config_file, layers.clone()) else { continue };
            descriptors.push(Descriptor { platform: Some(platform), ..image.descriptor() });
            images.insert(image.digest().clone(), Arc::new(image));
        }
        let manifest = IndexManifest::new(media_type::OCI_INDEX, descriptors);
        let digest = Digest::of(&gojson::to_vec(&manifest));
        SyntheticBase { name, manifest, digest, images }
    }

    pub fn base(self: &Arc<Self>) -> Base {
        let index = LazyIndex::new(self.manifest.clone(), self.digest.clone(), self.clone());
        Base { name: self.name.to_owned(), root: ImageOrIndex::Index(index) }
    }

    pub fn digest(&self) -> &Digest {
        &self.digest
    }
}

#[async_trait]
impl ChildImages for SyntheticBase {
    type Error = BaseError;

    async fn image(&self, descriptor: &Descriptor) -> Result<Arc<Image>, BaseError> {
        self.images
            .get(&descriptor.digest)
            .cloned()
            .ok_or_else(|| BaseError::MissingChild { base: self.name.to_owned(), digest: descriptor.digest.clone() })
    }
}

#[async_trait]
impl BaseSource for Arc<SyntheticBase> {
    async fn base(&self, _: &ImportPath) -> Result<Base, BaseError> {
        Ok(SyntheticBase::base(self))
    }
}

/// The built-in layer: reuse the cached blob when its record and file agree, else write it.
fn builtin_layer(blobs: &Path) -> io::Result<Layer> {
    let record_path: PathBuf =
        blobs.join(format!("builtin-base-v{LAYER_VERSION}-{}.json", &Digest::of(ZONEINFO).hex()[..12]));
    let cached = std::fs::read(&record_path).ok().and_then(|bytes| serde_json::from_slice::<LayerRecord>(&bytes).ok());
    let record = match cached {
        Some(record) if std::fs::metadata(blobs.join(record.digest.hex())).is_ok_and(|m| m.len() == record.size) => {
            record
        }
        _ => {
            let record = write_builtin_layer(blobs)?;
            let temporary = tempfile::NamedTempFile::new_in(blobs)?;
            std::fs::write(temporary.path(), serde_json::to_vec(&record)?)?;
            temporary.persist(&record_path).map_err(|error| error.error)?;
            record
        }
    };
    Ok(Layer {
        descriptor: Descriptor::new(media_type::OCI_LAYER_GZIP, record.size, record.digest.clone()),
        diff_id: record.diff_id,
        source: BlobSource::File(blobs.join(record.digest.hex())),
    })
}

fn write_builtin_layer(blobs: &Path) -> io::Result<LayerRecord> {
    let zoneinfo = zip::entries(ZONEINFO).map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
    let mut writer = LayerWriter::create(blobs, Compression::GzipStream(9))?;
    let tar = writer.tar();
    let directory = |name: &str, mode: u32| Header::directory(name, mode, 0);
    for (name, mode) in [("etc/", 0o755), ("etc/ssl/", 0o755), ("etc/ssl/certs/", 0o755), ("home/", 0o755)] {
        tar.append_empty(&directory(name, mode))?;
    }
    let mut home = directory("home/nonroot/", 0o700);
    (home.uid, home.gid) = (NONROOT, NONROOT);
    tar.append_empty(&home)?;
    tar.append_empty(&directory("root/", 0o700))?;
    tar.append_empty(&directory("tmp/", 0o1777))?;
    for name in ["usr/", "usr/share/", "usr/share/zoneinfo/"] {
        tar.append_empty(&directory(name, 0o755))?;
    }
    let files: [(&str, &[u8]); 5] = [
        ("etc/group", GROUP.as_bytes()),
        ("etc/nsswitch.conf", NSSWITCH.as_bytes()),
        ("etc/os-release", OS_RELEASE.as_bytes()),
        ("etc/passwd", PASSWD.as_bytes()),
        ("etc/ssl/certs/ca-certificates.crt", CA_BUNDLE),
    ];
    for (name, content) in files {
        tar.append(&Header::file(name, 0o644, 0, content.len() as u64), content)?;
    }
    let mut written_directories = std::collections::BTreeSet::new();
    let mut entries: Vec<_> = zoneinfo.iter().collect();
    entries.sort_by_key(|entry| entry.name);
    for entry in entries {
        let mut parent = String::from("usr/share/zoneinfo/");
        let parts: Vec<&str> = entry.name.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            parent.push_str(part);
            parent.push('/');
            if written_directories.insert(parent.clone()) {
                tar.append_empty(&directory(&parent, 0o755))?;
            }
        }
        let name = format!("usr/share/zoneinfo/{}", entry.name);
        tar.append(&Header::file(&name, 0o644, 0, entry.data.len() as u64), entry.data)?;
    }
    let (written, _) = writer.finish(blobs)?;
    Ok(LayerRecord { digest: written.digest, size: written.size, diff_id: written.diff_id })
}
