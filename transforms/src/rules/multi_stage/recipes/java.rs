//! Java: a jar built by maven or gradle, run on the matching Eclipse Temurin JRE.

use super::outputs::{follow_copies, Output, Produced};
use super::{Artifact, Packages, Plan, Runtime, RuntimeKind, StageView};
use crate::semantic::shell::path;

/// `eclipse-temurin:<major>-jre`: the JRE of the same Java major as the builder's JDK (the
/// Docker Official Image eclipse-temurin publishes `-jre` tags per major).
const JRE_IMAGE: &str = "eclipse-temurin";
const ASSUMED_JAVA_MAJOR: &str = "17";

/// Where the Java builds put their jars, relative to the project (Maven's standard directory
/// layout; the Gradle Java plugin's `libsDirectory`).
const MAVEN_OUTPUT: &str = "target";
const GRADLE_OUTPUT: &str = "build/libs";
/// Goals and tasks that build a jar: Maven's lifecycle phases from `package` on and the
/// spring-boot-maven-plugin's `repackage`; the Gradle Java plugin's tasks, the Spring Boot
/// Gradle plugin's `bootJar` and the Shadow plugin's `shadowJar`.
const MAVEN_GOALS: &[&str] = &["package", "install", "verify", "spring-boot:repackage"];
const GRADLE_TASKS: &[&str] = &["build", "assemble", "jar", "bootJar", "shadowJar"];

/// The Java major version in a maven or gradle tag (`3.9-eclipse-temurin-17`, `8.5-jdk21`,
/// `jdk17-alpine`, `3-openjdk-11-slim`).
fn java_major(tag: &str) -> Option<String> {
    let words: Vec<&str> = tag.split('-').collect();
    let skip =
        usize::from(words.first().is_some_and(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit())));
    words.iter().skip(skip).find_map(|word| {
        let digits = word.trim_start_matches("jdk").trim_start_matches("jre").trim_start_matches("java");
        (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then(|| digits.to_string())
    })
}

pub(super) fn plan(view: &StageView) -> Option<Plan> {
    let mut produced = Vec::new();
    let mut build_index = None;
    for (index, commands) in view.commands.iter().enumerate() {
        for command in commands {
            let program = path::basename(&command.path);
            let args: &[String] = &command.args;
            let (output, dir_option) = match program {
                "mvn" | "mvnw" if args.iter().any(|a| MAVEN_GOALS.contains(&a.as_str())) => {
                    (MAVEN_OUTPUT, "-f")
                }
                "gradle" | "gradlew" if args.iter().any(|a| GRADLE_TASKS.contains(&a.as_str())) => {
                    (GRADLE_OUTPUT, "-p")
                }
                _ => continue,
            };
            build_index = Some(index);
            let Some(cwd) = command.cwd.as_deref() else {
                continue;
            };
            let mut project = cwd.to_string();
            if let Some(at) = args.iter().position(|a| a == dir_option) {
                let given = args.get(at + 1).map_or("", String::as_str);
                let dir = if dir_option == "-f" && given.ends_with(".xml") {
                    path::dirname(&path::join(cwd, given))
                } else {
                    path::join(cwd, given)
                };
                project = dir;
            }
            produced.push(Produced {
                output: Output::Dir(format!("{project}/{output}")),
                is_static: false,
                doubt: None,
            });
        }
    }
    let build_index = build_index?;
    follow_copies(view, build_index, &mut produced);
    let tag = view.image.tag.as_deref().unwrap_or("");
    let major = java_major(tag);
    let alpine = tag.contains("alpine");
    let major_text = major.clone().unwrap_or_else(|| ASSUMED_JAVA_MAJOR.to_string());
    let image = format!("{JRE_IMAGE}:{major_text}-jre{}", if alpine { "-alpine" } else { "" });
    let mut plan = Plan::new(
        Runtime { image, kind: RuntimeKind::Temurin { alpine } },
        Packages::NativeBinary,
        build_index,
    );
    plan.interpreters = &["java"];
    plan.risks.push("the JRE lacks the JDK's tools (javac, jcmd, jmap)".into());
    if view.image_has_variable {
        plan.doubts
            .push("the builder's tag is set by an ARG, and the runtime's Java version must follow it".into());
    } else if major.is_none() {
        plan.doubts.push(format!(
            "`{}:{tag}` does not name its Java version, and the runtime must match it (dockfix assumes {ASSUMED_JAVA_MAJOR})",
            view.image.short_name()
        ));
    }
    match started_jar(view, &produced) {
        Ok(jar) => {
            plan.what = format!("the jar `{jar}`");
            plan.artifacts.push(Artifact::same(&jar));
        }
        Err(doubt) => plan.doubts.push(doubt),
    }
    Some(plan)
}

/// The jar `java -jar` runs, when a build step produces it.
fn started_jar(view: &StageView, produced: &[Produced]) -> Result<String, String> {
    let start = view.start.as_ref().ok_or("the image starts nothing")?;
    let program = start.argv.first().map_or("", String::as_str);
    if program != "java" {
        return Err(format!("the start command runs `{program}`, not `java -jar`"));
    }
    let jar = start
        .argv
        .iter()
        .position(|arg| arg == "-jar")
        .and_then(|at| start.argv.get(at + 1))
        .ok_or("the start command runs java without -jar")?;
    if jar.contains(['$', '*', '?', '[']) {
        return Err(format!("the start command runs `{jar}`, which dockfix cannot resolve"));
    }
    let path = view
        .path_in_image(jar)
        .ok_or_else(|| format!("the start command runs `{jar}` from an unknown directory"))?;
    let built = produced.iter().any(|p| match &p.output {
        Output::File(file) => *file == path,
        Output::Dir(dir) => path::is_under(&path, dir),
    });
    built
        .then_some(path.clone())
        .ok_or(format!("the start command runs `{path}`, which dockfix does not see the build produce"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_majors() {
        assert_eq!(java_major("3.9.6-eclipse-temurin-17").as_deref(), Some("17"));
        assert_eq!(java_major("8.5-jdk21-alpine").as_deref(), Some("21"));
        assert_eq!(java_major("jdk17").as_deref(), Some("17"));
        assert_eq!(java_major("3-openjdk-11-slim").as_deref(), Some("11"));
        assert_eq!(java_major("3.8-jdk-8").as_deref(), Some("8"));
        assert_eq!(java_major("3.9"), None);
    }
}
