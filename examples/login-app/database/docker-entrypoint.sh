#!/bin/sh
# The login app's database: MariaDB from Debian's packages, set up the way the
# official images are. On an empty data directory (the service's named
# volume), it creates the system tables, the root password, the database and
# its user from the environment (env_file: database.env) and runs every
# /docker-entrypoint-initdb.d/*.sql in that database (init.sql is
# bind-mounted there); a data directory that already has them is used as it is.
set -eu
DATADIR=/var/lib/mysql

say() { echo "database: $*" >&2; }
sql_string() { printf "'%s'" "$(printf %s "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/''/g")"; }

mkdir -p "$DATADIR" /run/mysqld
chown mysql:mysql "$DATADIR" /run/mysqld

if [ ! -d "$DATADIR/mysql" ]; then
    : "${MARIADB_ROOT_PASSWORD:?set MARIADB_ROOT_PASSWORD (in database.env)}"
    : "${MARIADB_DATABASE:?set MARIADB_DATABASE (in database.env)}"
    : "${MARIADB_USER:?set MARIADB_USER (in database.env)}"
    : "${MARIADB_PASSWORD:?set MARIADB_PASSWORD (in database.env)}"
    say "initialising $DATADIR"
    rm -rf "$DATADIR/.init" && mkdir "$DATADIR/.init" && chown mysql:mysql "$DATADIR/.init"
    {
        echo "CREATE DATABASE IF NOT EXISTS mysql;"
        echo "USE mysql;"
        echo "SET @auth_root_socket=NULL;"
        cat /usr/share/mysql/mysql_system_tables.sql /usr/share/mysql/mysql_performance_tables.sql \
            /usr/share/mysql/mysql_system_tables_data.sql
        # Accounts can be managed in --bootstrap once the grant tables are loaded.
        echo "FLUSH PRIVILEGES;"
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$MARIADB_ROOT_PASSWORD");"
        echo "CREATE USER 'root'@'%' IDENTIFIED BY $(sql_string "$MARIADB_ROOT_PASSWORD");"
        echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        echo "CREATE DATABASE \`$MARIADB_DATABASE\`;"
        echo "CREATE USER $(sql_string "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_string "$MARIADB_PASSWORD");"
        echo "GRANT ALL ON \`$MARIADB_DATABASE\`.* TO $(sql_string "$MARIADB_USER")@'%';"
        echo "USE \`$MARIADB_DATABASE\`;"
        for file in /docker-entrypoint-initdb.d/*.sql; do
            [ -f "$file" ] || continue
            say "running $file"
            cat "$file"
            echo
        done
    } | mariadbd --user=mysql --datadir="$DATADIR/.init" --bootstrap \
        --log-warnings=0 --enforce-storage-engine="" --max_allowed_packet=8M >&2
    # Only a complete data directory takes the volume's place.
    for entry in "$DATADIR/.init"/* "$DATADIR/.init"/.[!.]*; do
        [ -e "$entry" ] && mv "$entry" "$DATADIR/"
    done
    rmdir "$DATADIR/.init"
    say "initialised"
fi

exec mariadbd --user=mysql --datadir="$DATADIR" "$@"
