//! ko's image assembly: append the kodata and binary layers to a base image and edit the config
//! exactly as ko's `buildOne` does (entrypoint, cleared `Cmd`, `PATH`, `KO_DATA_PATH`, author,
//! history, labels, user, `created`), keeping the base's manifest family and annotations.
//! Depends on `image` only.

use std::collections::BTreeMap;

use super::layers::{APP_DIRECTORY, KODATA_ROOT};
use crate::image::artifact::ImageError;
use crate::image::config::History;
use crate::image::gotime::Time;
use crate::image::layer::WrittenLayer;
use crate::image::{BlobSource, Descriptor, Image, Layer};

/// ko's fixed `author`.
pub const AUTHOR: &str = "github.com/ko-build/ko";

/// The per-image choices that go into the config and manifest.
#[derive(Clone, Debug, Default)]
pub struct ImageSettings {
    /// `SOURCE_DATE_EPOCH`: config `created` and binary history time.
    pub creation_time: Option<Time>,
    /// `KO_DATA_DATE_EPOCH`: kodata history time.
    pub kodata_time: Option<Time>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub user: Option<String>,
}

/// A layer written to a file, ready to append.
pub struct NewLayer {
    pub written: WrittenLayer,
    pub path: std::path::PathBuf,
}

/// The two layers ko appends, and their media type (gzip or zstd, OCI or Docker).
pub struct AppLayers<'a> {
    pub media_type: &'a str,
    pub kodata: NewLayer,
    pub binary: NewLayer,
}

/// Append the two layers to `base` and produce ko's image for `import_path`.
pub fn assemble(
    base: &Image,
    import_path: &str,
    app_name: &str,
    windows: bool,
    new_layers: AppLayers<'_>,
    settings: &ImageSettings,
) -> Result<Image, ImageError> {
    let AppLayers { media_type: layer_type, kodata, binary } = new_layers;
    let created_by = format!("ko build ko://{import_path}");
    let app_path = format!("{APP_DIRECTORY}/{app_name}");
    let mut config = base.config().clone();
    let mut layers = base.layers().to_vec();
    for (new, history) in [
        (
            kodata,
            History {
                author: "ko".into(),
                created: settings.kodata_time.unwrap_or(Time::ZERO),
                created_by: created_by.clone(),
                comment: "kodata contents, at $KO_DATA_PATH".into(),
                empty_layer: false,
            },
        ),
        (
            binary,
            History {
                author: "ko".into(),
                created: settings.creation_time.unwrap_or(Time::ZERO),
                created_by: created_by.clone(),
                comment: format!("go build output, at {app_path}"),
                empty_layer: false,
            },
        ),
    ] {
        config.rootfs.diff_ids.push(new.written.diff_id.clone());
        config.history.push(history);
        layers.push(Layer {
            descriptor: Descriptor::new(layer_type, new.written.size, new.written.digest),
            diff_id: new.written.diff_id,
            source: BlobSource::File(new.path),
        });
    }
    if windows {
        config.config.entrypoint = vec![format!("C:\\ko-app\\{app_name}")];
        update_path(&mut config.config.env, "C:\\ko-app", ';');
        config.config.env.push("KO_DATA_PATH=C:\\var\\run\\ko".into());
    } else {
        config.config.entrypoint = vec![app_path];
        update_path(&mut config.config.env, APP_DIRECTORY, ':');
        config.config.env.push(format!("KO_DATA_PATH={KODATA_ROOT}"));
    }
    config.config.cmd = Vec::new();
    config.author = AUTHOR.into();
    config.config.labels.extend(settings.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(user) = &settings.user {
        config.config.user = user.clone();
    }
    if let Some(created) = settings.creation_time {
        config.created = created;
    }
    let mut template = base.manifest().clone();
    template.config.data = None;
    template.annotations.extend(settings.annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
    Image::assemble(&template, config, layers)
}

/// ko's `updatePath`: append to the first `PATH=`, or add `PATH=<dir>`. Windows separates
/// `PATH` entries with `;` (ko uses `:` there, which Windows does not understand).
fn update_path(env: &mut Vec<String>, directory: &str, separator: char) {
    for entry in env.iter_mut() {
        let Some((key, value)) = entry.split_once('=') else { continue };
        if key == "PATH" || (separator == ';' && key.eq_ignore_ascii_case("path")) {
            *entry = format!("{key}={value}{separator}{directory}");
            return;
        }
    }
    env.push(format!("PATH={directory}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{ConfigFile, Digest, Manifest, media_type};

    /// The base ko's golden images were built on, reconstructed from ko's own config.
    fn golden_base() -> Image {
        let config: ConfigFile = serde_json::from_str(
            r#"{"architecture":"amd64","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:84ff92691f909a05b224e1c56abb4864f01b4f8e3c854e4bb4c7baf1d3f6d652"]},"config":{}}"#,
        )
        .unwrap();
        let base_layer: Descriptor = serde_json::from_str(
            r#"{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":46,"digest":"sha256:359a251e599d8aea5a03fe5d38e9c35e37d1acc38c851a4a95003140d84b8f90"}"#,
        )
        .unwrap();
        let template = Manifest {
            schema_version: 2,
            media_type: media_type::OCI_MANIFEST.into(),
            artifact_type: String::new(),
            config: Descriptor::new(media_type::OCI_CONFIG, 0, Digest::of(b"")),
            layers: Vec::new(),
            annotations: BTreeMap::new(),
            subject: None,
        };
        let layer =
            Layer { diff_id: config.rootfs.diff_ids[0].clone(), descriptor: base_layer, source: BlobSource::Foreign };
        Image::assemble(&template, config, vec![layer]).unwrap()
    }

    fn new_layer(diff_id: &str, digest: &str, size: u64) -> NewLayer {
        NewLayer {
            written: WrittenLayer {
                digest: digest.parse().unwrap(),
                size,
                diff_id: diff_id.parse().unwrap(),
                uncompressed_size: 0,
            },
            path: "/unused".into(),
        }
    }

    fn golden(variant: &str) -> (String, String) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden").join(variant);
        (
            std::fs::read_to_string(dir.join("config.json")).unwrap(),
            std::fs::read_to_string(dir.join("manifest.json")).unwrap(),
        )
    }

    fn build(settings: &ImageSettings, kodata_diff_id: &str) -> Image {
        let base = golden_base().with_annotations(&BTreeMap::from([
            (
                "org.opencontainers.image.base.digest".into(),
                "sha256:c8c804c0bcf18096b956f7e90816116a1eeca346fb1302dfa1180dc8c5421b51".into(),
            ),
            ("org.opencontainers.image.base.name".into(), "127.0.0.1:5000/goldenbase:latest".into()),
        ]));
        let kodata =
            new_layer(kodata_diff_id, "sha256:5b8fc021f9ea9ad08cd02e43d142eb33ae8d9cb0ad9fbf57c7139e194d1c3d8d", 283);
        let binary = new_layer(
            "sha256:c7f58893265d396d4f7c191861c95f426490a0b9529da756298fea0ee873dc52",
            "sha256:3a41b981b4bd69a407fe6e9834a75d40f1cdac47915905dc68067022d4c056fb",
            1_602_508,
        );
        assemble(
            &base,
            "example.com/golden/cmd/hello",
            "hello",
            false,
            AppLayers { media_type: media_type::OCI_LAYER_GZIP, kodata, binary },
            settings,
        )
        .unwrap()
    }

    #[test]
    fn config_and_manifest_are_kos_bytes() {
        let image =
            build(&ImageSettings::default(), "sha256:fdaf1c1e2b813694bafb37720eb169999c97c2beb54774d4e7938d9ee975a9b9");
        let (config, manifest) = golden("default");
        assert_eq!(String::from_utf8_lossy(image.config_bytes()), config.trim_end());
        assert_eq!(String::from_utf8_lossy(image.manifest_bytes()), manifest.trim_end());
    }

    #[test]
    fn epoch_variant_is_kos_bytes() {
        let settings = ImageSettings {
            creation_time: Some(Time::from_unix(1_700_000_000)),
            kodata_time: Some(Time::from_unix(1_600_000_000)),
            ..ImageSettings::default()
        };
        let image = build(&settings, "sha256:a2a88c818f2a63ec9b4d9f1aae157776f94e9881aa77afed163bdf87b6c690f5");
        let (config, _) = golden("epoch");
        assert_eq!(String::from_utf8_lossy(image.config_bytes()), config.trim_end());
    }

    #[test]
    fn labels_user_and_path_edits() {
        let settings = ImageSettings {
            labels: BTreeMap::from([("team".into(), "<core>".into())]),
            user: Some("1000".into()),
            ..ImageSettings::default()
        };
        let image = build(&settings, "sha256:fdaf1c1e2b813694bafb37720eb169999c97c2beb54774d4e7938d9ee975a9b9");
        let config = String::from_utf8_lossy(image.config_bytes()).into_owned();
        assert!(config.contains(r#""Labels":{"team":"\u003ccore\u003e"},"User":"1000""#), "{config}");
        let mut env = vec!["HOME=/root".to_owned(), "PATH=/usr/bin".to_owned()];
        update_path(&mut env, "/ko-app", ':');
        assert_eq!(env, ["HOME=/root", "PATH=/usr/bin:/ko-app"]);
        let mut windows = vec!["Path=C:\\Windows".to_owned()];
        update_path(&mut windows, "C:\\ko-app", ';');
        assert_eq!(windows, ["Path=C:\\Windows;C:\\ko-app"]);
    }
}
