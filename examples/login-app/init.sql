-- The login app's schema, run once when the database's volume is empty
-- (bind-mounted to /docker-entrypoint-initdb.d/init.sql, as the seed does).
CREATE TABLE users (
    id INT AUTO_INCREMENT PRIMARY KEY,
    username VARCHAR(64) NOT NULL UNIQUE,
    password_hash VARCHAR(255) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
