"""
Imports superset/bundle into Superset, overwriting by UUID, so a re-run updates everything in place.

`superset import-dashboards` alone would not do: it overwrites dashboards but keeps existing datasets and charts,
so a changed query or chart would never reach an existing install. Datasets, charts and dashboards are
imported in turn, each with overwrite. `${VAR}` placeholders in the YAML are filled from the environment at
import time (the committed bundle holds no machine-specific path or secret).
Usage (with SUPERSET_CONFIG_PATH set, as `bun run superset` does): import_bundle.py ADMIN_USERNAME
"""

import os
import string
import sys

import yaml

BUNDLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bundle")


def bundle_files() -> dict[str, str]:
    files = {}
    for root, _dirs, names in os.walk(BUNDLE):
        for name in names:
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                files[os.path.relpath(path, BUNDLE)] = string.Template(f.read()).safe_substitute(os.environ)
    return files


def main() -> None:
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from flask import g

        from superset import security_manager
        from superset.commands.chart.importers.v1 import ImportChartsCommand
        from superset.commands.dashboard.importers.v1 import ImportDashboardsCommand
        from superset.commands.dataset.importers.v1 import ImportDatasetsCommand

        g.user = security_manager.find_user(username=sys.argv[1])
        files = bundle_files()
        # No "type" in the metadata: each command checks it against its own model when present.
        metadata = yaml.safe_dump({"version": "1.0.0", "timestamp": "2026-11-25T00:00:00+00:00"})

        def pick(*prefixes: str) -> dict[str, str]:
            return {"metadata.yaml": metadata, **{k: v for k, v in files.items() if k.startswith(prefixes)}}

        ImportDatasetsCommand(pick("databases/", "datasets/"), overwrite=True).run()
        ImportChartsCommand(pick("databases/", "datasets/", "charts/"), overwrite=True).run()
        ImportDashboardsCommand(pick("databases/", "datasets/", "charts/", "dashboards/"), overwrite=True).run()
        kinds = ("datasets/", "charts/", "dashboards/")
        print("imported " + ", ".join(f"{sum(k.startswith(p) for k in files)} {p[:-1]}" for p in kinds))


if __name__ == "__main__":
    main()
