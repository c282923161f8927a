//! The runtime package of a development package the builder installs, read from the package
//! database of the builder's base image (`libpq-dev` depends on `libpq5`), so that the
//! runtime stage installs the library the program links instead of leaving it in doubt.

use super::recipes::RuntimeKind;
use crate::image::facts::PackageManager;
use crate::image::BaseFacts;

/// `apt-get` in the runtime stage, for the runtime packages it needs, cleaning its lists.
pub(super) fn apt_install(packages: &[String]) -> String {
    format!(
        "apt-get update && apt-get install -y --no-install-recommends {} && rm -rf /var/lib/apt/lists/*",
        packages.join(" ")
    )
}

/// The runtime package of `dev` (`libpq-dev` -> `libpq5`, `zlib1g-dev` -> `zlib1g`): the one
/// dependency of `dev` in the builder base's dpkg database that is no development package
/// and whose name starts with `dev`'s own stem. `None` when the runtime image is not a Debian
/// one (its package names would differ), the database was not read, does not hold `dev`, or
/// names no single such dependency.
pub(super) fn runtime_package(base: &BaseFacts, runtime: RuntimeKind, dev: &str) -> Option<String> {
    let debian_runtime = matches!(
        runtime,
        RuntimeKind::Debian | RuntimeKind::Python { alpine: false } | RuntimeKind::Node { alpine: false }
    );
    if !debian_runtime {
        return None;
    }
    let database = base.files()?.packages.as_ref()?;
    if database.manager != PackageManager::Dpkg {
        return None;
    }
    let stem = dev.strip_suffix("-dev")?;
    let mut runtime_packages = database
        .package(dev)?
        .depends
        .iter()
        .filter(|name| name.starts_with(stem) && !name.ends_with("-dev"));
    let found = runtime_packages.next()?;
    runtime_packages.next().is_none().then(|| found.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::facts::{FileFacts, Package, PackageDb};
    use crate::image::{facts_for_image, ImageCatalog, ImageFacts, Knowledge};

    fn base(packages: &[(&str, &[&str])]) -> BaseFacts {
        let packages = packages
            .iter()
            .map(|(name, depends)| Package {
                name: name.to_string(),
                version: String::new(),
                depends: depends.iter().map(|d| d.to_string()).collect(),
            })
            .collect();
        let facts = ImageFacts {
            files: Some(FileFacts {
                packages: Some(PackageDb { manager: PackageManager::Dpkg, packages }),
                ..FileFacts::default()
            }),
            ..ImageFacts::default()
        };
        let mut catalog = ImageCatalog::default();
        catalog.insert("python:3.12", facts, Knowledge::Registry);
        facts_for_image("python:3.12").known_from(&catalog)
    }

    #[test]
    fn the_library_a_dev_package_depends_on() {
        let base = base(&[
            ("libpq-dev", &["libpq5", "libssl-dev"]),
            ("zlib1g-dev", &["zlib1g", "libc6-dev"]),
            ("default-libmysqlclient-dev", &["libmariadb-dev-compat"]),
            ("libfoo-dev", &["libfoo1", "libfoo-common2"]),
        ]);
        let python = RuntimeKind::Python { alpine: false };
        assert_eq!(runtime_package(&base, python, "libpq-dev").as_deref(), Some("libpq5"));
        assert_eq!(runtime_package(&base, RuntimeKind::Debian, "zlib1g-dev").as_deref(), Some("zlib1g"));
        assert_eq!(runtime_package(&base, python, "default-libmysqlclient-dev"), None);
        assert_eq!(runtime_package(&base, python, "libfoo-dev"), None, "two candidates: no guess");
        assert_eq!(runtime_package(&base, python, "libgeos-dev"), None, "not in the database");
        assert_eq!(runtime_package(&base, RuntimeKind::Alpine, "libpq-dev"), None);
    }
}
