"""`signalcraft demo` end to end on the session's cluster: samples Ready, and the API shows the same objects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.kube import Cluster

pytestmark = pytest.mark.e2e


def test_demo_runs_the_stack_and_stops_it(crds: Cluster, tmp_path: Path) -> None:
    env = {**os.environ, "KUBECONFIG": str(crds.kubeconfig), "SIGNALCRAFT_RUN_DIR": str(tmp_path)}
    demo = subprocess.run(
        [sys.executable, "-m", "signalcraft", "demo"], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    try:
        assert demo.returncode == 0, demo.stderr
        table = demo.stdout.split("$ kubectl get signalcraft")[1].split("$ GET")[0]
        rows = [line.split() for line in table.splitlines() if "/" in line.split(" ")[0]]
        # The complete on-call setup from config/samples: people, their team and schedule, escalation, routing.
        assert {row[0] for row in rows} == {
            "user.signalcraft.io/db-lead",
            "user.signalcraft.io/db-oncall-1",
            "user.signalcraft.io/db-oncall-2",
            "team.signalcraft.io/db-team",
            "schedule.signalcraft.io/db-primary",
            "alertpolicy.signalcraft.io/db-cpu",
            "escalationpolicy.signalcraft.io/db-oncall",
            "routingrule.signalcraft.io/db-alerts",
            "integration.signalcraft.io/cluster-alertmanager",
        }
        assert all(row[1] == "True" for row in rows), table
        assert "signalcraft-demo.db-cpu" in demo.stdout
        assert '"routing_key": "db-team"' in demo.stdout
        again = subprocess.run(
            [sys.executable, "-m", "signalcraft", "demo"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert again.returncode == 0, "re-running the demo must be safe"
    finally:
        down = subprocess.run(
            [sys.executable, "-m", "signalcraft", "demo", "down"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    assert "stopped operator" in down.stderr
    assert "stopped api" in down.stderr
