#!/bin/sh
# The nginx stand-in's entrypoint. It behaves like the official image's /docker-entrypoint.sh,
# with the same messages (pages show them in `kubectl logs`): before nginx starts, run the
# scripts of /docker-entrypoint.d/ in version order (*.envsh are sourced, *.sh executed),
# then exec the command. NGINX_ENTRYPOINT_QUIET_LOGS silences the messages.
set -e

log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
    if [ -n "$(find /docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f 2>/dev/null | head -n 1)" ]; then
        log "$0: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
        log "$0: Looking for shell scripts in /docker-entrypoint.d/"
        for script in $(find /docker-entrypoint.d/ -follow -type f | sort -V); do
            if [ "${script%.envsh}" != "$script" ] && [ -x "$script" ]; then
                log "$0: Sourcing $script"
                . "$script"
            elif [ "${script%.sh}" != "$script" ] && [ -x "$script" ]; then
                log "$0: Launching $script"
                "$script"
            elif [ "${script%.sh}" != "$script" ] || [ "${script%.envsh}" != "$script" ]; then
                log "$0: Ignoring $script, not executable"
            else
                log "$0: Ignoring $script"
            fi
        done
        log "$0: Configuration complete; ready for start up"
    else
        log "$0: No files found in /docker-entrypoint.d/, skipping configuration"
    fi
fi

exec "$@"
