//! Why a registry lookup failed, in one line that says which registry answered what.

use std::time::Duration;

use dockfix_transforms::image::ImageRef;
use oci_client::errors::{OciDistributionError, OciErrorCode};
use thiserror::Error;

use super::credentials::Credentials;

/// Why a reference could not be resolved. The text is one line, for a finding.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LookupError {
    #[error("{registry} refused access ({status}) to {repository}; credentials: {credentials}")]
    Denied { registry: String, repository: String, status: u16, credentials: String },
    #[error("{registry} has no {what} (404)")]
    NotFound { registry: String, what: String },
    #[error("{registry} rate-limited the lookup (429 Too Many Requests); log in for a higher limit, or try again later")]
    RateLimited { registry: String },
    #[error("{registry} did not answer within {seconds}s (timeout)")]
    Timeout { registry: String, seconds: u64 },
    #[error("TLS with {registry} failed: {detail} (a registry that speaks plain HTTP needs --insecure-registry {registry})")]
    Tls { registry: String, detail: String },
    #[error("cannot connect to {registry}: {detail}")]
    Connect { registry: String, detail: String },
    #[error("{registry} answered {status}: {detail}")]
    Status { registry: String, status: u16, detail: String },
    #[error("{registry}: {detail}")]
    Other { registry: String, detail: String },
}

/// What a failing lookup was about, to explain errors.
pub(super) struct Failing<'a> {
    pub(super) registry: &'a str,
    pub(super) image: &'a ImageRef,
    pub(super) credentials: &'a Credentials,
    pub(super) timeout: Duration,
}

impl Failing<'_> {
    /// `what` is what a 404 means is missing (`library/python:3.12`, `repository x/y`).
    pub(super) fn explain(&self, error: OciDistributionError, what: &str) -> LookupError {
        let registry = self.registry.to_string();
        let repository = self.image.repository();
        let denied = |status: u16| LookupError::Denied {
            registry: registry.clone(),
            repository: repository.clone(),
            status,
            credentials: self.credentials.source.clone(),
        };
        let what = what.to_string();
        let by_status = |status: u16, detail: String| match status {
            401 | 403 => denied(status),
            404 => LookupError::NotFound { registry: registry.clone(), what: what.clone() },
            429 => LookupError::RateLimited { registry: registry.clone() },
            _ => LookupError::Status { registry: registry.clone(), status, detail: one_line(&detail) },
        };
        match error {
            OciDistributionError::UnauthorizedError { .. } => denied(401),
            OciDistributionError::AuthenticationFailure(detail) => LookupError::Denied {
                registry: registry.clone(),
                repository: repository.clone(),
                status: 401,
                credentials: format!(
                    "{} (the token service said: {})",
                    self.credentials.source,
                    one_line(&detail)
                ),
            },
            OciDistributionError::ImageManifestNotFoundError(_) => {
                LookupError::NotFound { registry: registry.clone(), what: what.clone() }
            }
            OciDistributionError::RegistryError { envelope, .. } => {
                let code = envelope.errors.first().map(|e| &e.code);
                let detail = envelope.errors.first().map(|e| e.message.clone()).unwrap_or_default();
                match code {
                    Some(OciErrorCode::Unauthorized) => denied(401),
                    Some(OciErrorCode::Denied) => denied(403),
                    Some(
                        OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::NotFound,
                    ) => LookupError::NotFound { registry: registry.clone(), what: what.clone() },
                    Some(OciErrorCode::Toomanyrequests) => {
                        LookupError::RateLimited { registry: registry.clone() }
                    }
                    _ => LookupError::Other { registry: registry.clone(), detail: one_line(&detail) },
                }
            }
            OciDistributionError::ServerError { code, message, .. } => by_status(code, message),
            OciDistributionError::RequestError(error) => self.request_error(&error),
            other => LookupError::Other { registry, detail: one_line(&other.to_string()) },
        }
    }

    fn request_error(&self, error: &reqwest::Error) -> LookupError {
        let registry = self.registry.to_string();
        if error.is_timeout() || chain_mentions(error, "timed out") {
            return LookupError::Timeout { registry, seconds: self.timeout.as_secs() };
        }
        if let Some(tls) = tls_error(error) {
            return LookupError::Tls { registry, detail: tls };
        }
        if let Some(status) = error.status() {
            return LookupError::Status {
                registry,
                status: status.as_u16(),
                detail: one_line(&error.to_string()),
            };
        }
        LookupError::Connect { registry, detail: innermost(error) }
    }
}

fn one_line(text: &str) -> String {
    let line = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    if line.len() > 200 {
        format!("{}...", line.chars().take(200).collect::<String>())
    } else {
        line
    }
}

/// The rustls error somewhere in an error's sources. An `io::Error` hides the error it wraps
/// from `source()` (it returns the wrapped error's source), so wrapped errors are opened too.
fn tls_error(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        current = match error.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(wrapped) => Some(wrapped as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

fn chain_mentions(error: &(dyn std::error::Error + 'static), needle: &str) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if error.to_string().contains(needle) {
            return true;
        }
        current = error.source();
    }
    false
}

/// The most specific message of an error chain (`Connection refused (os error 111)`).
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    one_line(&current.to_string())
}
