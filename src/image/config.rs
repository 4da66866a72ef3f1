//! The image configuration (`ConfigFile`), field for field as go-containerregistry models it.
//! ko decodes the base config into this shape and re-encodes it, which drops unknown fields and
//! fixes the key order; doing the same gives ko's config bytes. Depends only on `image`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::digest::Digest;
use super::gotime::Time;
use super::platform::Platform;
use super::serde_util::{Empty, nullable};

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFile {
    #[serde(default, deserialize_with = "nullable")]
    pub architecture: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub container: String,
    #[serde(default)]
    pub created: Time,
    #[serde(
        rename = "docker_version",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub docker_version: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    #[serde(default, deserialize_with = "nullable")]
    pub os: String,
    #[serde(default, deserialize_with = "nullable")]
    pub rootfs: RootFs,
    #[serde(default, deserialize_with = "nullable")]
    pub config: Config,
    #[serde(rename = "os.version", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub os_version: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(rename = "os.features", default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
}

impl ConfigFile {
    /// The platform the config declares (ggcr's `ConfigFile.Platform`).
    pub fn platform(&self) -> Platform {
        Platform {
            architecture: self.architecture.clone(),
            os: self.os.clone(),
            os_version: self.os_version.clone(),
            os_features: self.os_features.clone(),
            variant: self.variant.clone(),
            features: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default)]
    pub created: Time,
    #[serde(rename = "created_by", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(rename = "empty_layer", default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub empty_layer: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(rename = "diff_ids", default, deserialize_with = "nullable")]
    pub diff_ids: Vec<Digest>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub interval: i64,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub timeout: i64,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub start_period: i64,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub retries: i64,
}

/// The runtime part of the config (`config` key), with Docker's capitalised key names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Config {
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub attach_stderr: bool,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub attach_stdin: bool,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub attach_stdout: bool,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub domainname: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub image: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub on_build: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub open_stdin: bool,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub stdin_once: bool,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub tty: bool,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Empty>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, Empty>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub args_escaped: bool,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub network_disabled: bool,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub stop_signal: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub shell: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::gojson;

    #[test]
    fn reencoding_keeps_ggcr_order_and_drops_unknown_fields() {
        let base = r#"{"os":"linux","architecture":"amd64","rootfs":{"diff_ids":["sha256:84ff92691f909a05b224e1c56abb4864f01b4f8e3c854e4bb4c7baf1d3f6d652"],"type":"layers"},
            "config":{"Env":["PATH=/usr/bin"],"Cmd":null,"Labels":{"b":"2","a":"1"},"ExposedPorts":{"80/tcp":{}}},
            "container_config":{"Hostname":"x"},"created":"2024-01-01T00:00:00.500Z","history":[{"created":"0001-01-01T00:00:00Z","created_by":"x"}]}"#;
        let config: ConfigFile = serde_json::from_str(base).unwrap();
        assert_eq!(
            String::from_utf8(gojson::to_vec(&config)).unwrap(),
            concat!(
                r#"{"architecture":"amd64","created":"2024-01-01T00:00:00.5Z","history":[{"created":"0001-01-01T00:00:00Z","created_by":"x"}],"#,
                r#""os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:84ff92691f909a05b224e1c56abb4864f01b4f8e3c854e4bb4c7baf1d3f6d652"]},"#,
                r#""config":{"Env":["PATH=/usr/bin"],"Labels":{"a":"1","b":"2"},"ExposedPorts":{"80/tcp":{}}}}"#
            )
        );
    }
}
