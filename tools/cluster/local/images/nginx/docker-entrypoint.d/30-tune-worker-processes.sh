#!/bin/sh
# With NGINX_ENTRYPOINT_WORKER_PROCESSES_AUTOTUNE set, the official script sets nginx's
# worker_processes to the CPUs the container may use (cpuset and CFS quota). The stand-in
# uses nproc (the cpuset only). Nothing happens without the variable, the default.
set -eu

ME=$(basename "$0")
[ -n "${NGINX_ENTRYPOINT_WORKER_PROCESSES_AUTOTUNE:-}" ] || exit 0

if ! touch /etc/nginx/nginx.conf 2>/dev/null; then
    echo >&2 "$ME: error: can not modify /etc/nginx/nginx.conf (read-only file system?)"
    exit 0
fi
sed -i "s/^\(worker_processes\s*\)\(.*\);$/\1$(nproc);/" /etc/nginx/nginx.conf
