#!/bin/sh
# Like the official image's script of the same name: when the kernel has an IPv6 stack (not
# when the Pod has an IPv6 address), make the default server listen on [::]:80 as well,
# unless default.conf is missing, read-only (a ConfigMap), already changed or not the
# packaged one.
set -e

ME=$(basename "$0")
CONF=/etc/nginx/conf.d/default.conf

info() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$ME: info: $*"
    fi
}

if [ ! -f /proc/net/if_inet6 ]; then
    info "ipv6 not available"
    exit 0
fi
if [ ! -f "$CONF" ]; then
    info "$CONF is not a file or does not exist"
    exit 0
fi
if ! touch "$CONF" 2>/dev/null; then
    info "can not modify $CONF (read-only file system?)"
    exit 0
fi
if grep -q 'listen  \[::\]:80;' "$CONF"; then
    info "IPv6 listen already enabled"
    exit 0
fi

info "Getting the checksum of $CONF"
# The official script asks dpkg for the packaged file's checksum; the stand-in has no dpkg,
# so the image build writes the checksum of the default.conf it ships here.
if [ "$(md5sum "$CONF" | cut -d ' ' -f 1)" != "@DEFAULT_CONF_MD5@" ]; then
    info "$CONF differs from the packaged version"
    exit 0
fi

sed -i 's/^\( *\)listen       80;$/&\n\1listen  [::]:80;/' "$CONF"
info "Enabled listen on IPv6 in $CONF"
