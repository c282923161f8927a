//! Names as Docker reads them: the variables a `$NAME` reference can reach, and stage names.

/// Whether `name` is a variable a `$NAME` or `${NAME}` reference can reach. Docker's shell
/// lexer (BuildKit `frontend/dockerfile/shell/lex.go`, `processName`) reads a name of letters,
/// digits and `_`, except that one starting with a digit is a positional parameter (`$1`),
/// never an ARG or ENV. POSIX shells read `$NAME` in a `RUN` the same way.
pub fn is_variable_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && name.chars().all(is_name_char)
}

/// The length in bytes of the variable name that starts `text` (the text after a `$`), as
/// Docker's lexer reads it: a run of letters, digits and `_`. A name that starts with a
/// digit is a positional parameter and is not measured here (0).
pub fn variable_name_len(text: &str) -> usize {
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        return 0;
    }
    text.find(|c: char| !is_name_char(c)).unwrap_or(text.len())
}

/// Whether `name` is an environment variable name as a program reads one from its
/// environment: letters, digits and `_`, a leading digit included. Docker's `ENV` and `ARG`
/// accept such a name and the image's environment holds it, even though no `$` reference in
/// the Dockerfile can reach it ([`is_variable_name`]).
pub fn is_environment_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(is_name_char)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `name` (as written after `AS`) is a stage name Docker accepts: BuildKit's
/// `validStageName`, `^[a-z][a-z0-9-_.]*$`, matched after lower-casing
/// (`frontend/dockerfile/instructions/parse.go`, `parseBuildStageName`).
pub fn is_stage_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with(|c: char| c.is_ascii_lowercase())
        && lower.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names_cannot_start_with_a_digit() {
        assert!(is_variable_name("NODE_VERSION"));
        assert!(is_variable_name("_private"));
        assert!(is_variable_name("a1"));
        assert!(!is_variable_name("1PASSWORD"), "`$1PASSWORD` reads `$1`, then `PASSWORD`");
        assert!(!is_variable_name(""));
        assert!(!is_variable_name("A-B"));
        assert_eq!(variable_name_len("TAG}-slim"), 3);
        assert_eq!(variable_name_len("A_1/b"), 3);
        assert_eq!(variable_name_len("1abc"), 0);
        assert!(is_environment_name("1PASSWORD"), "the environment holds it all the same");
        assert!(!is_environment_name("A-B"));
        assert!(!is_environment_name(""));
        assert_eq!(variable_name_len(""), 0);
    }

    #[test]
    fn stage_names_follow_buildkit() {
        assert!(is_stage_name("builder"));
        assert!(is_stage_name("Build-Env_2.x"), "checked after lower-casing");
        assert!(!is_stage_name("2nd"));
        assert!(!is_stage_name("-x"));
        assert!(!is_stage_name("a:b"));
        assert!(!is_stage_name(""));
    }
}
