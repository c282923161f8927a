#!/bin/sh
# "Builds" the artifact: a launcher and its data, owned by root like any build output.
set -e
out="$1"
mkdir -p "$out"
cp message.txt "$out/message.txt"
printf '#!/bin/sh\nexec cat /opt/app/message.txt\n' > "$out/run.sh"
chmod 755 "$out/run.sh"
