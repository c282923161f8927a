from {{ .BaseImage }}:{{ .Tag }}
add app.sh /usr/local/bin/
cmd ["app.sh"]
