{{
	def is_alpine:
		env.variant | index("alpine")
-}}
FROM debian:{{ env.suite }}

{{ if is_alpine then ( -}}
RUN apk add --no-cache bash
{{ ) else ( -}}
RUN apt-get update && apt-get install -y --no-install-recommends bash
{{ ) end -}}
ADD app.sh /usr/local/bin/
CMD ["app.sh"]
