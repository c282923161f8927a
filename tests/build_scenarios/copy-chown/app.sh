#!/bin/sh
# Reads its private configuration, records the run in its state directory, prints its message.
failed=0
if ! grep -q '^greeting=' /srv/app/app.conf; then
    echo "app: cannot read its configuration /srv/app/app.conf" >&2
    failed=1
fi
if ! echo "ran as $(id -un)" > /srv/app/state/last-run; then
    echo "app: cannot write its state /srv/app/state/last-run" >&2
    failed=1
fi
cat /srv/app/state/message.txt || failed=1
exit "$failed"
