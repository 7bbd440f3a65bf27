"""kstatus (sigs.k8s.io/cli-utils, what Flux and `helm --wait` use) on live objects, through our Go helper."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from signalcraft.devcluster import binaries


def kstatus(*objects: dict[str, Any]) -> list[str]:
    result = subprocess.run(
        [str(binaries.ensure("kstatus"))], input=json.dumps(list(objects)), capture_output=True, text=True, check=True
    )
    return [entry["status"] for entry in json.loads(result.stdout)]
