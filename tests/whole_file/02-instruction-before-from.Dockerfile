# An ENV before any stage: Docker says "no build stage in current context".
ARG VERSION=12
ENV LANG=C.UTF-8
FROM debian:${VERSION}
ADD app.sh /usr/local/bin/
