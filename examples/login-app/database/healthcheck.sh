#!/bin/sh
# Healthy once the server answers a query over TCP as the app's user (the
# first start's set-up runs with no network, so this fails until it is done).
MYSQL_PWD="$MARIADB_PASSWORD" exec mariadb --protocol=tcp -h 127.0.0.1 -u "$MARIADB_USER" \
    -e 'SELECT 1' "$MARIADB_DATABASE" >/dev/null
