//! Images read from a Docker daemon, as ggcr's `daemon.Image` does for ko's `ko.local/...`
//! bases: `docker save` streams into a file in the cache, its `manifest.json` and config are
//! read in place, and each layer is gzipped (whatever `docker save` stored: plain tar, gzip or
//! zstd) into a file-backed blob, in one streaming pass per layer. The result is a Docker
//! schema 2 image, the media types ko gives such bases. A record per image ID lets later runs
//! skip the save: only `docker image inspect` is asked.

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::DaemonError;
use super::api::DockerApi;
use super::archive::Archive;
use crate::image::layer::{Compression, compress, set_readable};
use crate::image::{BlobSource, ConfigFile, Descriptor, Digest, Image, Manifest, gojson, media_type};

/// How base layers from the daemon are compressed: ko's (ggcr's) gzip level.
const COMPRESSION: Compression = Compression::Gzip(1);
/// Largest `manifest.json` or config accepted from an archive.
const MAX_DOCUMENT: u64 = 16 << 20;
/// Bump when the record or the blobs it describes change.
const RECORD_VERSION: u32 = 1;

/// What a saved image became in the cache.
#[derive(Serialize, Deserialize)]
struct Record {
    config: Digest,
    layers: Vec<LayerRecord>,
}

#[derive(Serialize, Deserialize)]
struct LayerRecord {
    digest: Digest,
    size: u64,
    diff_id: Digest,
}

/// One image of a `docker save` archive's `manifest.json`.
#[derive(Deserialize)]
struct SavedImage {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

/// The image `name` of the daemon, its blobs in `blobs` (the cache's blob directory).
pub async fn read(api: &DockerApi, name: &str, blobs: &Path) -> Result<Image, DaemonError> {
    let inspect = api.inspect(name).await?;
    let record_path =
        blobs.join(format!("daemon-image-v{RECORD_VERSION}-{}.json", Digest::of(inspect.id.as_bytes()).hex()));
    if let Some(image) = cached(&record_path, blobs) {
        return Ok(image);
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source: io::Error| DaemonError::Io { path, source }
    };
    let archive =
        tempfile::Builder::new().prefix(".daemon-save-").tempfile_in(blobs).map_err(io(blobs))?.into_temp_path();
    api.save(name, &archive).await?;
    let (name, blobs_directory) = (name.to_owned(), blobs.to_owned());
    let record = tokio::task::spawn_blocking(move || unpack(&archive, &name, &blobs_directory))
        .await
        .map_err(|error| DaemonError::Io { path: blobs.to_owned(), source: io::Error::other(error.to_string()) })??;
    let temporary = tempfile::NamedTempFile::new_in(blobs).map_err(io(blobs))?;
    let bytes = serde_json::to_vec(&record).map_err(|error| io(&record_path)(error.into()))?;
    std::fs::write(temporary.path(), bytes).map_err(io(&record_path))?;
    temporary.persist(&record_path).map_err(|error| io(&record_path)(error.error))?;
    image(&record, blobs).map_err(io(blobs))
}

/// The image a record describes, when every blob it names is in the cache.
fn cached(record_path: &Path, blobs: &Path) -> Option<Image> {
    let record: Record = serde_json::from_slice(&std::fs::read(record_path).ok()?).ok()?;
    let complete = record
        .layers
        .iter()
        .all(|layer| std::fs::metadata(blobs.join(layer.digest.hex())).is_ok_and(|file| file.len() == layer.size));
    if !complete {
        return None;
    }
    image(&record, blobs).ok()
}

fn image(record: &Record, blobs: &Path) -> io::Result<Image> {
    let config = std::fs::read(blobs.join(record.config.hex()))?;
    if Digest::of(&config) != record.config {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "the cached config does not match its digest"));
    }
    let manifest = Manifest {
        schema_version: 2,
        media_type: media_type::DOCKER_MANIFEST.into(),
        artifact_type: String::new(),
        config: Descriptor::of_bytes(media_type::DOCKER_CONFIG, &config),
        layers: record
            .layers
            .iter()
            .map(|layer| Descriptor::new(media_type::DOCKER_LAYER_GZIP, layer.size, layer.digest.clone()))
            .collect(),
        annotations: Default::default(),
        subject: None,
    };
    let blobs: Arc<PathBuf> = Arc::new(blobs.to_owned());
    Image::from_parts(gojson::to_vec(&manifest), config, |descriptor| {
        BlobSource::File(blobs.join(descriptor.digest.hex()))
    })
    .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.to_string()))
}

/// Read the saved archive of `name`: its config into the cache, each layer gzipped into it.
fn unpack(archive_path: &Path, name: &str, blobs: &Path) -> Result<Record, DaemonError> {
    let invalid = |message: String| DaemonError::Archive { image: name.to_owned(), message };
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source: io::Error| DaemonError::Io { path, source }
    };
    let archive = Archive::open(archive_path).map_err(|error| invalid(error.to_string()))?;
    let small = |entry: &str| match archive.read_small(entry, MAX_DOCUMENT) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(invalid(format!("it has no `{entry}`"))),
        Err(error) => Err(invalid(format!("`{entry}`: {error}"))),
    };
    let saved: Vec<SavedImage> = serde_json::from_slice(&small("manifest.json")?)
        .map_err(|error| invalid(format!("`manifest.json`: {error}")))?;
    let saved = match saved.as_slice() {
        [one] => one,
        _ => saved
            .iter()
            .find(|image| image.repo_tags.iter().flatten().any(|tag| tag == name))
            .ok_or_else(|| invalid(format!("it holds {} images, none tagged `{name}`", saved.len())))?,
    };
    let config_bytes = small(&saved.config)?;
    let config: ConfigFile =
        serde_json::from_slice(&config_bytes).map_err(|error| invalid(format!("its config: {error}")))?;
    if config.rootfs.diff_ids.len() != saved.layers.len() {
        return Err(invalid(format!(
            "it lists {} layers but its config {} diffIDs",
            saved.layers.len(),
            config.rootfs.diff_ids.len()
        )));
    }
    let mut layers = Vec::new();
    for (entry, diff_id) in saved.layers.iter().zip(&config.rootfs.diff_ids) {
        let reader = archive
            .reader(entry)
            .map_err(|error| invalid(format!("layer `{entry}`: {error}")))?
            .ok_or_else(|| invalid(format!("it has no layer `{entry}`")))?;
        let (written, _) = compress(decompressed(reader).map_err(io(archive_path))?, blobs, COMPRESSION)
            .map_err(|error| invalid(format!("layer `{entry}`: {error}")))?;
        if &written.diff_id != diff_id {
            return Err(invalid(format!(
                "layer `{entry}` has diffID `{}`, its config says `{diff_id}`",
                written.diff_id
            )));
        }
        layers.push(LayerRecord { digest: written.digest, size: written.size, diff_id: written.diff_id });
    }
    let config_digest = Digest::of(&config_bytes);
    let config_path = blobs.join(config_digest.hex());
    let temporary = tempfile::NamedTempFile::new_in(blobs).map_err(io(blobs))?;
    std::fs::write(temporary.path(), &config_bytes).map_err(io(&config_path))?;
    set_readable(temporary.path()).map_err(io(&config_path))?;
    temporary.persist(&config_path).map_err(|error| io(&config_path)(error.error))?;
    Ok(Record { config: config_digest, layers })
}

/// A layer's tar stream, whether `docker save` stored it plain, gzipped or as zstd.
fn decompressed(reader: impl Read + Send + 'static) -> io::Result<Box<dyn Read + Send>> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let head = reader.fill_buf()?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(reader))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(reader)?)
    } else {
        Box::new(reader)
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::image::tar::{Header, TarWriter};

    fn tar_of(name: &str, content: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut tar = TarWriter::new(&mut bytes);
        tar.append(&Header::file(name, 0o644, 0, content.len() as u64), content).unwrap();
        tar.finish().unwrap();
        bytes
    }

    /// A `docker save` archive with one plain and one gzipped layer (as dockerd's containerd
    /// store saves them).
    fn saved(directory: &Path, swap_diff_ids: bool) -> (PathBuf, Vec<Digest>) {
        let plain = tar_of("etc/hostname", b"base\n");
        let inner = tar_of("usr/bin/tool", b"#!/bin/sh\n");
        let mut gzipped = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzipped.write_all(&inner).unwrap();
        let gzipped = gzipped.finish().unwrap();
        let diff_ids = vec![Digest::of(&plain), Digest::of(&inner)];
        let (first, second) = if swap_diff_ids { (1, 0) } else { (0, 1) };
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{}","{}"]}},"config":{{}}}}"#,
            diff_ids[first], diff_ids[second]
        );
        let manifest =
            r#"[{"Config":"config.json","RepoTags":["ko.local/base:v1"],"Layers":["a/layer.tar","b.tar.gz"]}]"#;
        let mut archive = Vec::new();
        let mut tar = TarWriter::new(&mut archive);
        for (name, content) in [
            ("manifest.json", manifest.as_bytes()),
            ("config.json", config.as_bytes()),
            ("a/layer.tar", &plain[..]),
            ("b.tar.gz", &gzipped[..]),
        ] {
            tar.append(&Header::file(name, 0o644, 0, content.len() as u64), content).unwrap();
        }
        tar.finish().unwrap();
        let path = directory.join("save.tar");
        std::fs::write(&path, archive).unwrap();
        (path, diff_ids)
    }

    #[test]
    fn saved_layers_become_gzip_blobs_of_a_docker_image() {
        let directory = tempfile::tempdir().unwrap();
        let (archive, diff_ids) = saved(directory.path(), false);
        let blobs = directory.path().join("blobs");
        std::fs::create_dir(&blobs).unwrap();
        let record = unpack(&archive, "ko.local/base:v1", &blobs).unwrap();
        let image = image(&record, &blobs).unwrap();
        assert_eq!(image.media_type(), media_type::DOCKER_MANIFEST);
        assert_eq!(image.manifest().config.media_type, media_type::DOCKER_CONFIG);
        for (layer, diff_id) in image.layers().iter().zip(&diff_ids) {
            assert_eq!(layer.descriptor.media_type, media_type::DOCKER_LAYER_GZIP);
            assert_eq!(&layer.diff_id, diff_id);
            let BlobSource::File(path) = &layer.source else { panic!("{:?}", layer.source) };
            let compressed = std::fs::read(path).unwrap();
            assert_eq!(Digest::of(&compressed), layer.descriptor.digest);
            let mut tar = Vec::new();
            flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut tar).unwrap();
            assert_eq!(&Digest::of(&tar), diff_id);
        }
        // The record is enough while its blobs are there.
        let record_path = directory.path().join("record.json");
        std::fs::write(&record_path, serde_json::to_vec(&record).unwrap()).unwrap();
        assert_eq!(cached(&record_path, &blobs).as_ref().map(Image::digest), Some(image.digest()));
        std::fs::remove_file(blobs.join(record.layers[1].digest.hex())).unwrap();
        assert!(cached(&record_path, &blobs).is_none());
    }

    #[test]
    fn a_layer_that_does_not_match_its_diff_id_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let (path, _) = saved(directory.path(), true);
        let Err(error) = unpack(&path, "ko.local/base:v1", directory.path()) else { panic!("accepted") };
        assert!(error.to_string().contains("diffID"), "{error}");
        assert_eq!(error.kind(), crate::registry::ErrorKind::Invalid);
    }
}
