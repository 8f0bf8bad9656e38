"""
Packs superset/bundle into the ZIP that `superset import-dashboards` reads, filling in `${VAR}` placeholders
from the environment at import time (the committed YAML holds no machine-specific path or secret).
Usage: bundle_zip.py OUT.zip
"""

import os
import string
import sys
import zipfile

BUNDLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bundle")


def main() -> None:
    out = sys.argv[1]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for root, _dirs, files in os.walk(BUNDLE):
            for name in sorted(files):
                path = os.path.join(root, name)
                text = string.Template(open(path, encoding="utf-8").read()).safe_substitute(os.environ)
                z.writestr(os.path.join("shop_pulse_dashboards", os.path.relpath(path, BUNDLE)), text)
    print(out)


if __name__ == "__main__":
    main()
