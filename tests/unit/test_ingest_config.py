"""The webhook's configuration file: the shipped example is valid, and credentials resolve from files and env."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from signalcraft.ingest.config import ConfigError, WebhookFile, load_integrations

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "alertmanager" / "signalcraft-webhook.yaml"


def test_the_shipped_example_is_a_valid_configuration() -> None:
    parsed = WebhookFile.model_validate(yaml.safe_load(EXAMPLE.read_text()))
    assert [entry.name for entry in parsed.integrations] == [
        "platform.cluster-alertmanager",
        "platform.grafana",
        "batch.jobs",
    ]
    assert parsed.integrations[2].settings["dedup_key_field"] == "job.id"


def test_the_example_loads_once_its_secrets_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = yaml.safe_load(EXAMPLE.read_text())
    for entry in document["integrations"]:
        for key in ("token_file", "hmac_secret_file"):
            if key in entry:
                path = tmp_path / Path(entry[key]).name
                path.write_text(f"{entry['name']}-secret\n")
                entry[key] = str(path)
    monkeypatch.setenv("SIGNALCRAFT_BATCH_BASIC_AUTH", "jobs:pw")
    (tmp_path / "webhook.yaml").write_text(yaml.safe_dump(document))
    am, grafana, jobs = load_integrations(tmp_path / "webhook.yaml")
    assert am.credentials().token == "platform.cluster-alertmanager-secret", "the file's trailing newline is dropped"
    assert grafana.credentials().hmac_secret == "platform.grafana-secret"
    assert (jobs.credentials().basic_username, jobs.credentials().basic_password) == ("jobs", "pw")
    monkeypatch.delenv("SIGNALCRAFT_BATCH_BASIC_AUTH")
    with pytest.raises(ConfigError, match="SIGNALCRAFT_BATCH_BASIC_AUTH is not set"):
        load_integrations(tmp_path / "webhook.yaml")


def test_mistakes_are_named(tmp_path: Path) -> None:
    path = tmp_path / "webhook.yaml"
    cases = {
        "integration names must be unique": [
            {"name": "a", "token_env": "HOME"},
            {"name": "a", "token_env": "HOME"},
        ],
        "not both": [{"name": "a", "token_env": "HOME", "token_file": "/x"}],
        "Extra inputs": [{"name": "a", "token_env": "HOME", "tokenFile": "/x"}],
        "cannot read the secret file": [{"name": "a", "token_file": str(tmp_path / "missing")}],
    }
    for reason, integrations in cases.items():
        path.write_text(yaml.safe_dump({"integrations": integrations}))
        with pytest.raises(ConfigError, match=reason):
            load_integrations(path)
