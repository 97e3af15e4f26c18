#!/bin/sh
# Like the official script: every /etc/nginx/templates/**/*.template becomes a file of
# /etc/nginx/conf.d/ with the environment's variables substituted (envsubst). Nothing happens
# without a templates folder, the default. The directories and suffix can be changed with the
# same NGINX_ENVSUBST_* variables; stream templates are not reproduced.
set -e

ME=$(basename "$0")
TEMPLATES="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
SUFFIX="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
OUTPUT="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
FILTER="${NGINX_ENVSUBST_FILTER:-}"

log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

[ -d "$TEMPLATES" ] || exit 0
if [ ! -w "$OUTPUT" ]; then
    log "$ME: ERROR: $TEMPLATES exists, but $OUTPUT is not writable"
    exit 0
fi

# Only the variables that are set (and match the filter) are replaced: nginx's own $host,
# $remote_addr… stay as they are.
variables=$(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | grep -E -- "${FILTER:-.}" \
    | sed 's/.*/${&}/' | tr '\n' ' ')

find "$TEMPLATES" -follow -type f -name "*$SUFFIX" | while read -r template; do
    relative="${template#"$TEMPLATES/"}"
    target="$OUTPUT/${relative%"$SUFFIX"}"
    mkdir -p "$(dirname "$target")"
    log "$ME: Running envsubst on $template to $target"
    envsubst "$variables" < "$template" > "$target"
done
