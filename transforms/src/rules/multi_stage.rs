//! # multi-stage
//!
//! ## What it does
//!
//! Splits a single-stage Dockerfile that builds an application and then runs it into a
//! builder stage and a slim runtime stage. The original stage becomes the builder
//! (`FROM golang:1.22 AS builder`, otherwise untouched); a new final stage starts from a
//! runtime image, copies what the start command needs out of the builder with
//! `COPY --from=builder`, and keeps every runtime setting of the original: the `CMD`,
//! `ENTRYPOINT`, `USER`, `EXPOSE`, `LABEL`, `HEALTHCHECK`, `STOPSIGNAL`, `VOLUME` and `SHELL`
//! after the last `RUN` move into it as they are (with their comments), and the `WORKDIR`,
//! `ENV`, `USER` and other settings declared before the build are declared again, in order
//! (with the `ARG`s they use). Keywords follow the file's casing.
//!
//! The recipes, by builder image:
//!
//! | builder | build step | runtime | copied |
//! |---|---|---|---|
//! | `golang` | `go build -o OUT` (or `go build ./cmd/NAME`, `go build main.go`) | `gcr.io/distroless/static-debian12:nonroot` when `CGO_ENABLED=0` and the command needs no shell; else `debian:<release>-slim` (or `alpine:<version>`) matching the builder | the binary the start command runs; the CA bundle and `tzdata` where the runtime lacks them |
//! | `rust` | `cargo build [--release] [--bin NAME]`, `cargo install --path` | `debian:<release>-slim` (or `alpine:<version>`) matching the builder | the binary the start command runs (named by `--bin` or the command); the CA bundle |
//! | `node` | `npm run build` (`yarn build`, `pnpm build`) | `node:<same version>-slim` (alpine stays alpine) | the package manifests, production dependencies installed again (`npm ci --omit=dev`), and the build output directory the command runs (`dist`, `build`, `out`, `.output`) |
//! | `python` | `pip install` after installing compilers or headers (`gcc`, `build-essential`, `*-dev`) | `python:<same version>-slim` (alpine stays alpine) | the virtualenv (`/opt/venv`, created in the builder before the first `pip install`, with `PATH` set in both stages) and the application's files |
//! | `maven`, `gradle` | `mvn package`, `gradle build` (wrappers too) | `eclipse-temurin:<same Java major>-jre` | the jar `java -jar` runs |
//!
//! The split is applied only when the recipe knows every path it copies and nothing else
//! the image needs at run time is in doubt. Otherwise the finding carries the proposed
//! change as a **suggestion** (shown, never written) and says what is in doubt: an output
//! path dockfix cannot read (`go build` without `-o`, a variable), a runtime image that must
//! match the builder's Debian release when the builder's tag does not name it, a package the
//! builder installs that the program may need at run time (`ffmpeg`, `libpq-dev`), a user
//! created in the builder, a `HEALTHCHECK` that runs `curl`, a start command that reads files
//! from the build context, a `RUN` after the build, `yarn`/`pnpm`, `npm start`.
//!
//! Left alone: files already multi-stage (the final stage copies `--from` another stage or
//! image, or is built `FROM` one), images that run no build step (a script on its
//! interpreter), images that start nothing of their own (no `CMD`/`ENTRYPOINT`), unknown
//! builder images, and Windows images. A start command set before the build, or an
//! instruction the parser did not understand where the split must move or repeat it, is
//! reported without a fix.
//!
//! **Facts about the builder's base image.** Facts read from the builder's base image (when
//! the run has them) settle two of the doubts multi-stage reports: its `/etc/os-release` gives the release the runtime must match when the
//! tag names none (`rust:1.79` on Debian bookworm gets `debian:bookworm-slim`; an Ubuntu
//! builder gets `ubuntu:<VERSION_ID>`), and its package database gives the runtime package of a
//! `-dev` package the builder installs (`libpq-dev` depends on `libpq5`), which the runtime
//! stage then installs with `apt-get`. The finding says what it took from the facts and where
//! they came from.
//!
//! Runs before `non-root-user` and `strip-setuid`, so that they work on the new runtime stage.
//!
//! ## Why
//!
//! A single-stage image that compiles its application ships the compiler, headers, package
//! caches and source code into production: a much bigger image, more packages with CVEs, and
//! tools an attacker can use. Separating build-time from run-time dependencies with a
//! multi-stage build is the standard remedy (Docker's build best practices; OWASP Docker
//! Security Cheat Sheet).
//!
//! ## Example
//!
//! ```dockerfile
//! FROM golang:1.22
//! WORKDIR /src
//! COPY . .
//! RUN CGO_ENABLED=0 go build -o /out/server ./cmd/server
//! EXPOSE 8080
//! CMD ["/out/server"]
//! ```
//!
//! becomes
//!
//! ```dockerfile
//! FROM golang:1.22 AS builder
//! WORKDIR /src
//! COPY . .
//! RUN CGO_ENABLED=0 go build -o /out/server ./cmd/server
//!
//! FROM gcr.io/distroless/static-debian12:nonroot
//! WORKDIR /src
//! COPY --from=builder /out/server /out/server
//! EXPOSE 8080
//! CMD ["/out/server"]
//! ```
//!
//! ## Fix safety
//!
//! Unsafe: the runtime image lacks the build tools, and whatever the program reads at run
//! time that the split does not copy (templates, static files, data directories, files
//! created by `RUN`, shared libraries, programs a script calls) is missing. The runtime
//! image's own environment replaces the builder's (`PATH`, `GOPATH`, ...). The distroless
//! `:nonroot` image runs as UID 65532 unless the file sets `USER`. Node dependencies are
//! installed again in the runtime image: native add-ons without prebuilt binaries would need
//! build tools there. Build and start the image once after the change.

mod known_packages;
mod recipes;
mod split;
mod view;

use crate::edit::{Applicability, Finding, Fix};
use crate::image::{windows_signs, ImageRef};
use crate::rules::env_secrets::{self, SecretOptions};
use crate::semantic::stages::{base_stage, stage_chain};
use crate::semantic::variables::resolve_global_args;
use crate::syntax::{Dockerfile, Stage};
use crate::transform::{module_docs, Context, Rule};

use split::Split;
use view::StageView;

pub struct MultiStage;

const ID: &str = "multi-stage";

const RISK: &str = "the runtime image lacks build tools; files not copied will be missing";

impl Rule for MultiStage {
    fn id(&self) -> &'static str {
        ID
    }

    fn summary(&self) -> &'static str {
        "single stage that builds and runs -> builder + slim runtime stage"
    }

    fn documentation(&self) -> String {
        module_docs(include_str!("multi_stage.rs"))
    }

    fn reference(&self) -> &'static str {
        "Docker build best practices: use multi-stage builds; OWASP Docker Security Cheat Sheet"
    }

    fn check(&self, context: &Context) -> Vec<Finding> {
        let file = context.file;
        let Some(stage) = file.final_stage() else {
            return Vec::new();
        };
        if already_split(file, stage) {
            return Vec::new();
        }
        let Some((image, image_has_variable)) = builder_image(file, stage) else {
            return Vec::new();
        };
        let Some(ecosystem) = recipes::ecosystem(&image) else {
            return Vec::new();
        };
        let view =
            StageView::new(context, stage, image, image_has_variable, recipes::default_workdir(ecosystem));
        if view.start.is_none() {
            // It starts nothing of its own: a toolbox or base image, not an application.
            return Vec::new();
        }
        let Some(plan) = recipes::plan(ecosystem, &view) else {
            return Vec::new();
        };
        let from_line = view.instructions[0].start_line;
        let chain = stage_chain(file, stage);
        if view.base.is_windows() || windows_signs(file, &chain) {
            return vec![Finding::new(ID, from_line, "Windows image: dockfix does not split Windows images")];
        }
        if plan.artifacts.is_empty() {
            let message = format!("the build and run stages are not split: {}", plan.doubts.join("; "));
            return vec![Finding::new(ID, from_line, message)];
        }
        match Split::new(context, stage, &view, plan) {
            Ok(split) => vec![finding(&split, context, &view)],
            Err(reason) => {
                vec![Finding::new(ID, from_line, format!("the build and run stages are not split: {reason}"))]
            }
        }
    }
}

/// Whether the final stage already comes out of a multi-stage build: built `FROM` an
/// earlier stage, copying `--from` a stage or an image, mounting one, or deferring work to
/// downstream builds with `ONBUILD`.
fn already_split(file: &Dockerfile, stage: &Stage) -> bool {
    base_stage(file, stage).is_some()
        || file.stage_instructions(stage).iter().any(|instruction| {
            instruction.flag("from").is_some()
                || instruction.is("ONBUILD")
                || instruction.flags.iter().any(|flag| {
                    flag.name == "mount" && flag.value.as_deref().is_some_and(|v| v.contains("from="))
                })
        })
}

/// The builder image, with ARG defaults substituted (or as written when they cannot be), and
/// whether it holds a variable.
fn builder_image(file: &Dockerfile, stage: &Stage) -> Option<(ImageRef, bool)> {
    let has_variable = stage.base.contains('$');
    let resolved = resolve_global_args(file, &stage.base).unwrap_or_else(|| stage.base.clone());
    ImageRef::parse(&resolved).map(|image| (image, has_variable))
}

/// The finding: an unsafe fix when nothing is in doubt, a suggestion otherwise.
fn finding(split: &Split, context: &Context, view: &StageView) -> Finding {
    let edits = split.edits(context, view);
    let runtime = &split.plan.runtime.image;
    let from_line = view.instructions[0].start_line;
    let mut risk = RISK.to_string();
    for extra in &split.plan.risks {
        risk.push_str("; ");
        risk.push_str(extra);
    }
    let left_behind: Vec<String> = view.instructions[1..split.last_run]
        .iter()
        .filter(|instruction| instruction.is("ENV"))
        .flat_map(|instruction| {
            env_secrets::secret_pairs(instruction, &context.options.get::<SecretOptions>())
        })
        .map(|(name, _)| name)
        .collect();
    if !left_behind.is_empty() {
        let (them, names) = if left_behind.len() > 1 { ("them", "secrets") } else { ("it", "secret") };
        risk.push_str(&format!(
            "; the runtime stage does not declare the {names} ENV {} again: the running container must get {them} at run time (`docker run -e`)",
            left_behind.join(", ")
        ));
    }
    let known = from_facts(split, view);
    if split.doubts.is_empty() {
        let message = format!(
            "split into a builder stage and a runtime stage on `{runtime}` that copies {}: the build tools stay out of the final image{known}",
            split.plan.what
        );
        return Finding::new(ID, from_line, message)
            .with_risk(risk)
            .with_fix(Fix::new(Applicability::Unsafe, edits));
    }
    let message = format!(
        "could split into a builder stage and a runtime stage on `{runtime}` that copies {}{known}, but {}",
        split.plan.what,
        split.doubts.join("; ")
    );
    Finding::new(ID, from_line, message).with_risk(risk).with_fix(Fix::new(Applicability::Suggestion, edits))
}

/// `; the runtime image matches the builder's release; the runtime stage installs `libpq5` ...
/// [facts read from the registry]`: what the split took from facts about the builder's base
/// image, and from where. Empty when it took nothing from them.
fn from_facts(split: &Split, view: &StageView) -> String {
    let mut known = Vec::new();
    if recipes::runtime_from_facts(view).is_some_and(|image| image == split.plan.runtime.image) {
        known.push("the runtime image matches the builder's release".to_string());
    }
    for (dev, runtime) in &split.runtime_packages {
        known.push(format!("the runtime stage installs `{runtime}`, the library `{dev}` builds against"));
    }
    if known.is_empty() {
        return String::new();
    }
    format!("; {}{}", known.join("; "), view.base.note(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::run;
    use crate::options::Options;
    use crate::transform::NoBuildContext;

    fn fix(input: &str) -> String {
        run(input, &[&MultiStage], &NoBuildContext, &Options::default()).unwrap().output
    }

    #[test]
    fn go_static_split() {
        let input = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/server ./cmd/server\nEXPOSE 8080\nCMD [\"/out/server\"]\n";
        let out = fix(input);
        assert_eq!(
            out,
            "FROM golang:1.22 AS builder\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/server ./cmd/server\n\nFROM gcr.io/distroless/static-debian12:nonroot\nWORKDIR /src\nCOPY --from=builder /out/server /out/server\nEXPOSE 8080\nCMD [\"/out/server\"]\n"
        );
        assert_eq!(fix(&out), out, "idempotent");
    }

    #[test]
    fn leaves_multi_stage_and_scripts_alone() {
        for input in [
            "FROM golang:1.22 AS b\nRUN go build -o /a .\nFROM scratch\nCOPY --from=b /a /a\nCMD [\"/a\"]\n",
            "FROM python:3.12\nCOPY app.py /app/\nCMD [\"python\", \"/app/app.py\"]\n",
            "FROM golang:1.22\nRUN go build -o /a .\n",
        ] {
            assert_eq!(fix(input), input, "{input}");
        }
    }
}
