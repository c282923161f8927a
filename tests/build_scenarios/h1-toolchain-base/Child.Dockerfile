# An image built FROM the base: root work (a user created, a file written under /usr), as the
# images built from toolchain bases do, then it runs as the user it created.
FROM {{BASE}}
RUN groupadd --system child && useradd --system --gid child --no-log-init child \
 && mkdir -p /usr/local/share/child && cp /usr/local/toolchain/message.txt /usr/local/share/child/
USER child
CMD ["/usr/local/toolchain/bin/hello"]
