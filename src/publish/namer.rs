//! ko's image naming: `<repo>/<basename>-<md5(import path)>` by default, the full import path
//! (`-P`), the basename (`-B`), or the repository itself (`--bare`). Import paths are lowercased
//! first, as ko does.

use md5::{Digest as _, Md5};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamingStyle {
    Md5,
    PreserveImportPaths,
    BaseImportPaths,
    Bare,
}

/// Names images inside a repository prefix (which may be empty with `--push=false`).
#[derive(Clone, Debug)]
pub struct Namer {
    pub repository: String,
    pub style: NamingStyle,
}

impl Namer {
    pub fn name(&self, import_path: &str) -> String {
        let import_path = import_path.to_lowercase();
        let base = import_path.rsplit('/').next().unwrap_or(&import_path);
        let child = match self.style {
            NamingStyle::Md5 => format!("{base}-{}", hex::encode(Md5::digest(import_path.as_bytes()))),
            NamingStyle::PreserveImportPaths => import_path.clone(),
            NamingStyle::BaseImportPaths => base.to_owned(),
            NamingStyle::Bare => return self.repository.clone(),
        };
        if self.repository.is_empty() { child } else { format!("{}/{child}", self.repository.trim_end_matches('/')) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_ko() {
        let namer = |style| Namer { repository: "reg/repo".into(), style };
        let import_path = "example.org/sample/cmd/example";
        assert_eq!(namer(NamingStyle::Md5).name(import_path), "reg/repo/example-51d74b7127c5f7495a338df33ecdeb19");
        assert_eq!(
            namer(NamingStyle::PreserveImportPaths).name(import_path),
            "reg/repo/example.org/sample/cmd/example"
        );
        assert_eq!(namer(NamingStyle::BaseImportPaths).name(import_path), "reg/repo/example");
        assert_eq!(namer(NamingStyle::Bare).name(import_path), "reg/repo");
        let empty = Namer { repository: String::new(), style: NamingStyle::Md5 };
        assert_eq!(empty.name("example.com/hello/cmd/hello"), "hello-20224deb52929e35ecb74c0e57f6ee11");
        assert_eq!(namer(NamingStyle::BaseImportPaths).name("Example.com/App"), "reg/repo/app");
    }
}
