//! Pushing crafted images to a test's own `docker-registry` through its HTTP API (blobs,
//! then manifests and indexes), for the tests that talk to a registry (`tests/registry.rs`,
//! `tests/image_facts.rs`). Any test binary can use it with `mod registry_support;`.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

pub fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    format!("sha256:{}", hash.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

// ---------------------------------------------------------------------------------------------
// Pushing through the registry HTTP API
// ---------------------------------------------------------------------------------------------

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request with `Connection: close`.
pub fn http(host: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let addr: SocketAddr = host.parse().expect("registry address");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect to registry");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("set timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("send request");
    stream.write_all(body).expect("send body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status =
        lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Response { status, headers, body: body.to_string() }
}

pub struct Pusher<'a> {
    pub host: &'a str,
    pub authorization: Option<String>,
}

/// A pushed manifest: its digest, size and media type, for an index to list.
#[derive(Clone)]
pub struct Pushed {
    pub digest: String,
    pub size: usize,
    pub media_type: &'static str,
}

impl Pusher<'_> {
    pub fn request(&self, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> Response {
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(auth) = &self.authorization {
            headers.push(("Authorization", auth));
        }
        if let Some(content_type) = content_type {
            headers.push(("Content-Type", content_type));
        }
        http(self.host, method, path, &headers, body)
    }

    /// Uploads a blob (start an upload, then finish it with the whole body).
    pub fn blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let started = self.request("POST", &format!("/v2/{repo}/blobs/uploads/"), None, b"");
        assert_eq!(started.status, 202, "start upload: {}", started.body);
        let location = started.header("Location").expect("upload location");
        let location = location.split_once(self.host).map_or(location, |(_, path)| path);
        let separator = if location.contains('?') { '&' } else { '?' };
        let done = self.request(
            "PUT",
            &format!("{location}{separator}digest={digest}"),
            Some("application/octet-stream"),
            bytes,
        );
        assert_eq!(done.status, 201, "finish upload: {}", done.body);
        digest
    }

    pub fn manifest(&self, repo: &str, tag: &str, media_type: &'static str, bytes: &[u8]) -> Pushed {
        let put = self.request("PUT", &format!("/v2/{repo}/manifests/{tag}"), Some(media_type), bytes);
        assert_eq!(put.status, 201, "put manifest {repo}:{tag}: {}", put.body);
        let digest = sha256(bytes);
        assert_eq!(put.header("Docker-Content-Digest"), Some(digest.as_str()));
        Pushed { digest, size: bytes.len(), media_type }
    }

    /// An image (config + one layer, both unique to `seed`) with a manifest of `media_type`
    /// (OCI or Docker v2), tagged `tags`.
    pub fn image(
        &self,
        repo: &str,
        tags: &[&str],
        seed: &str,
        arch: &str,
        media_type: &'static str,
    ) -> Pushed {
        let config = format!(
            r#"{{"architecture":"{arch}","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}},"comment":"{seed}"}}"#
        );
        let layer = format!("layer of {seed}");
        let (config_type, layer_type) = if media_type == DOCKER_MANIFEST {
            (
                "application/vnd.docker.container.image.v1+json",
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
            )
        } else {
            ("application/vnd.oci.image.config.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip")
        };
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{media_type}","config":{{"mediaType":"{config_type}","digest":"{}","size":{}}},"layers":[{{"mediaType":"{layer_type}","digest":"{}","size":{}}}]}}"#,
            self.blob(repo, config.as_bytes()),
            config.len(),
            self.blob(repo, layer.as_bytes()),
            layer.len()
        );
        let mut pushed = None;
        for tag in tags {
            pushed = Some(self.manifest(repo, tag, media_type, manifest.as_bytes()));
        }
        pushed.unwrap_or_else(|| {
            self.manifest(repo, &sha256(manifest.as_bytes()), media_type, manifest.as_bytes())
        })
    }

    /// A multi-platform index (OCI index or Docker manifest list) over `platforms`.
    pub fn index(
        &self,
        repo: &str,
        tag: &str,
        media_type: &'static str,
        platforms: &[(&str, Pushed)],
    ) -> Pushed {
        let entries: Vec<String> = platforms
            .iter()
            .map(|(arch, m)| {
                format!(
                    r#"{{"mediaType":"{}","digest":"{}","size":{},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#,
                    m.media_type, m.digest, m.size
                )
            })
            .collect();
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{media_type}","manifests":[{}]}}"#,
            entries.join(",")
        );
        self.manifest(repo, tag, media_type, index.as_bytes())
    }
}
