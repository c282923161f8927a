FROM alpine:3.20
LABEL description="Café ☕ 𝄞 service"
ENV GREETING="héllo wörld" SERVICE_PASSWORD=correct-horse-battery
RUN apk add --no-cache tini
ADD entrypoint.sh /usr/local/bin/
ENTRYPOINT ["tini", "--", "entrypoint.sh"]