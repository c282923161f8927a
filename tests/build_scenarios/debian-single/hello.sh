#!/bin/sh
set -e
cat /opt/hello/message.txt
