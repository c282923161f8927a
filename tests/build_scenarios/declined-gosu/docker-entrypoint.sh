#!/bin/sh
set -e
# Starts as root: takes ownership of the data for `app`, then runs the command as `app`.
if [ "$(id -u)" = 0 ]; then
    chown app:app /srv/message.txt
    chmod 0600 /srv/message.txt
    exec gosu app "$@"
fi
exec "$@"
