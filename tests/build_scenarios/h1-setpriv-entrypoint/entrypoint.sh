#!/bin/sh
set -e
mkdir -p /srv/data
chown app:app /srv/data
exec setpriv --reuid=app --regid=app --init-groups "$@"
