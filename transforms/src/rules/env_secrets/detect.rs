//! Which `ENV`/`ARG` pairs hold a literal secret: the names, the values that give a
//! credential away, and the values that cannot be one (references, paths, placeholders).

use super::Secret;
use crate::rules::env_secrets::SecretOptions;
use crate::semantic::names::is_environment_name;
use crate::semantic::quoting::{unquote_word, DEFAULT_ESCAPE};
use crate::syntax::Instruction;

/// Name parts of BuildKit's `SecretsUsedInArgOrEnv` rule.
const SECRET_PARTS: &[&str] =
    &["apikey", "auth", "credential", "credentials", "key", "password", "pword", "passwd", "secret", "token"];

/// Name parts that BuildKit's rule misses and that name a secret.
const EXTRA_SECRET_PARTS: &[&str] = &[
    "passphrase",
    "privatekey",
    "secretkey",
    "accesskey",
    "apitoken",
    "authtoken",
    "accesstoken",
    "secrets",
    "tokens",
];

/// Name parts that name a secret only next to another part (`DB_PASS`, `MYSQL_PWD`; `PWD`
/// alone is the shell's working directory).
const QUALIFIED_SECRET_PARTS: &[&str] = &["pass", "pwd"];

/// Name parts that win over the secret parts (BuildKit's allow rule).
const PUBLIC_PARTS: &[&str] = &["public", "file", "version"];

/// A last name part that says the variable describes a secret rather than holds one.
const DESCRIPTIVE_LAST_PARTS: &[&str] = &[
    "path",
    "dir",
    "url",
    "uri",
    "host",
    "hostname",
    "port",
    "name",
    "type",
    "mode",
    "enabled",
    "enable",
    "disabled",
    "ttl",
    "timeout",
    "expiry",
    "expires",
    "length",
    "size",
    "algorithm",
    "endpoint",
    "server",
    "realm",
    "method",
    "provider",
    "location",
    "user",
    "username",
    "login",
    "email",
    "fingerprint",
];

/// Last name parts of variables that hold who may do something (`HUBOT_AUTH_ADMIN`,
/// `KEYCLOAK_ADMIN`, `REGISTRY_AUTH_USERS`): user names or lists of them, not credentials.
const PEOPLE_LIST_ENDINGS: &[&[&str]] =
    &[&["admin"], &["admins"], &["admin", "list"], &["admins", "list"], &["users"]];

/// The secret pairs of an `ENV` or `ARG` instruction, or of an `ONBUILD ENV`/`ONBUILD ARG`
/// trigger.
pub(super) fn secrets_of(index: usize, instruction: &Instruction, options: &SecretOptions) -> Vec<Secret> {
    let Some((keyword, first_word)) = pair_keyword(instruction) else {
        return Vec::new();
    };
    let Some(first) = instruction.words.get(first_word) else {
        return Vec::new();
    };
    if keyword == "ENV" && !first.text.contains('=') {
        let value = legacy_value(instruction, first_word);
        return detect(&first.text, Some(value), options)
            .map(|looks_like| Secret { instruction: index, word: None, name: first.text.clone(), looks_like })
            .into_iter()
            .collect();
    }
    instruction
        .words
        .iter()
        .enumerate()
        .skip(first_word)
        .filter_map(|(word, w)| {
            let (name, value) = match w.text.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (w.text.as_str(), None),
            };
            let looks_like = detect(name, value, options)?;
            Some(Secret { instruction: index, word: Some(word), name: name.to_string(), looks_like })
        })
        .collect()
}

/// `ENV` or `ARG`, and the index of the instruction's first pair word: 0, or 1 behind
/// `ONBUILD`.
pub(super) fn pair_keyword(instruction: &Instruction) -> Option<(&'static str, usize)> {
    let keyword = ["ENV", "ARG"].into_iter().find(|keyword| instruction.is(keyword));
    if let Some(keyword) = keyword {
        return Some((keyword, 0));
    }
    if !instruction.is("ONBUILD") {
        return None;
    }
    let trigger = instruction.words.first()?;
    ["ENV", "ARG"]
        .into_iter()
        .find(|keyword| trigger.text.eq_ignore_ascii_case(keyword))
        .map(|keyword| (keyword, 1))
}

/// The value of the legacy `ENV NAME value` form whose name is word `name_word`: the rest of
/// the logical line.
pub(super) fn legacy_value(instruction: &Instruction, name_word: usize) -> &str {
    let mut rest = instruction.args.as_str();
    for word in &instruction.words[..=name_word] {
        rest = rest.trim_start();
        rest = rest.get(word.text.len()..).unwrap_or("");
    }
    rest.trim_start()
}

/// `Some(what the value looks like)` when the pair holds a literal secret; the inner `None`
/// means the name gave it away.
pub(super) fn detect(
    name: &str,
    raw_value: Option<&str>,
    options: &SecretOptions,
) -> Option<Option<&'static str>> {
    let raw = raw_value?;
    // A name no `$` reference can reach (`1PASSWORD`) still puts its value in the image's
    // environment, so the environment's rule decides, not the reference's.
    if !is_environment_name(name) || options.allowed_names.matches(name) {
        return None;
    }
    // Pairs are judged without their file, so with Docker's default escape character: in a
    // `# escape=`` ` file that only drops the backslashes of the value judged.
    let value = unquote_word(raw, DEFAULT_ESCAPE);
    if value.trim().is_empty() {
        return None;
    }
    if let Some(kind) = credential_kind(&value) {
        return Some(Some(kind));
    }
    if has_reference(raw) || looks_harmless(&value) {
        return None;
    }
    if options.extra_names.matches(name) {
        return Some(None);
    }
    let parts = secret_name_parts(name)?;
    // `GPG_KEY`, `APT_KEY`, `AUTH`: a public key's fingerprint or address, an endpoint.
    let weak = parts.iter().all(|part| part == "key" || part == "auth");
    if weak && (is_fingerprint(&value) || is_url(&value)) {
        return None;
    }
    Some(None)
}

/// The parts of `name` that make it a secret's name, lower-cased; `None` when it is not one.
pub(super) fn secret_name_parts(name: &str) -> Option<Vec<String>> {
    let parts: Vec<String> =
        name.split('_').filter(|part| !part.is_empty()).map(str::to_ascii_lowercase).collect();
    if parts.iter().any(|part| PUBLIC_PARTS.contains(&part.as_str())) {
        return None;
    }
    if parts.windows(2).any(|pair| pair[0] == "key" && pair[1] == "id") {
        return None;
    }
    if parts.last().is_some_and(|last| DESCRIPTIVE_LAST_PARTS.contains(&last.as_str())) {
        return None;
    }
    let ends_with = |ending: &[&str]| {
        parts.len() > ending.len()
            && parts[parts.len() - ending.len()..].iter().zip(ending).all(|(part, end)| part == end)
    };
    if PEOPLE_LIST_ENDINGS.iter().any(|ending| ends_with(ending)) {
        return None;
    }
    let secret: Vec<String> = parts
        .iter()
        .filter(|part| {
            SECRET_PARTS.contains(&part.as_str())
                || EXTRA_SECRET_PARTS.contains(&part.as_str())
                || (parts.len() > 1 && QUALIFIED_SECRET_PARTS.contains(&part.as_str()))
                || ["password", "passwd", "passphrase"].iter().any(|end| part.ends_with(end))
        })
        .cloned()
        .collect();
    (!secret.is_empty()).then_some(secret)
}

/// Values that cannot be a secret whatever the name: a path, a boolean, a placeholder.
fn looks_harmless(value: &str) -> bool {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    let is_path = ["/", "./", "../", "~/"].iter().any(|prefix| value.starts_with(prefix))
        || (value.len() > 2 && value.as_bytes()[1] == b':' && matches!(value.as_bytes()[2], b'\\' | b'/'));
    let is_bool = ["true", "false", "yes", "no", "on", "off", "none", "null"].contains(&lower.as_str());
    is_path || is_bool || is_placeholder(value)
}

/// Brackets around a whole value that mark it as a placeholder to fill in (`<password>`,
/// `[your-token]`, `{token}`, `{{ .token }}`, `**None**`, `%TOKEN%`, `__TOKEN__`) around a
/// name or template expression. An entrypoint may compare against such a value: removing it would change
/// what the entrypoint does, and it holds nothing secret.
const PLACEHOLDER_BRACKETS: &[(&str, &str)] =
    &[("<", ">"), ("[", "]"), ("{", "}"), ("**", "**"), ("%", "%"), ("__", "__")];

/// Whole values (any case, `-`, `_`, `.` and blanks ignored) that say "put the real one
/// here". Seen in the corpus and in vendors' examples (`changeme`, `changeit` of Java key
/// stores, `notneededforbuilds` of build-only dummies).
const PLACEHOLDER_WORDS: &[&str] = &[
    "changeme",
    "changeit",
    "changethis",
    "replaceme",
    "replacethis",
    "placeholder",
    "example",
    "sample",
    "dummy",
    "fake",
    "redacted",
    "hidden",
    "todo",
    "tbd",
    "fixme",
    "notset",
    "unset",
    "undefined",
    "notneeded",
    "notneededforbuilds",
];

/// Prefixes (any case) of a value that describes what to put there: `your-api-key`,
/// `YOUR_TOKEN_HERE`, `my-secret`, `insert-token-here`.
const PLACEHOLDER_PREFIXES: &[&str] =
    &["your-", "your_", "your.", "my-", "my_", "insert-", "insert_", "enter-", "enter_", "put-", "put_"];

/// Whether a value is a placeholder rather than a credential: bracketed, a placeholder word,
/// a describing prefix, or one character repeated (`xxxxxxxx`, an all-zero token, `....`,
/// also with separators: `0000-0000`).
pub(super) fn is_placeholder(value: &str) -> bool {
    let value = value.trim();
    let bracketed = PLACEHOLDER_BRACKETS.iter().any(|(open, close)| {
        let inner = value.strip_prefix(open).and_then(|rest| rest.strip_suffix(close));
        // A name or a template expression inside; quotes or `:` make it data (JSON, a map).
        inner.is_some_and(|inner| {
            !inner.trim().is_empty()
                && inner.chars().all(|c| c.is_ascii_alphanumeric() || " ._-${}|/".contains(c))
        })
    });
    if bracketed {
        return true;
    }
    let lower = value.to_ascii_lowercase();
    let word: String = lower.chars().filter(|c| !matches!(c, '-' | '_' | '.' | ' ')).collect();
    if PLACEHOLDER_WORDS.contains(&word.as_str()) {
        return true;
    }
    if PLACEHOLDER_PREFIXES.iter().any(|prefix| lower.starts_with(prefix) && lower.len() > prefix.len()) {
        return true;
    }
    let mut significant = value.chars().filter(|c| !matches!(c, '-' | '_' | ':' | ' '));
    significant.next().is_some_and(|first| significant.all(|c| c == first))
}

/// A URL (with no password: [`credential_kind`] looks at that first).
fn is_url(value: &str) -> bool {
    let value = value.trim();
    value.contains("://") && !value.contains(char::is_whitespace)
}

/// A public key fingerprint or key id: 40 or 16 hex digits (spaces and `0x` allowed), or
/// several fingerprints separated by blanks.
fn is_fingerprint(value: &str) -> bool {
    let value = value.trim();
    let value = value.strip_prefix("0x").or_else(|| value.strip_prefix("0X")).unwrap_or(value);
    let hex: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return false;
    }
    hex.len() == 16 || hex.len().is_multiple_of(40)
}

/// The shape of a vendor token: one of `prefixes`, then `min..=max` characters `allowed`.
struct TokenShape {
    prefixes: &'static [&'static str],
    min: usize,
    max: usize,
    allowed: fn(char) -> bool,
    kind: &'static str,
}

const TOKEN_SHAPES: &[TokenShape] = &[
    TokenShape {
        prefixes: &["AKIA", "ASIA"],
        min: 16,
        max: 16,
        allowed: upper_alnum,
        kind: "an AWS access key id",
    },
    TokenShape {
        prefixes: &["github_pat_"],
        min: 22,
        max: usize::MAX,
        allowed: word_char,
        kind: "a GitHub token",
    },
    TokenShape {
        prefixes: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        min: 30,
        max: usize::MAX,
        allowed: alnum,
        kind: "a GitHub token",
    },
    TokenShape { prefixes: &["glpat-"], min: 20, max: usize::MAX, allowed: dashed, kind: "a GitLab token" },
    TokenShape {
        prefixes: &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"],
        min: 10,
        max: usize::MAX,
        allowed: dashed,
        kind: "a Slack token",
    },
    TokenShape {
        prefixes: &["sk_live_", "rk_live_"],
        min: 16,
        max: usize::MAX,
        allowed: alnum,
        kind: "a Stripe live key",
    },
];

fn upper_alnum(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn dashed(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// What a value looks like, when it looks like a credential.
pub(super) fn credential_kind(value: &str) -> Option<&'static str> {
    let shape = TOKEN_SHAPES.iter().find(|shape| {
        shape.prefixes.iter().any(|prefix| has_token(value, prefix, shape.min, shape.max, shape.allowed))
    });
    if let Some(shape) = shape {
        return Some(shape.kind);
    }
    if value.find("-----BEGIN ").is_some_and(|at| value[at..].contains("PRIVATE KEY-----")) {
        return Some("a private key");
    }
    if url_with_password(value) {
        return Some("a URL with a password");
    }
    None
}

/// `prefix` at a word boundary, followed by `min..=max` characters `allowed` and then a
/// boundary.
fn has_token(value: &str, prefix: &str, min: usize, max: usize, allowed: fn(char) -> bool) -> bool {
    // Most values are too short to hold any token: no searcher is set up for them.
    if value.len() < prefix.len() + min {
        return false;
    }
    value.match_indices(prefix).any(|(at, _)| {
        let before_ok = value[..at].chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric());
        let rest = &value[at + prefix.len()..];
        let len = rest.find(|c: char| !allowed(c)).unwrap_or(rest.len());
        let after_ok = rest[len..].chars().next().is_none_or(|c| !c.is_ascii_alphanumeric());
        before_ok && after_ok && (min..=max).contains(&len)
    })
}

/// `scheme://user:password@host` with a literal (not `$VAR`) password.
fn url_with_password(value: &str) -> bool {
    value.match_indices("://").any(|(at, _)| {
        let rest = &value[at + 3..];
        let authority_end = rest.find(['/', '?', '#', ' ', '"', '\'']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        let Some((userinfo, _host)) = authority.rsplit_once('@') else {
            return false;
        };
        let Some((user, password)) = userinfo.split_once(':') else {
            return false;
        };
        !user.is_empty() && !password.is_empty() && !password.starts_with('$')
    })
}

/// Whether a raw value uses a variable (`$X`, `${X}`); an escaped `\$` is a literal dollar.
fn has_reference(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    bytes.iter().enumerate().any(|(at, &b)| {
        b == b'$'
            && (at == 0 || bytes[at - 1] != b'\\')
            && bytes.get(at + 1).is_some_and(|&n| n == b'{' || n == b'_' || n.is_ascii_alphabetic())
    })
}
