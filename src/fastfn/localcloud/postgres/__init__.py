"""A real PostgreSQL (and pgbouncer) for the demo and the tests, started with no manual step.

Uses the server binaries installed on the machine (Debian's `postgresql` package: globbed
under /usr/lib/postgresql/*/bin, then `pg_config --bindir`, then PATH) and `pgbouncer`.

Layout of `data_dir` (one directory holds everything; delete it to start afresh):

    data_dir/pgdata/             PGDATA, created by initdb on first start and reused after
    data_dir/superuser.password  the `postgres` superuser's password (random, mode 0600)
    data_dir/postgres.log        server log
    data_dir/.s.PGSQL.<port>     the unix socket (not /var/run, which needs root)
    data_dir/pgbouncer/          LocalPgBouncer's config, auth file, log and socket

Both servers refuse to run as root. When this process is root they run as the `postgres`
OS user (the process is started with that uid, gid and groups, like `runuser -u postgres`
but without an intermediate process, so the pid we hold is the server's), and `data_dir`
is handed to that user. Then every parent directory of `data_dir` must be searchable by
it: pytest's tmp_path (under a 0700 /tmp/pytest-of-root) is not; a `tempfile.mkdtemp()`
directory itself is (in /tmp, and handed over), a directory inside it is not.

Authentication is SCRAM-SHA-256 for every connection, TCP and unix socket: the superuser
has a random password, roles created by `ensure_database` have the one given. Servers
listen on 127.0.0.1 only.
"""


from fastfn.localcloud.postgres.base import (
    HOST,
    OS_USER,
    START_TIMEOUT,
    STOP_TIMEOUT,
    SUPERUSER,
    DatabaseLogin,
    LocalPostgresError,
    find_pgbouncer,
    find_postgres_bindir,
    free_port,
)
from fastfn.localcloud.postgres.pgbouncer import LocalPgBouncer
from fastfn.localcloud.postgres.server import LocalPostgres

__all__ = [
    "HOST", "OS_USER", "START_TIMEOUT", "STOP_TIMEOUT", "SUPERUSER", "DatabaseLogin",
    "LocalPgBouncer", "LocalPostgres", "LocalPostgresError", "find_pgbouncer",
    "find_postgres_bindir", "free_port",
]
