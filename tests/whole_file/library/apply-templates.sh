#!/usr/bin/env bash
# Renders Dockerfile.template into each version directory (a stand-in for docker-library's).
set -Eeuo pipefail
