FROM debian:12
ADD app.sh /usr/local/bin/
RUN echo 'this image is deprecated: use example/app2 instead' >&2 \
 && exit 1
