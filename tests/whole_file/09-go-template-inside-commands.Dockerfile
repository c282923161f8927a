# Not a template: {{ }} belongs to the commands, %% to the shell, and quoted values are values.
FROM debian:12
ARG APP_VERSION=1.2.3-rc1
LABEL org.example.format='{{.Name}}'
RUN echo "${APP_VERSION%%-*}" > /version \
 && docker inspect -f '{{.State.Running}}' app || true
ADD app.sh /usr/local/bin/
HEALTHCHECK CMD docker inspect -f '{{.State.Health.Status}}' app
CMD ["app.sh"]
