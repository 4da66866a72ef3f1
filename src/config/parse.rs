//! Parsing `.ko.yaml` text into [`KoConfig`] with ko's leniency: keys are case-insensitive (viper
//! lowercases them), scalars are accepted where lists are expected (`flags: -v -v`), numbers and
//! booleans are read as text. Unknown keys become warnings; type errors carry the line and column.

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{BuildConfig, ConfigError, KoConfig};

/// Parse the text of a config file; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<KoConfig, ConfigError> {
    let raw = match serde_yaml_ng::from_str::<Top>(text) {
        Ok(raw) => raw,
        Err(error) => {
            let (line, column) = error.location().map_or((1, 1), |location| (location.line(), location.column()));
            let message = error.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
            return Err(ConfigError::Invalid { path: path.to_owned(), line, column, message });
        }
    };
    let mut config = raw.config;
    for (scope, key) in raw.unknown {
        let line = text
            .lines()
            .position(|line| {
                let trimmed = line.trim_start().trim_start_matches("- ");
                trimmed.starts_with(&key) && trimmed[key.len()..].trim_start().starts_with(':')
            })
            .map_or(String::new(), |index| format!(":{}", index + 1));
        config.warnings.push(format!(
            "`{}`{line}: unknown key `{scope}{key}` is ignored (check its spelling against ko's `.ko.yaml` reference)",
            path.display()
        ));
    }
    Ok(config)
}

struct Top {
    config: KoConfig,
    unknown: Vec<(String, String)>,
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Top, D::Error> {
        deserializer.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a mapping of ko settings (`defaultBaseImage`, `builds`, ...)")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
        Ok(Top { config: KoConfig::default(), unknown: Vec::new() })
    }

    fn visit_none<E: de::Error>(self) -> Result<Top, E> {
        self.visit_unit()
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut config = KoConfig::default();
        let mut unknown = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.to_lowercase().as_str() {
                "defaultbaseimage" => config.default_base_image = map.next_value::<Scalar>()?.0,
                "baseimageoverrides" => {
                    let overrides: Option<std::collections::BTreeMap<String, Scalar>> = map.next_value()?;
                    config.base_image_overrides = overrides
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|(import_path, base)| Some((import_path.to_lowercase(), base.0?)))
                        .collect();
                }
                "defaultplatforms" => config.default_platforms = map.next_value::<Strings>()?.split_scalar(','),
                "defaultenv" => config.default_env = map.next_value::<Strings>()?.whole(),
                "defaultflags" => config.default_flags = map.next_value::<Strings>()?.split_scalar(' '),
                "defaultldflags" => config.default_ldflags = map.next_value::<Strings>()?.whole(),
                "builds" => {
                    let builds: Option<Vec<RawBuild>> = map.next_value()?;
                    for (index, build) in builds.unwrap_or_default().into_iter().enumerate() {
                        unknown.extend(build.unknown.into_iter().map(|key| (format!("builds[{index}]."), key)));
                        let mut config_build = build.config;
                        if config_build.id.is_empty() {
                            config_build.id = format!("#{index}");
                        }
                        config.builds.push(config_build);
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    unknown.push((String::new(), key));
                }
            }
        }
        Ok(Top { config, unknown })
    }
}

struct RawBuild {
    config: BuildConfig,
    unknown: Vec<String>,
}

impl<'de> Deserialize<'de> for RawBuild {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawBuild, D::Error> {
        deserializer.deserialize_map(BuildVisitor)
    }
}

struct BuildVisitor;

impl<'de> Visitor<'de> for BuildVisitor {
    type Value = RawBuild;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a build configuration mapping (`id`, `dir`, `main`, `env`, `flags`, `ldflags`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawBuild, A::Error> {
        let mut config = BuildConfig { dir: ".".into(), main: ".".into(), ..BuildConfig::default() };
        let mut unknown = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.to_lowercase().as_str() {
                "id" => config.id = map.next_value::<Scalar>()?.0.unwrap_or_default(),
                "dir" => config.dir = map.next_value::<Scalar>()?.0.unwrap_or_else(|| ".".into()),
                "main" => config.main = map.next_value::<Scalar>()?.0.unwrap_or_else(|| ".".into()),
                "env" => config.env = map.next_value::<Strings>()?.whole().unwrap_or_default(),
                "flags" => config.flags = map.next_value::<Strings>()?.split_scalar(' ').unwrap_or_default(),
                "ldflags" => config.ldflags = map.next_value::<Strings>()?.whole().unwrap_or_default(),
                "linux_capabilities" => {
                    config.linux_capabilities = map.next_value::<Strings>()?.split_scalar(' ').unwrap_or_default();
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    unknown.push(key);
                }
            }
        }
        Ok(RawBuild { config, unknown })
    }
}

/// A scalar read as text (strings, numbers, booleans); `null` is `None`.
struct Scalar(Option<String>);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scalar, D::Error> {
        deserializer.deserialize_any(ScalarVisitor).map(Scalar)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Option<String>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Some(value.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A list of strings, or a single scalar standing for one (ko's `StringArray`/`FlagArray`).
enum Strings {
    Absent,
    Scalar(String),
    List(Vec<String>),
}

impl Strings {
    /// A scalar split on `separator` (`' '` means any whitespace); a list kept as is.
    fn split_scalar(self, separator: char) -> Option<Vec<String>> {
        match self {
            Strings::Absent => None,
            Strings::Scalar(text) if separator == ' ' => Some(text.split_whitespace().map(str::to_owned).collect()),
            Strings::Scalar(text) => Some(text.split(separator).map(|part| part.trim().to_owned()).collect()),
            Strings::List(items) => Some(items),
        }
    }

    /// A scalar as a one-element list.
    fn whole(self) -> Option<Vec<String>> {
        match self {
            Strings::Absent => None,
            Strings::Scalar(text) => Some(vec![text]),
            Strings::List(items) => Some(items),
        }
    }
}

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Strings, D::Error> {
        deserializer.deserialize_any(StringsVisitor)
    }
}

struct StringsVisitor;

impl<'de> Visitor<'de> for StringsVisitor {
    type Value = Strings;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string or a list of strings")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Strings, E> {
        Ok(Strings::Scalar(value.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Strings, E> {
        Ok(Strings::Scalar(value.to_string()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Strings, E> {
        Ok(Strings::Scalar(value.to_string()))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Strings, E> {
        Ok(Strings::Scalar(value.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Strings, E> {
        Ok(Strings::Absent)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Strings, A::Error> {
        let mut items = Vec::new();
        while let Some(Scalar(item)) = sequence.next_element()? {
            items.extend(item);
        }
        Ok(Strings::List(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<KoConfig, ConfigError> {
        parse(text, Path::new(".ko.yaml"))
    }

    #[test]
    fn reads_every_key_with_ko_leniency() {
        let config = parse_str(
            "defaultBaseImage: cgr.dev/chainguard/static\nbaseImageOverrides:\n  Example.com/App: alpine\n\
             defaultPlatforms: linux/amd64,linux/arm64\ndefaultEnv: FOO=bar\ndefaultFlags: -tags netgo\n\
             defaultLdflags: [-s -w]\nbuilds:\n- id: app\n  dir: ./app\n  main: ./cmd/app\n  flags: -v -v\n  ldflags: -X main.v=1\n  env: [A=1]\n- main: ./cmd/other\n",
        )
        .unwrap();
        assert_eq!(config.default_base_image.as_deref(), Some("cgr.dev/chainguard/static"));
        assert_eq!(config.base_image_overrides["example.com/app"], "alpine");
        assert_eq!(config.default_platforms, Some(vec!["linux/amd64".into(), "linux/arm64".into()]));
        assert_eq!(config.default_env, Some(vec!["FOO=bar".into()]));
        assert_eq!(config.default_flags, Some(vec!["-tags".into(), "netgo".into()]));
        assert_eq!(config.default_ldflags, Some(vec!["-s -w".into()]));
        assert_eq!(config.builds[0].flags, vec!["-v", "-v"]);
        assert_eq!(config.builds[0].ldflags, vec!["-X main.v=1"]);
        assert_eq!(config.builds[1].id, "#1");
        assert_eq!(config.builds[1].dir, ".");
        assert!(config.warnings.is_empty());
    }

    #[test]
    fn keys_are_case_insensitive_and_unknown_keys_warn() {
        let config = parse_str("DEFAULTBASEIMAGE: x\ndefaultBaseImag: y\nbuilds:\n- mian: ./cmd\n").unwrap();
        assert_eq!(config.default_base_image.as_deref(), Some("x"));
        assert_eq!(config.warnings.len(), 2);
        assert!(config.warnings[0].contains("`.ko.yaml`:2: unknown key `defaultBaseImag`"), "{:?}", config.warnings);
        assert!(config.warnings[1].contains("`builds[0].mian`"), "{:?}", config.warnings);
    }

    #[test]
    fn type_errors_name_line_and_column() {
        let error = parse_str("defaultBaseImage: x\nbuilds:\n  flags: 1\n").unwrap_err().to_string();
        assert!(error.starts_with("`.ko.yaml`:3:3: "), "{error}");
        let error = parse_str("defaultPlatforms: {a: b}\n").unwrap_err().to_string();
        assert!(error.starts_with("`.ko.yaml`:1:19: "), "{error}");
        assert!(error.contains("a string or a list of strings"), "{error}");
        let error = parse_str("builds: [\n").unwrap_err().to_string();
        assert!(error.starts_with("`.ko.yaml`:2:1: "), "{error}");
    }

    #[test]
    fn empty_file_is_the_default_config() {
        assert_eq!(parse_str("").unwrap(), KoConfig::default());
        assert_eq!(parse_str("# only a comment\n").unwrap(), KoConfig::default());
    }
}
