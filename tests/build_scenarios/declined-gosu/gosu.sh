#!/bin/sh
# gosu USER COMMAND...: run COMMAND as USER (and USER's groups).
set -e
user="$1"
shift
exec setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
