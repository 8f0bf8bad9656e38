"""
Superset configuration for shop-pulse (loaded through SUPERSET_CONFIG_PATH by `bun run superset`).

Everything that differs between a laptop and production comes from the environment:
  DATA_DIR                 the lake (default ./data); Superset keeps its own files in $DATA_DIR/superset
  SUPERSET_SECRET_KEY      required when SHOP_ENV=production; for local dev one is generated once into
                           $DATA_DIR/superset/secret_key (never a fixed default)
  SUPERSET_DATABASE_URI    metadata database (default SQLite in $DATA_DIR/superset/superset.db)
"""

import os
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import shop_lake  # noqa: E402

SUPERSET_HOME = os.path.join(shop_lake.data_dir(), "superset")
os.makedirs(SUPERSET_HOME, exist_ok=True)


def _secret_key() -> str:
    key = os.environ.get("SUPERSET_SECRET_KEY")
    if key:
        return key
    if os.environ.get("SHOP_ENV") == "production":
        raise RuntimeError("SUPERSET_SECRET_KEY must be set in production (SHOP_ENV=production)")
    path = os.path.join(SUPERSET_HOME, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    with open(path) as f:
        return f.read().strip()


SECRET_KEY = _secret_key()
# Superset's own metadata in SQLite: gunicorn's workers and threads write it at once (logs, key-value cache),
# and SQLite's default 5 s wait for its write lock ran out on a loaded 2-core machine ("database is locked" in
# the browser suite). Wait up to 60 s instead; production sets SUPERSET_DATABASE_URI to Postgres.
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "SUPERSET_DATABASE_URI",
    f"sqlite:///{os.path.join(SUPERSET_HOME, 'superset.db')}?check_same_thread=false&timeout=60",
)

# Every dashboard query reads the lake now: "Right now" refreshes every 10 s and the files change under it.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
SUPERSET_DASHBOARD_PERIODICAL_REFRESH_LIMIT = 0
ROW_LIMIT = 50_000
SUPERSET_WEBSERVER_TIMEOUT = 120

# The shop has no example data and no telemetry off the machine. Superset 6.1's menu renders a Scarf pixel
# (https://apachesuperset.gateway.scarf.sh/pixel/...) whatever SCARF_ANALYTICS says, so every page also gets a
# Content-Security-Policy that lets images, scripts and connections go to this server only (the browser never
# makes the call). Behind HTTPS, Talisman sets the same policy (TALISMAN_CONFIG below, without Scarf).
SUPERSET_LOAD_EXAMPLES = False
SCARF_ANALYTICS = False
os.environ["SCARF_ANALYTICS"] = "false"
LOCAL_ONLY_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'"
)


def FLASK_APP_MUTATOR(app):  # noqa: N802 (Superset's name)
    @app.after_request
    def _local_only(response):
        response.headers.setdefault("Content-Security-Policy", LOCAL_ONLY_CSP)
        return response

# Plain http on localhost (dev, compose); SUPERSET_TLS=true behind HTTPS turns on CSP headers and secure cookies.
TALISMAN_ENABLED = os.environ.get("SUPERSET_TLS") == "true"
TALISMAN_CONFIG = {"content_security_policy": LOCAL_ONLY_CSP, "force_https": False}
SESSION_COOKIE_SECURE = os.environ.get("SUPERSET_TLS") == "true"

# In-memory DuckDB connections get the lake's views when they open (see shop_lake.py).
shop_lake.install_connect_hook()
